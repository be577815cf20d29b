// Small, pure helpers about ticks and the timestamps Kubernetes keeps for them.
import type { ObservedJob } from '../../core/types.js';

/** Kubernetes keeps whole seconds; writing the same precision makes the value read back compare equal. */
export function kubeTime(date: Date): string {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function toMs(iso: string | undefined): number | undefined {
  if (iso === undefined || iso === '') return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}

/** The later of two optional instants. */
export function latest(a: Date | undefined, b: Date | undefined): Date | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a.getTime() >= b.getTime() ? a : b;
}

/**
 * The tick a Job ran for: the controller's scheduled-timestamp annotation, or else the minutes since the
 * epoch the controller puts at the end of the Job name (`<cronjob>-<minutes>`), for Jobs from older servers.
 */
export function jobTick(job: ObservedJob): number | undefined {
  const annotated = toMs(job.scheduledTime);
  if (annotated !== undefined) return annotated;
  if (job.ownerName === undefined || !job.name.startsWith(`${job.ownerName}-`)) return undefined;
  const suffix = job.name.slice(job.ownerName.length + 1);
  return /^\d+$/.test(suffix) ? Number(suffix) * 60_000 : undefined;
}

export const isoOrNever = (iso: string | undefined): string => (iso === undefined || iso === '' ? 'never' : iso);
