// Wall-clock arithmetic in a time zone with the semantics of Go's `time` package, which the CronJob
// controller's cron library uses to find ticks. Only what tick math needs: reading the wall fields of an
// instant, building an instant from wall fields (Go's normalization of wall times a zone skips or repeats),
// adding calendar days or months to a wall time, and truncating.
//
// Offsets come from Intl. Go looks an instant up in a table of offset periods, so this module rebuilds that
// table: it samples each zone every 24 hours of a UTC year and bisects every change to the second. Two
// changes within 24 hours of each other would be seen as one; no zone has done that since 1970.

const SECOND = 1000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const SAMPLE = 24 * HOUR;

/** A stretch of time during which a zone keeps the same offset: [start, end). */
interface Period {
  start: number;
  end: number;
  offset: number;
}

/** The wall clock of an instant in a zone. month 1-12, weekday 0 (Sunday)-6. */
export interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number;
  /** Milliseconds past the wall-clock second. */
  millisecond: number;
}

export interface GoZone {
  /** The period (offset and bounds) containing `instant`, as Go's Location.lookup returns it. */
  period(instant: number): Period;
}

const FIXED_UTC: GoZone = { period: () => ({ start: Number.NEGATIVE_INFINITY, end: Number.POSITIVE_INFINITY, offset: 0 }) };

/** Zones Go knows that always have offset 0 although Intl does not know them. */
const ZERO_OFFSET_ONLY = new Set(['Factory']);

const zones = new Map<string, GoZone>();

/** The zone for `name`; undefined (the controller's own zone, UTC on EKS) and `UTC` have no transitions. */
export function goZone(name: string | undefined): GoZone {
  if (name === undefined || name === 'UTC' || ZERO_OFFSET_ONLY.has(name)) return FIXED_UTC;
  let zone = zones.get(name);
  if (!zone) {
    zone = new IntlZone(name);
    zones.set(name, zone);
  }
  return zone;
}

interface YearTable {
  /** Offset in force at the start of the UTC year. */
  first: number;
  /** Changes within the year, ascending: from `at` on, `offset` applies. */
  changes: { at: number; offset: number }[];
}

class IntlZone implements GoZone {
  private readonly formatter: Intl.DateTimeFormat;
  private readonly years = new Map<number, YearTable>();
  private last: Period = { start: 0, end: 0, offset: 0 };

  constructor(name: string) {
    this.formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  period(instant: number): Period {
    if (instant >= this.last.start && instant < this.last.end) return this.last;
    const year = new Date(instant).getUTCFullYear();
    const table = this.year(year);
    let offset = table.first;
    let start: number | undefined;
    let end: number | undefined;
    for (const change of table.changes) {
      if (change.at <= instant) {
        offset = change.offset;
        start = change.at;
      } else {
        end = change.at;
        break;
      }
    }
    // A period may be reported shorter than it is (cut at the UTC year's bounds): every use only needs
    // the offset to hold throughout [start, end), and asks again past it.
    start ??= Date.UTC(year, 0, 1);
    end ??= Date.UTC(year + 1, 0, 1);
    this.last = { start, end, offset };
    return this.last;
  }

  private year(year: number): YearTable {
    let table = this.years.get(year);
    if (!table) {
      table = this.measureYear(year);
      this.years.set(year, table);
    }
    return table;
  }

  private measureYear(year: number): YearTable {
    const from = Date.UTC(year, 0, 1);
    const until = Date.UTC(year + 1, 0, 1);
    const first = this.offsetAt(from);
    const changes: YearTable['changes'] = [];
    let previous = first;
    for (let sample = from + SAMPLE; sample <= until; sample += SAMPLE) {
      const offset = this.offsetAt(sample);
      if (offset === previous) continue;
      const at = this.bisect(sample - SAMPLE, sample, previous);
      if (at < until) changes.push({ at, offset });
      previous = offset;
    }
    return { first, changes };
  }

  /** The first whole second in (low, high] whose offset is no longer `before`. */
  private bisect(low: number, high: number, before: number): number {
    while (high - low > SECOND) {
      const middle = low + Math.floor((high - low) / (2 * SECOND)) * SECOND;
      if (this.offsetAt(middle) === before) low = middle;
      else high = middle;
    }
    return high;
  }

  private offsetAt(instant: number): number {
    const fields: Record<string, string> = {};
    for (const part of this.formatter.formatToParts(instant)) fields[part.type] = part.value;
    const year = fields.era === 'BC' ? 1 - Number(fields.year) : Number(fields.year);
    const wall = utcFields(year, Number(fields.month), Number(fields.day), Number(fields.hour), Number(fields.minute), Number(fields.second));
    return wall - Math.floor(instant / SECOND) * SECOND;
  }
}

/** Milliseconds of a proleptic Gregorian wall time read as UTC; fields may overflow, as in Go. */
function utcFields(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime();
}

/** The wall clock of `instant` in `zone` (Go's t.Date(), t.Clock(), t.Weekday()). */
export function wallOf(zone: GoZone, instant: number): Wall {
  return wallOfLocal(instant + zone.period(instant).offset);
}

/** Wall fields of a local time given as milliseconds since 1970-01-01T00:00 local (civil-from-days). */
function wallOfLocal(local: number): Wall {
  const days = Math.floor(local / DAY);
  let rest = local - days * DAY;
  const hour = Math.floor(rest / HOUR);
  rest -= hour * HOUR;
  const minute = Math.floor(rest / 60_000);
  rest -= minute * 60_000;
  const second = Math.floor(rest / SECOND);
  const millisecond = rest - second * SECOND;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const weekday = (((days + 4) % 7) + 7) % 7;
  return { year, month, day, hour, minute, second, weekday, millisecond };
}

/**
 * Go's time.Date in `zone`: the wall time read with the offset in force at that wall time taken as UTC,
 * corrected once when the result falls outside that offset's period. Which reading a skipped or repeated
 * wall time gets depends on the side of UTC the zone lies on: Europe/Berlin's skipped 02:30 becomes 03:30
 * and its repeated 02:30 the later one; America/New_York's skipped 02:30 becomes 01:30 and its repeated
 * 01:30 the earlier one.
 */
export function dateIn(zone: GoZone, year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  const unix = utcFields(year, month, day, hour, minute, second);
  const found = zone.period(unix);
  let offset = found.offset;
  if (offset !== 0) {
    const utc = unix - offset;
    if (utc < found.start || utc >= found.end) offset = zone.period(utc).offset;
  }
  return unix - offset;
}

/** Go's t.AddDate(years, months, days): the wall fields moved, then rebuilt with dateIn. */
export function addDate(zone: GoZone, instant: number, years: number, months: number, days: number): number {
  const w = wallOf(zone, instant);
  return dateIn(zone, w.year + years, w.month + months, w.day + days, w.hour, w.minute, w.second) + w.millisecond;
}

/** Go's t.Truncate(d) for d dividing a day: rounds down in absolute time, whatever the zone. */
export function truncate(instant: number, unit: number): number {
  return instant - (((instant % unit) + unit) % unit);
}

export const DAY_MS = DAY;
export const HOUR_MS = HOUR;

const two = (n: number): string => String(n).padStart(2, '0');

/**
 * An instant as Go's time.Format(time.RFC3339) writes it in a zone: the wall-clock time with the zone's
 * offset (`2026-03-29T03:30:00+02:00`), `Z` for offset zero, whole seconds. The CronJob controller writes a
 * Job's scheduled-timestamp annotation this way, in the CronJob's zone.
 */
export function rfc3339InZone(instant: number, timeZone: string | undefined): string {
  const whole = Math.floor(instant / SECOND) * SECOND;
  const offset = goZone(timeZone).period(whole).offset;
  const wall = new Date(whole + offset).toISOString().slice(0, 19);
  if (offset === 0) return `${wall}Z`;
  const minutes = Math.round(Math.abs(offset) / 60_000);
  return `${wall}${offset < 0 ? '-' : '+'}${two(Math.floor(minutes / 60))}:${two(minutes % 60)}`;
}
