// Cron ticks exactly as the Kubernetes CronJob controller computes them.
//
// The controller parses `spec.schedule` with robfig/cron v3.0.1's standard parser (five fields, a few
// descriptors), prefixed with `TZ=<spec.timeZone>` when a zone is set, and finds ticks with that library's
// Next: starting one second past an instant, it steps month, day, hour, minute and second forward in the
// zone's wall clock with Go's time semantics. The controller's ticks are Next's results, whatever they are,
// so this module reproduces Next itself (over src/plan/zone.ts, which gives Go's wall-clock arithmetic)
// instead of "every instant whose wall time matches". The two agree except around offset changes:
// - spring forward (Europe/Berlin, 02:00 → 03:00): `30 2 * * *` does not run that day;
// - fall back (03:00 → 02:00): `30 2 * * *` runs twice (00:30Z and 01:30Z on 2025-10-26);
// - on days a zone changes offset at local midnight (America/Santiago, America/Havana, Asia/Beirut) Next
//   may skip a matching day or run on a day the schedule excludes, and around 30- or 45-minute changes
//   (Australia/Lord_Howe) it skips or repeats wall times. The controller does so too, so cutover must.
// cron-parser 5 differs on all of these and on the grammar (it accepts `7`, `L`, `W`, `#`, `H`, and
// rejects `@midnight`); the tests keep it as an outside oracle where the two agree, and run robfig's own
// test table (test/vectors/robfig-spec.json).

import { InputError } from '../core/errors.js';
import { GO_ZONE_NAMES } from './zone-names.js';
import { addDate, dateIn, goZone, truncate, wallOf, type GoZone, type Wall } from './zone.js';

const SECOND = 1000;
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
  minuteSet: boolean[];
  hourSet: boolean[];
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
  const parsed = parseBounds(expr, lowHigh, bounds);
  const { start } = parsed;
  let { end, star } = parsed;
  let step = 1;
  if (rangeAndStep.length === 2) {
    step = parseNumber(rangeAndStep[1]!, { min: 0, max: 0 });
    // "5/15" means 5 to the field's maximum, every 15.
    if (lowHigh.length === 1) end = bounds.max;
    if (step > 1) star = false;
  }
  checkRange(expr, { start, end, step }, bounds);
  for (let v = start; v <= end; v += step) field.allowed[v] = true;
  field.star ||= star;
}

function parseBounds(expr: string, lowHigh: string[], bounds: FieldBounds): { start: number; end: number; star: boolean } {
  if (lowHigh[0] === '*' || lowHigh[0] === '?') return { start: bounds.min, end: bounds.max, star: true };
  if (lowHigh.length > 2) throw new ScheduleSyntaxError(`too many hyphens in "${expr}"`);
  const start = parseNumber(lowHigh[0]!, bounds);
  return { start, end: lowHigh.length === 2 ? parseNumber(lowHigh[1]!, bounds) : start, star: false };
}

function checkRange(expr: string, { start, end, step }: { start: number; end: number; step: number }, bounds: FieldBounds): void {
  if (start < bounds.min) throw new ScheduleSyntaxError(`${start} is below the minimum ${bounds.min} in "${expr}"`);
  if (end > bounds.max) throw new ScheduleSyntaxError(`${end} is above the maximum ${bounds.max} in "${expr}"`);
  if (start > end) throw new ScheduleSyntaxError(`range start ${start} is beyond its end ${end} in "${expr}"`);
  if (step === 0) throw new ScheduleSyntaxError(`step must be a positive number in "${expr}"`);
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
  const minuteField = parseField(minute, MINUTES, 'minute');
  const hourField = parseField(hour, HOURS, 'hour');
  return {
    minutes: valuesOf(minuteField),
    hours: valuesOf(hourField),
    minuteSet: minuteField.allowed,
    hourSet: hourField.allowed,
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

/** Files of a host's zoneinfo directory that the embedded database lacks (leap-second or host-chosen data). */
const HOST_ONLY_ZONE = /^(right\/|posixrules$|localtime$)/;

/** `posix/Europe/Berlin` is the same data as `Europe/Berlin` (on hosts that have that directory). */
const zoneData = (timeZone: string): string => (timeZone.startsWith('posix/') ? timeZone.slice('posix/'.length) : timeZone);

/** The checks the API server applies to spec.timeZone: its character rules, then Go's zone database. */
function timeZoneProblem(timeZone: string): string | undefined {
  if (timeZone === '') return 'timeZone must be omitted or a non-empty IANA name such as "Europe/Berlin"';
  if (timeZone.toLowerCase() === 'local') return 'timeZone must be an explicit IANA time zone, not "Local"';
  const partsOk = timeZone
    .split('/')
    .every((p) => p !== '.' && p !== '..' && !p.startsWith('-') && KUBERNETES_ZONE_PART.test(p));
  if (partsOk && GO_ZONE_NAMES.has(zoneData(timeZone))) return undefined;
  if (partsOk && HOST_ONLY_ZONE.test(timeZone)) {
    return (
      `time zone "${timeZone}" exists only where the API server's host has a zoneinfo directory (not in the ` +
      'database kube-apiserver embeds, so not on EKS), and cutover cannot tell what it holds; use an IANA name such as "Europe/Berlin"'
    );
  }
  // Kubernetes loads zones by file name, so the name is case-sensitive.
  const lower = timeZone.toLowerCase();
  const cased = [...GO_ZONE_NAMES].find((name) => name.toLowerCase() === lower);
  if (cased !== undefined) return `unknown time zone "${timeZone}" (names are case-sensitive: did you mean "${cased}"?)`;
  return `unknown time zone "${timeZone}"; expected an IANA name such as "Europe/Berlin"`;
}

// ---------------------------------------------------------------------------------------------------------
// robfig/cron's SpecSchedule.Next, over Go's wall-clock semantics

/** More steps than five years of searching can take: robfig's Next is stuck. */
const MAX_STEPS = 500_000;

/** Next's answer when nothing matches within five years (Go's zero time). */
const NEVER = undefined;

function dayMatches(spec: CronSpec, date: number, weekday: number): boolean {
  const domMatch = spec.dom.allowed[date] === true;
  const dowMatch = spec.dow.allowed[weekday] === true;
  return spec.dom.star || spec.dow.star ? domMatch && dowMatch : domMatch || dowMatch;
}

/** How many one-minute steps robfig takes from `minute` until a minute matches or the hour wraps. */
function minutesToNextStop(spec: CronSpec, minute: number): number {
  for (let m = minute + 1; m < 60; m++) if (spec.minuteSet[m]) return m - minute;
  return 60 - minute;
}

/**
 * The first tick after `after` as robfig/cron v3.0.1 finds it: start one second past `after`, then move
 * each field forward until it matches, resetting the smaller fields the first time anything moves, and
 * start over from the month whenever a field wraps. Steps in wall time (days, months) go through Go's
 * date normalization, steps of an hour or less are absolute, which is what makes DST days special.
 */
function robfigNext(spec: CronSpec, zone: GoZone, after: number): number | undefined {
  const first = after + SECOND - (((after % SECOND) + SECOND) % SECOND);
  const cursor: Cursor = { spec, zone, t: first, w: wallOf(zone, first), added: false, steps: 0 };
  const yearLimit = cursor.w.year + 5;
  // robfig loops forever where a zone skipped a whole calendar day (Pacific/Apia, 2011-12-30) and the
  // schedule needs it; five years of month, day and hour steps take far fewer than MAX_STEPS.
  for (;;) {
    cursor.w = wallOf(zone, cursor.t);
    if (cursor.w.year > yearLimit) return NEVER;
    const outcome = seekAll(cursor);
    if (outcome === 'never') return NEVER;
    if (outcome === 'found') return cursor.t;
  }
}

/** Next's search state: the instant, its wall time, whether a field has moved yet, steps taken. */
interface Cursor {
  readonly spec: CronSpec;
  readonly zone: GoZone;
  t: number;
  w: Wall;
  added: boolean;
  steps: number;
}

/** A field is matched ('found'), or it wrapped and the search starts over from the month ('wrap'). */
type Seek = 'found' | 'wrap' | 'never';

function seekAll(c: Cursor): Seek {
  for (const seek of [seekMonth, seekDay, seekHour, seekMinute, seekSecond]) {
    const outcome = seek(c);
    if (outcome !== 'found') return outcome;
  }
  return 'found';
}

/** The first time any field moves, the smaller fields reset: t goes to the start of the unit moved. */
function resetOnce(c: Cursor, start: () => number): void {
  if (c.added) return;
  c.added = true;
  c.t = start();
}

function moveTo(c: Cursor, t: number): void {
  c.t = t;
  c.w = wallOf(c.zone, t);
}

function seekMonth(c: Cursor): Seek {
  while (!c.spec.months.allowed[c.w.month]) {
    if (++c.steps > MAX_STEPS) return 'never';
    resetOnce(c, () => dateIn(c.zone, c.w.year, c.w.month, 1, 0, 0, 0));
    moveTo(c, addDate(c.zone, c.t, 0, 1, 0));
    if (c.w.month === 1) return 'wrap';
  }
  return 'found';
}

function seekDay(c: Cursor): Seek {
  while (!dayMatches(c.spec, c.w.day, c.w.weekday)) {
    if (++c.steps > MAX_STEPS) return 'never';
    resetOnce(c, () => dateIn(c.zone, c.w.year, c.w.month, c.w.day, 0, 0, 0));
    moveTo(c, addDate(c.zone, c.t, 0, 0, 1));
    // A zone whose midnight does not exist that day leaves the day at 01:00 (or 23:00): back to hour 0.
    if (c.w.hour !== 0) moveTo(c, c.t + (c.w.hour > 12 ? (24 - c.w.hour) * HOUR : -c.w.hour * HOUR));
    if (c.w.day === 1) return 'wrap';
  }
  return 'found';
}

function seekHour(c: Cursor): Seek {
  while (!c.spec.hourSet[c.w.hour]) {
    if (++c.steps > MAX_STEPS) return 'never';
    resetOnce(c, () => dateIn(c.zone, c.w.year, c.w.month, c.w.day, c.w.hour, 0, 0));
    moveTo(c, c.t + HOUR);
    if (c.w.hour === 0) return 'wrap';
  }
  return 'found';
}

function seekMinute(c: Cursor): Seek {
  while (!c.spec.minuteSet[c.w.minute]) {
    resetOnce(c, () => truncate(c.t, MINUTE));
    // Minute by minute, as robfig does; within one offset period that is a single jump.
    const steps = minutesToNextStop(c.spec, c.w.minute);
    const jump = steps > 1 && c.t + steps * MINUTE < c.zone.period(c.t).end ? (steps - 1) * MINUTE : 0;
    moveTo(c, c.t + jump + MINUTE);
    if (c.w.minute === 0) return 'wrap';
  }
  return 'found';
}

/** The standard parser allows second 0 only: second by second up to second 0, then start over. */
function seekSecond(c: Cursor): Seek {
  if (c.w.second === 0) return 'found';
  resetOnce(c, () => truncate(c.t, SECOND));
  // Offsets are whole minutes within one period: one jump to the next minute.
  const period = c.zone.period(c.t);
  const jump = (60 - wallOf(c.zone, c.t).second) * SECOND;
  if (period.offset % MINUTE === 0 && c.t + jump < period.end) {
    c.t += jump;
    return 'wrap';
  }
  do moveTo(c, c.t + SECOND);
  while (c.w.second !== 0);
  return 'wrap';
}

// ---------------------------------------------------------------------------------------------------------
// The latest tick at or before an instant, consistent with Next's chain

const civil = (day: number): { month: number; date: number; weekday: number } => {
  const d = new Date(day * DAY);
  return { month: d.getUTCMonth() + 1, date: d.getUTCDate(), weekday: d.getUTCDay() };
};

function stepBackward(spec: CronSpec, day: number): number {
  const { month, date } = civil(day);
  return spec.months.allowed[month] ? day - 1 : day - date;
}

function matches(spec: CronSpec, day: number): boolean {
  const { month, date, weekday } = civil(day);
  return spec.months.allowed[month] === true && dayMatches(spec, date, weekday);
}

/** The latest instant ≤ atOrBefore whose wall time (at a steady offset) matches the schedule. */
function wallLatest(spec: CronSpec, zone: GoZone, atOrBefore: number): number | undefined {
  const offset = zone.period(atOrBefore).offset;
  const wallNow = atOrBefore + offset;
  const lastDay = Math.floor(wallNow / DAY);
  for (let day = lastDay; day >= lastDay - MAX_SCAN_DAYS; day = stepBackward(spec, day)) {
    const wall = matches(spec, day) ? latestWallOfDay(spec, day, wallNow) : undefined;
    if (wall !== undefined) return wall - offset;
  }
  return undefined;
}

/** The latest wall time on `day` at or before wallNow whose hour and minute match the schedule. */
function latestWallOfDay(spec: CronSpec, day: number, wallNow: number): number | undefined {
  for (let h = spec.hours.length - 1; h >= 0; h--) {
    for (let m = spec.minutes.length - 1; m >= 0; m--) {
      const wall = day * DAY + spec.hours[h]! * HOUR + spec.minutes[m]! * MINUTE;
      if (wall <= wallNow) return wall;
    }
  }
  return undefined;
}

/** How far before an offset change Next's chain is taken up, so that it runs through the change as Next does. */
const CHAIN_LEAD = 26 * HOUR;

/**
 * The latest tick of Next's chain at or before `atOrBefore`. Away from offset changes that is the latest
 * matching wall time; when the zone changed offset since shortly before that candidate, the chain is
 * followed with Next from a tick a day before the change.
 */
function latestOfChain(spec: CronSpec, zone: GoZone, atOrBefore: number): number | undefined {
  const candidate = wallLatest(spec, zone, atOrBefore);
  const from = (candidate ?? atOrBefore - MAX_SCAN_DAYS * DAY) - CHAIN_LEAD;
  const [change] = offsetChanges(zone, from, atOrBefore, 1);
  if (change === undefined) return candidate;
  const start = wallLatest(spec, zone, change - CHAIN_LEAD) ?? change - CHAIN_LEAD;
  let latest: number | undefined = start <= atOrBefore ? start : undefined;
  for (let t = robfigNext(spec, zone, start); t !== undefined && t <= atOrBefore; t = robfigNext(spec, zone, t)) latest = t;
  return latest;
}

/** Instants in (after, until] at which the zone's offset changes, at most `limit`. */
function offsetChanges(zone: GoZone, after: number, until: number, limit: number): number[] {
  const found: number[] = [];
  let period = zone.period(after);
  while (period.end <= until && found.length < limit) {
    const next = zone.period(period.end);
    if (next.offset !== period.offset) found.push(period.end);
    period = next;
  }
  return found;
}

// ---------------------------------------------------------------------------------------------------------
// Public API

type Compiled = { spec: CronSpec; problem?: undefined } | { spec?: undefined; problem: string };

// A plan asks about the same few schedules thousands of times.
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
 * The next `count` ticks strictly after `after`, as the controller's Next chain gives them. An unset
 * timeZone means the controller's own zone, taken as UTC (kube-controller-manager runs in UTC on EKS).
 * Throws InputError for a schedule validateSchedule rejects.
 */
export function nextTicks(schedule: string, timeZone: string | undefined, after: Date, count: number): Date[] {
  if (count <= 0) return [];
  return chain(specOf(schedule, timeZone), goZone(timeZone && zoneData(timeZone)), after.getTime(), Number.POSITIVE_INFINITY, count);
}

/** The latest tick at or before `atOrBefore` (inclusive), or undefined when none in the last five years. */
export function latestTick(schedule: string, timeZone: string | undefined, atOrBefore: Date): Date | undefined {
  const tick = latestOfChain(specOf(schedule, timeZone), goZone(timeZone && zoneData(timeZone)), atOrBefore.getTime());
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
  return chain(specOf(schedule, timeZone), goZone(timeZone && zoneData(timeZone)), afterExclusive.getTime(), untilInclusive.getTime(), limit);
}

function chain(spec: CronSpec, zone: GoZone, after: number, until: number, limit: number): Date[] {
  const ticks: Date[] = [];
  for (let t = robfigNext(spec, zone, after); t !== undefined && t <= until && ticks.length < limit; t = robfigNext(spec, zone, t)) {
    ticks.push(new Date(t));
  }
  return ticks;
}

/**
 * Instants in (afterExclusive, untilInclusive] at which `timeZone` changes its UTC offset (daylight saving).
 * The controller's ticks are irregular on such days, so the planner points them out.
 */
export function zoneTransitions(timeZone: string | undefined, afterExclusive: Date, untilInclusive: Date): Date[] {
  if (timeZone !== undefined && timeZoneProblem(timeZone) !== undefined) return [];
  return offsetChanges(goZone(timeZone && zoneData(timeZone)), afterExclusive.getTime(), untilInclusive.getTime(), Number.POSITIVE_INFINITY).map((t) => new Date(t));
}

/**
 * The schedule as the controller's cron library holds it after `cron.ParseStandard`, for code that must
 * follow the controller even where cutover would refuse the schedule (a date that never comes, @every).
 * `next` is robfig's Next (undefined for Go's zero time); `problem` is the parse error the controller reports.
 */
export interface ControllerSchedule {
  next(after: number): number | undefined;
}

export function controllerSchedule(schedule: string, timeZone: string | undefined): ControllerSchedule | { problem: string } {
  if (schedule === '') return { problem: 'empty spec string' };
  // A zone written into the schedule itself wins over spec.timeZone (the controller passes it on as is).
  const prefixed = /^(?:CRON_)?TZ=([^ ]*) (.*)$/.exec(schedule);
  if (prefixed) return controllerSchedule(prefixed[2]!.trim(), prefixed[1]);
  if (timeZone !== undefined && !goLoadsZone(timeZone)) return { problem: `provided bad location ${timeZone}` };
  const every = /^@every (.*)$/.exec(schedule);
  if (every) return everySchedule(schedule, every[1]!);
  let spec: CronSpec;
  try {
    spec = parseSpec(schedule);
  } catch (error) {
    if (error instanceof ScheduleSyntaxError) return { problem: error.message };
    throw error;
  }
  const zone = controllerZone(timeZone);
  return { next: (after) => robfigNext(spec, zone, after) };
}

/** The zone the controller runs a schedule in: none, "" and "Local" are the controller's own, UTC. */
function controllerZone(timeZone: string | undefined): GoZone {
  return goZone(timeZone === undefined || timeZone === '' || timeZone === 'Local' ? undefined : zoneData(timeZone));
}

/** `@every <duration>`: robfig rounds the delay down to whole seconds, at least one. */
function everySchedule(schedule: string, duration: string): ControllerSchedule | { problem: string } {
  const delay = goDuration(duration);
  if (delay === undefined) return { problem: `failed to parse duration ${schedule}` };
  const step = Math.max(SECOND, delay - (delay % SECOND));
  return { next: (after) => after + step - (((after % SECOND) + SECOND) % SECOND) };
}

/** Whether Go's time.LoadLocation accepts the name (the embedded database; "" and "UTC" are UTC). */
export function goLoadsZone(timeZone: string): boolean {
  return timeZone === '' || timeZone === 'UTC' || timeZone === 'Local' || GO_ZONE_NAMES.has(zoneData(timeZone));
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: SECOND, m: MINUTE, h: HOUR };

/** Go's time.ParseDuration, in milliseconds (for @every). */
function goDuration(text: string): number | undefined {
  const body = text.replace(/^[+-]/, '');
  if (body === '0') return 0;
  if (!/^(\d*\.?\d*(ns|us|µs|μs|ms|s|m|h))+$/.test(body)) return undefined;
  let total = 0;
  for (const [, value, unit] of body.matchAll(/(\d*\.?\d*)(ns|us|µs|μs|ms|s|m|h)/g)) {
    if (value === '' || value === '.') return undefined;
    total += Number(value) * DURATION_UNITS[unit!]!;
  }
  return text.startsWith('-') ? -total : total;
}
