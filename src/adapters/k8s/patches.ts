// Merge-patch bodies for the two writes cutover makes to a CronJob. Pure builders, sent by cluster.ts with
// Content-Type application/merge-patch+json so that only the named field changes.
import { InputError } from '../../core/errors.js';

export interface SuspendPatch {
  spec: { suspend: boolean };
}

export interface LastScheduleTimePatch {
  status: { lastScheduleTime: string };
}

export function suspendPatch(suspend: boolean): SuspendPatch {
  return { spec: { suspend } };
}

/**
 * Kubernetes stores metav1.Time with whole seconds; sending the same precision keeps the value read back
 * equal to the value written, which the handoff compares.
 */
export function toKubernetesTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    throw new InputError(`status.lastScheduleTime: expected an ISO-8601 time, received "${iso}"`);
  }
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function lastScheduleTimePatch(iso: string): LastScheduleTimePatch {
  return { status: { lastScheduleTime: toKubernetesTime(iso) } };
}
