// Cron ticks exactly as the Kubernetes CronJob controller sees them.
//
// The controller parses `spec.schedule` with robfig/cron v3's standard parser (five fields, a few
// descriptors) and evaluates it in `spec.timeZone`, or in the controller's own zone when unset (UTC on EKS;
// cutover assumes UTC). A tick is an instant whose wall-clock time in that zone matches the fields. Around
// daylight-saving changes this means:
// - spring forward (Europe/Berlin, 02:00 → 03:00): a wall time inside the gap, e.g. `30 2 * * *`, does not
//   exist that day and does NOT run (it is not moved to 03:30);
// - fall back (03:00 → 02:00): a wall time inside the repeated hour exists twice and runs TWICE
//   (00:30Z and 01:30Z for `30 2 * * *` on 2025-10-26).
// cron-parser 5 differs on both (it runs 03:30 in the gap and only once in the repeated hour) and on the
// grammar (it accepts `7`, `L`, `W`, `#`, `H`, and rejects `@midnight`). A baseline taken from it at a
// fall-back would leave the second 02:30 looking missed on the target cluster, which would then run it at
// once: a double run. So this module implements the controller's rule itself, and the tests use
// cron-parser as an independent oracle where the two agree.
//
// Compared side by side with robfig/cron v3.0.1 over thousands of random schedules, zones and instants,
// the ticks are identical except where robfig's hour-stepping misbehaves: on days a zone changes offset at
// local midnight (America/Santiago, America/Havana, Asia/Beirut; São Paulo and Tehran in past years)
// robfig may skip a matching day or run on a day the schedule excludes, and around 30- or 45-minute-aligned
// changes (Australia/Lord_Howe, Pacific/Chatham) it skips or repeats wall times. Here those ticks follow
// the schedule as written; the planner warns when a zone changes offset close to a handoff.

import { InputError } from '../core/errors.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** robfig gives up after five years without a match; so do we, both directions. */
const MAX_SCAN_DAYS = 5 * 366 + 2;

interface FieldBounds {
  min: number;
  max: number;
  names?: Record<string, number>;
}

const MINUTES: FieldBounds = { min: 0, max: 59 };
const HOURS: FieldBounds = { min: 0, max: 23 };
const DAYS_OF_MONTH: FieldBounds = { min: 1, max: 31 };
const MONTHS: FieldBounds = {
  min: 1,
  max: 12,
  names: { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 },
};
// Kubernetes (robfig) accepts 0-6 only: `7` for Sunday is rejected by the API server.
const DAYS_OF_WEEK: FieldBounds = { min: 0, max: 6, names: { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 } };

const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

interface Field {
  /** allowed[v] is true when value v matches. */
  allowed: boolean[];
  /** Written as `*` or `?` (without a step > 1): decides the day-of-month/day-of-week rule. */
  star: boolean;
}

interface CronSpec {
  minutes: number[];
  hours: number[];
  dom: Field;
  months: Field;
  dow: Field;
}

class ScheduleSyntaxError extends Error {}

// ---------------------------------------------------------------------------------------------------------
// Parsing (the grammar the Kubernetes API server accepts)

function parseNumber(text: string, bounds: FieldBounds): number {
  const named = bounds.names?.[text.toLowerCase()];
  if (named !== undefined) return named;
  if (!/^\+?\d+$/.test(text)) throw new ScheduleSyntaxError(`"${text}" is not a number`);
  return Number(text);
}

function parseRange(expr: string, bounds: FieldBounds, field: Field): void {
  const rangeAndStep = expr.split('/');
  if (rangeAndStep.length > 2) throw new ScheduleSyntaxError(`too many slashes in "${expr}"`);
  const lowHigh = rangeAndStep[0]!.split('-');
  let start: number;
  let end: number;
  let star = false;
  if (lowHigh[0] === '*' || lowHigh[0] === '?') {
    [start, end, star] = [bounds.min, bounds.max, true];
  } else {
    if (lowHigh.length > 2) throw new ScheduleSyntaxError(`too many hyphens in "${expr}"`);
    start = parseNumber(lowHigh[0]!, bounds);
    end = lowHigh.length === 2 ? parseNumber(lowHigh[1]!, bounds) : start;
  }
  let step = 1;
  if (rangeAndStep.length === 2) {
    step = parseNumber(rangeAndStep[1]!, { min: 0, max: 0 });
    // "5/15" means 5 to the field's maximum, every 15.
    if (lowHigh.length === 1) end = bounds.max;
    if (step > 1) star = false;
  }
  if (start < bounds.min) throw new ScheduleSyntaxError(`${start} is below the minimum ${bounds.min} in "${expr}"`);
  if (end > bounds.max) throw new ScheduleSyntaxError(`${end} is above the maximum ${bounds.max} in "${expr}"`);
  if (start > end) throw new ScheduleSyntaxError(`range start ${start} is beyond its end ${end} in "${expr}"`);
  if (step === 0) throw new ScheduleSyntaxError(`step must be a positive number in "${expr}"`);
  for (let v = start; v <= end; v += step) field.allowed[v] = true;
  field.star ||= star;
}

function parseField(text: string, bounds: FieldBounds, label: string): Field {
  const field: Field = { allowed: new Array<boolean>(bounds.max + 1).fill(false), star: false };
  try {
    // Empty list entries ("1,,2") are skipped, as the controller does.
    for (const part of text.split(',')) if (part !== '') parseRange(part, bounds, field);
  } catch (error) {
    if (error instanceof ScheduleSyntaxError) throw new ScheduleSyntaxError(`${label} field: ${error.message}`);
    throw error;
  }
  return field;
}

const valuesOf = (field: Field): number[] => field.allowed.flatMap((ok, v) => (ok ? [v] : []));

function parseSpec(schedule: string): CronSpec {
  if (schedule === '') throw new ScheduleSyntaxError('the schedule is empty');
  let text = schedule;
  if (schedule.startsWith('@')) {
    const expansion = DESCRIPTORS[schedule];
    if (expansion === undefined) {
      throw new ScheduleSyntaxError(
        `unknown descriptor "${schedule}"; expected one of ${Object.keys(DESCRIPTORS).join(', ')}`,
      );
    }
    text = expansion;
  }
  const parts = text.split(/\s+/).filter((p) => p !== '');
  if (parts.length !== 5) {
    throw new ScheduleSyntaxError(`expected exactly 5 fields (minute hour day-of-month month day-of-week), found ${parts.length}`);
  }
  const [minute, hour, dom, month, dow] = parts as [string, string, string, string, string];
  return {
    minutes: valuesOf(parseField(minute, MINUTES, 'minute')),
    hours: valuesOf(parseField(hour, HOURS, 'hour')),
    dom: parseField(dom, DAYS_OF_MONTH, 'day-of-month'),
    months: parseField(month, MONTHS, 'month'),
    dow: parseField(dow, DAYS_OF_WEEK, 'day-of-week'),
  };
}

const DAYS_IN_MONTH = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The controller accepts schedules such as "0 0 31 2 *" and then never starts a Job; say so up front. */
function neverFires(spec: CronSpec): boolean {
  const months = valuesOf(spec.months);
  if (spec.minutes.length === 0 || spec.hours.length === 0 || months.length === 0) return true;
  const weekdays = valuesOf(spec.dow);
  const domFits = fitsAMonth(valuesOf(spec.dom), months);
  // Every month holds every weekday, so only the day-of-month side can be impossible.
  if (!spec.dom.star && !spec.dow.star) return weekdays.length === 0 && !domFits;
  return weekdays.length === 0 || !domFits;
}

const fitsAMonth = (days: number[], months: number[]): boolean =>
  days.some((d) => months.some((m) => d <= DAYS_IN_MONTH[m]!));

// ---------------------------------------------------------------------------------------------------------
// Time zones

const KUBERNETES_ZONE_PART = /^[A-Za-z.\-_0-9+]{1,14}$/;

/** The checks the API server applies to spec.timeZone, then whether this runtime knows the zone. */
function timeZoneProblem(timeZone: string): string | undefined {
  if (timeZone === '') return 'timeZone must be omitted or a non-empty IANA name such as "Europe/Berlin"';
  if (timeZone.toLowerCase() === 'local') return 'timeZone must be an explicit IANA time zone, not "Local"';
  const partsOk = timeZone
    .split('/')
    .every((p) => p !== '.' && p !== '..' && !p.startsWith('-') && KUBERNETES_ZONE_PART.test(p));
  const resolved = partsOk ? resolveZone(timeZone) : undefined;
  if (resolved === undefined) return `unknown time zone "${timeZone}"; expected an IANA name such as "Europe/Berlin"`;
  // Kubernetes loads zones by file name, so the name is case-sensitive; Intl is not.
  if (resolved !== timeZone && resolved.toLowerCase() === timeZone.toLowerCase()) {
    return `unknown time zone "${timeZone}" (names are case-sensitive: did you mean "${resolved}"?)`;
  }
  return undefined;
}

function resolveZone(timeZone: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Offset of the zone's wall clock from UTC at `instant`, in ms (Europe/Berlin in summer: +7_200_000). */
function zoneOffset(timeZone: string | undefined, instant: number): number {
  if (timeZone === undefined || timeZone === 'UTC') return 0;
  const fields: Record<string, string> = {};
  for (const part of formatterFor(timeZone).formatToParts(instant)) fields[part.type] = part.value;
  const year = fields.era === 'BC' ? 1 - Number(fields.year) : Number(fields.year);
  const wall = Date.UTC(year, Number(fields.month) - 1, Number(fields.day), Number(fields.hour), Number(fields.minute), Number(fields.second));
  return wall - Math.floor(instant / 1000) * 1000;
}

/**
 * How the zone's offset behaves around one wall-clock day: steady, or one change at instant `at` from
 * `before` to `after`. The window reaches a day either side, which covers every instant whose wall day
 * this is; zones never change offset twice within it.
 */
type DayZone = { steady: true; offset: number } | { steady: false; before: number; after: number; at: number };

const dayZones = new Map<string, DayZone>();

function dayZone(timeZone: string | undefined, day: number): DayZone {
  if (timeZone === undefined || timeZone === 'UTC') return { steady: true, offset: 0 };
  const key = `${timeZone}|${day}`;
  let zone = dayZones.get(key);
  if (!zone) {
    zone = measureDayZone(timeZone, day);
    if (dayZones.size > 50_000) dayZones.clear();
    dayZones.set(key, zone);
  }
  return zone;
}

function measureDayZone(timeZone: string, day: number): DayZone {
  let low = day * DAY - DAY;
  let high = day * DAY + 2 * DAY;
  const before = zoneOffset(timeZone, low);
  const after = zoneOffset(timeZone, high);
  if (before === after) return { steady: true, offset: before };
  // Offsets change on whole seconds: bisect to the first second with the new offset.
  while (high - low > 1000) {
    const middle = low + Math.floor((high - low) / 2000) * 1000;
    if (zoneOffset(timeZone, middle) === before) low = middle;
    else high = middle;
  }
  return { steady: false, before, after, at: high };
}

// ---------------------------------------------------------------------------------------------------------
// Walking wall-clock days (a day is counted in days since 1970-01-01 of the zone's calendar)

const civil = (day: number): { month: number; date: number; weekday: number } => {
  const d = new Date(day * DAY);
  return { month: d.getUTCMonth() + 1, date: d.getUTCDate(), weekday: d.getUTCDay() };
};

/** Day-of-month and day-of-week: both restricted → either matches; otherwise both must match. */
function dayMatches(spec: CronSpec, date: number, weekday: number): boolean {
  const domMatch = spec.dom.allowed[date] === true;
  const dowMatch = spec.dow.allowed[weekday] === true;
  return spec.dom.star || spec.dow.star ? domMatch && dowMatch : domMatch || dowMatch;
}

/** The next day to look at: the next day, or the first of the next month when this month cannot match. */
function stepForward(spec: CronSpec, day: number): number {
  const d = new Date(day * DAY);
  if (spec.months.allowed[d.getUTCMonth() + 1]) return day + 1;
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / DAY;
}

function stepBackward(spec: CronSpec, day: number): number {
  const { month, date } = civil(day);
  return spec.months.allowed[month] ? day - 1 : day - date;
}

function matches(spec: CronSpec, day: number): boolean {
  const { month, date, weekday } = civil(day);
  return spec.months.allowed[month] === true && dayMatches(spec, date, weekday);
}

/** Ticks of one wall-clock day within (low, high], ascending, at most `limit`. */
function ticksOfDay(spec: CronSpec, timeZone: string | undefined, day: number, low: number, high: number, limit: number): number[] {
  const zone = dayZone(timeZone, day);
  const ticks: number[] = [];
  const lowestOffset = zone.steady ? zone.offset : Math.min(zone.before, zone.after);
  const highestOffset = zone.steady ? zone.offset : Math.max(zone.before, zone.after);
  for (const hour of spec.hours) {
    const hourWall = day * DAY + hour * HOUR;
    if (hourWall + HOUR - lowestOffset <= low || hourWall - highestOffset > high) continue;
    for (const minute of spec.minutes) {
      const wall = hourWall + minute * MINUTE;
      if (zone.steady) {
        ticks.push(wall - zone.offset);
        continue;
      }
      // In a spring-forward gap neither reading is valid; in a fall-back repeat both are.
      if (wall - zone.before < zone.at) ticks.push(wall - zone.before);
      if (wall - zone.after >= zone.at) ticks.push(wall - zone.after);
    }
    if (zone.steady && ticks.length > 0 && ticks[ticks.length - 1]! > high) break;
  }
  if (!zone.steady) ticks.sort((a, b) => a - b);
  const inRange = ticks.filter((t) => t > low && t <= high);
  return inRange.length > limit ? inRange.slice(0, limit) : inRange;
}

/** Ticks in (afterExclusive, untilInclusive], ascending, at most `limit`. */
function scanForward(spec: CronSpec, timeZone: string | undefined, afterExclusive: number, untilInclusive: number, limit: number): number[] {
  const found: number[] = [];
  // An instant's wall day lies within one day of its UTC day, whatever the zone.
  const firstDay = Math.floor(afterExclusive / DAY) - 1;
  // Like the controller, give up only after five years without a tick, counted from the last one found.
  let giveUpAfter = firstDay + MAX_SCAN_DAYS;
  for (let day = firstDay; day <= giveUpAfter; day = stepForward(spec, day)) {
    const earliestOfDay = day * DAY - DAY;
    if (earliestOfDay > untilInclusive) break;
    if (found.length >= limit && earliestOfDay > found[limit - 1]!) break;
    if (!matches(spec, day)) continue;
    const ticks = ticksOfDay(spec, timeZone, day, afterExclusive, untilInclusive, limit);
    if (ticks.length === 0) continue;
    giveUpAfter = day + MAX_SCAN_DAYS;
    found.push(...ticks);
    // Days arrive in order and their ticks rarely interleave; sorting keeps a fall-back at midnight right.
    if (found.length > ticks.length) found.sort((a, b) => a - b);
    if (found.length > limit) found.length = limit;
  }
  return found;
}

function scanBackward(spec: CronSpec, timeZone: string | undefined, atOrBefore: number): number | undefined {
  let latest: number | undefined;
  const lastDay = Math.floor(atOrBefore / DAY) + 1;
  for (let day = lastDay; day >= lastDay - MAX_SCAN_DAYS; day = stepBackward(spec, day)) {
    const latestOfDay = (day + 2) * DAY;
    if (latest !== undefined && latestOfDay < latest) break;
    if (!matches(spec, day)) continue;
    const ticks = ticksOfDay(spec, timeZone, day, Number.NEGATIVE_INFINITY, atOrBefore, Number.POSITIVE_INFINITY);
    const last = ticks[ticks.length - 1];
    if (last !== undefined && (latest === undefined || last > latest)) latest = last;
  }
  return latest;
}

// ---------------------------------------------------------------------------------------------------------
// Public API

type Compiled = { spec: CronSpec; problem?: undefined } | { spec?: undefined; problem: string };

// A plan asks about the same few schedules thousands of times; validation builds an Intl formatter.
const compiled = new Map<string, Compiled>();

function compile(schedule: string, timeZone: string | undefined): Compiled {
  const key = `${timeZone === undefined ? '' : `=${timeZone}`}|${schedule}`;
  let result = compiled.get(key);
  if (!result) {
    result = compileUncached(schedule, timeZone);
    if (compiled.size > 10_000) compiled.clear();
    compiled.set(key, result);
  }
  return result;
}

function compileUncached(schedule: string, timeZone: string | undefined): Compiled {
  if (schedule.includes('TZ')) {
    return {
      problem:
        `schedule "${schedule}" sets its time zone with TZ= or CRON_TZ=, which Kubernetes does not support ` +
        '(the API server rejects it on new CronJobs, and together with spec.timeZone); move the zone to spec.timeZone',
    };
  }
  if (schedule.startsWith('@every ')) {
    // Kubernetes accepts "@every <duration>", but its ticks count from the last run rather than the clock.
    return {
      problem:
        `schedule "${schedule}" is not supported by cutover: @every ticks count from the last run, not from ` +
        'the clock, so no handoff baseline can be computed; use a five-field schedule such as "*/5 * * * *"',
    };
  }
  let spec: CronSpec;
  try {
    spec = parseSpec(schedule);
  } catch (error) {
    if (error instanceof ScheduleSyntaxError) return { problem: `invalid schedule "${schedule}": ${error.message}` };
    throw error;
  }
  if (neverFires(spec)) {
    return { problem: `schedule "${schedule}" never fires (no date matches it), so the controller would never start a Job; fix the schedule` };
  }
  const zoneProblem = timeZone === undefined ? undefined : timeZoneProblem(timeZone);
  return zoneProblem === undefined ? { spec } : { problem: zoneProblem };
}

function specOf(schedule: string, timeZone: string | undefined): CronSpec {
  const { spec, problem } = compile(schedule, timeZone);
  if (spec === undefined) throw new InputError(problem);
  return spec;
}

/**
 * An error message when the Kubernetes controller would not run `schedule` in `timeZone` the way cutover
 * can hand it over, or undefined when it is fine.
 */
export function validateSchedule(schedule: string, timeZone?: string): string | undefined {
  return compile(schedule, timeZone).problem;
}

/**
 * The next `count` ticks strictly after `after`. An unset timeZone means the controller's zone, taken as UTC
 * (kube-controller-manager runs in UTC on EKS). Throws InputError for a schedule validateSchedule rejects.
 */
export function nextTicks(schedule: string, timeZone: string | undefined, after: Date, count: number): Date[] {
  if (count <= 0) return [];
  const spec = specOf(schedule, timeZone);
  return scanForward(spec, timeZone, after.getTime(), Number.POSITIVE_INFINITY, count).map((t) => new Date(t));
}

/** The latest tick at or before `atOrBefore` (inclusive), or undefined when none in the last five years. */
export function latestTick(schedule: string, timeZone: string | undefined, atOrBefore: Date): Date | undefined {
  const spec = specOf(schedule, timeZone);
  const tick = scanBackward(spec, timeZone, atOrBefore.getTime());
  return tick === undefined ? undefined : new Date(tick);
}

/** Ticks in (afterExclusive, untilInclusive], ascending, at most `limit` (default 1000). */
export function ticksBetween(
  schedule: string,
  timeZone: string | undefined,
  afterExclusive: Date,
  untilInclusive: Date,
  limit = 1000,
): Date[] {
  if (limit <= 0 || untilInclusive.getTime() <= afterExclusive.getTime()) return [];
  const spec = specOf(schedule, timeZone);
  return scanForward(spec, timeZone, afterExclusive.getTime(), untilInclusive.getTime(), limit).map((t) => new Date(t));
}

/**
 * Instants in (afterExclusive, untilInclusive] at which `timeZone` changes its UTC offset (daylight saving).
 * The Kubernetes cron library is unreliable on such days in some zones, so the planner points them out.
 */
export function zoneTransitions(timeZone: string | undefined, afterExclusive: Date, untilInclusive: Date): Date[] {
  if (timeZone !== undefined && timeZoneProblem(timeZone) !== undefined) return [];
  const from = afterExclusive.getTime();
  const until = untilInclusive.getTime();
  const found = new Set<number>();
  for (let day = Math.floor(from / DAY) - 1; day * DAY - DAY <= until; day++) {
    const zone = dayZone(timeZone, day);
    if (!zone.steady && zone.at > from && zone.at <= until) found.add(zone.at);
  }
  return [...found].sort((a, b) => a - b).map((t) => new Date(t));
}
