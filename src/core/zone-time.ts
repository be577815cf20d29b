// An instant written the way Go's time.Format(time.RFC3339) writes it in a named zone: the wall-clock time
// with the zone's offset at that instant (`2026-03-29T03:30:00+02:00`), `Z` when the offset is zero. The
// CronJob controller writes a Job's scheduled-timestamp annotation this way, in the CronJob's zone.

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let found = formatters.get(timeZone);
  if (!found) {
    found = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, found);
  }
  return found;
}

/** Zones the API server accepts that carry no offset ever: Go's tz database has them, Intl may not. */
const ALWAYS_UTC = new Set(['', 'UTC', 'Etc/UTC', 'Factory']);

/** Offset of `timeZone`'s wall clock from UTC at `ms`, in whole seconds. An unset zone is UTC. */
export function offsetSeconds(ms: number, timeZone: string | undefined): number {
  if (timeZone === undefined || ALWAYS_UTC.has(timeZone)) return 0;
  const fields: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(ms)) fields[part.type] = Number(part.value);
  const wall = Date.UTC(fields.year!, fields.month! - 1, fields.day!, fields.hour!, fields.minute!, fields.second!);
  return Math.round((wall - Math.floor(ms / 1000) * 1000) / 1000);
}

const two = (n: number): string => String(n).padStart(2, '0');

/** RFC 3339 with the zone's offset, whole seconds, as the controller's annotation. */
export function rfc3339InZone(ms: number, timeZone: string | undefined): string {
  const offset = offsetSeconds(ms, timeZone);
  const wall = new Date(Math.floor(ms / 1000) * 1000 + offset * 1000).toISOString().slice(0, 19);
  if (offset === 0) return `${wall}Z`;
  const abs = Math.abs(offset);
  return `${wall}${offset < 0 ? '-' : '+'}${two(Math.floor(abs / 3600))}:${two(Math.floor((abs % 3600) / 60))}`;
}
