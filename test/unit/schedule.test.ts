import { CronExpressionParser } from 'cron-parser';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { latestTick, nextTicks, ticksBetween, validateSchedule, zoneTransitions } from '../../src/plan/schedule.js';

const iso = (dates: Date[]): string[] => dates.map((d) => d.toISOString().replace(':00.000Z', 'Z'));
const at = (text: string): Date => new Date(text);

describe('validateSchedule accepts what the Kubernetes API server accepts', () => {
  it.each([
    '*/5 * * * *',
    '0 2 * * 1-5',
    '0 0 ? * MON',
    '0 0 1 jan-mar/2 *',
    '5/15 * * * *',
    '*-5 0 * * *',
    '1,,2 0 * * *',
    '@yearly',
    '@annually',
    '@monthly',
    '@weekly',
    '@daily',
    '@midnight',
    '@hourly',
    '0 0 29 2 *',
    '0 0 31 4,6 0',
  ])('accepts %j', (schedule) => {
    expect(validateSchedule(schedule)).toBeUndefined();
  });

  it.each([
    ['', /empty/],
    ['* * * *', /expected exactly 5 fields.*found 4/],
    ['0 * * * * *', /expected exactly 5 fields.*found 6/],
    ['0 0 * * 7', /day-of-week field: 7 is above the maximum 6/],
    ['60 * * * *', /minute field: 60 is above the maximum 59/],
    ['* 24 * * *', /hour field/],
    ['0 0 0 * *', /day-of-month field: 0 is below the minimum 1/],
    ['0 0 L * *', /"L" is not a number/],
    ['0 0 1W * *', /is not a number/],
    ['0 0 * * 1#2', /is not a number/],
    ['H * * * *', /is not a number/],
    ['*/0 * * * *', /step must be a positive number/],
    ['1-2-3 * * * *', /too many hyphens/],
    ['1/2/3 * * * *', /too many slashes/],
    ['0 0 * * 5-1', /beyond its end/],
    ['@reboot', /unknown descriptor "@reboot"/],
    [' @hourly', /expected exactly 5 fields/],
  ])('rejects %j', (schedule, message) => {
    expect(validateSchedule(schedule)).toMatch(message);
  });

  it('rejects @every, which Kubernetes accepts but whose ticks depend on the last run', () => {
    expect(validateSchedule('@every 5m')).toMatch(/not supported by cutover.*count from the last run/);
  });

  it('rejects TZ= and CRON_TZ= prefixes and points at spec.timeZone', () => {
    expect(validateSchedule('TZ=Europe/Berlin 0 2 * * *')).toMatch(/TZ=.*move the zone to spec.timeZone/);
    expect(validateSchedule('CRON_TZ=UTC 0 2 * * *', 'UTC')).toMatch(/TZ=/);
  });

  it('rejects schedules the controller would never start, such as 31 February', () => {
    expect(validateSchedule('0 0 31 2 *')).toMatch(/never fires/);
    expect(validateSchedule('0 0 30,31 2 *')).toMatch(/never fires/);
    expect(validateSchedule(', * * * *')).toMatch(/never fires/);
  });

  // Factory is in Go's embedded database (the API server accepts it) though Intl does not know it.
  it.each(['Europe/Berlin', 'UTC', 'Etc/GMT+5', 'America/Port-au-Prince', 'Factory', 'posix/Europe/Berlin', 'EST'])('accepts time zone %j', (zone) => {
    expect(validateSchedule('0 2 * * *', zone)).toBeUndefined();
  });

  it.each([
    ['Mars/Olympus', /unknown time zone "Mars\/Olympus"/],
    ['Local', /explicit IANA time zone/],
    ['', /non-empty IANA name/],
    ['europe/berlin', /case-sensitive.*"Europe\/Berlin"/],
    ['+01:00', /unknown time zone/],
    ['../etc/passwd', /unknown time zone/],
    // Intl knows it; Go's database (and so the API server) does not.
    ['US/Pacific-New', /unknown time zone/],
    ['right/Europe/Berlin', /API server's host has a zoneinfo directory/],
    ['posixrules', /API server's host has a zoneinfo directory/],
  ])('rejects time zone %j', (zone, message) => {
    expect(validateSchedule('0 2 * * *', zone)).toMatch(message);
  });
});

describe('time zone Factory', () => {
  it('ticks as UTC, as Go reads it', () => {
    expect(nextTicks('30 2 * * *', 'Factory', new Date('2026-03-29T00:00:00Z'), 1)).toEqual([new Date('2026-03-29T02:30:00Z')]);
    expect(latestTick('30 2 * * *', 'Factory', new Date('2026-03-29T03:00:00Z'))).toEqual(new Date('2026-03-29T02:30:00Z'));
  });
});

describe('nextTicks', () => {
  const from = at('2025-01-01T12:00:00Z'); // a Wednesday

  it('expands descriptors as the controller does', () => {
    expect(iso(nextTicks('@hourly', undefined, from, 2))).toEqual(['2025-01-01T13:00Z', '2025-01-01T14:00Z']);
    expect(iso(nextTicks('@midnight', undefined, from, 1))).toEqual(['2025-01-02T00:00Z']);
    expect(iso(nextTicks('@weekly', undefined, from, 1))).toEqual(['2025-01-05T00:00Z']);
    expect(iso(nextTicks('@monthly', undefined, from, 1))).toEqual(['2025-02-01T00:00Z']);
    expect(iso(nextTicks('@yearly', undefined, from, 1))).toEqual(['2026-01-01T00:00Z']);
  });

  it('fires on either day when day-of-month and day-of-week are both restricted', () => {
    expect(iso(nextTicks('0 0 1 * 1', undefined, from, 6))).toEqual([
      '2025-01-06T00:00Z',
      '2025-01-13T00:00Z',
      '2025-01-20T00:00Z',
      '2025-01-27T00:00Z',
      '2025-02-01T00:00Z',
      '2025-02-03T00:00Z',
    ]);
  });

  it('needs both days when either field is * or ? (a step of 1 keeps the star, a larger step drops it)', () => {
    const mondays = ['2025-01-06T00:00Z', '2025-01-13T00:00Z'];
    expect(iso(nextTicks('0 0 * * 1', undefined, from, 2))).toEqual(mondays);
    expect(iso(nextTicks('0 0 ? * mon', undefined, from, 2))).toEqual(mondays);
    expect(iso(nextTicks('0 0 */1 * 1', undefined, from, 2))).toEqual(mondays);
    // */2 on day-of-week is a restriction: the 1st OR every other weekday from Sunday.
    expect(iso(nextTicks('0 0 1 * */2', undefined, from, 3))).toEqual(['2025-01-02T00:00Z', '2025-01-04T00:00Z', '2025-01-05T00:00Z']);
  });

  it('reads "N/step" as N to the maximum', () => {
    expect(iso(nextTicks('50/5 * * * *', undefined, from, 3))).toEqual(['2025-01-01T12:50Z', '2025-01-01T12:55Z', '2025-01-01T13:50Z']);
  });

  it('returns ticks strictly after `after`, on whole minutes', () => {
    expect(iso(nextTicks('*/5 * * * *', undefined, at('2025-01-01T12:05:00Z'), 1))).toEqual(['2025-01-01T12:10Z']);
    const ticks = nextTicks('*/5 * * * *', undefined, at('2025-01-01T12:04:59.999Z'), 1);
    expect(iso(ticks)).toEqual(['2025-01-01T12:05Z']);
    expect(ticks[0]!.getUTCSeconds()).toBe(0);
  });

  it('treats an unset time zone as UTC', () => {
    expect(nextTicks('0 2 * * *', undefined, from, 3)).toEqual(nextTicks('0 2 * * *', 'UTC', from, 3));
  });

  it('evaluates the schedule in the CronJob time zone', () => {
    expect(iso(nextTicks('0 9 * * *', 'Asia/Tokyo', from, 1))).toEqual(['2025-01-02T00:00Z']);
    expect(iso(nextTicks('0 9 * * *', 'America/New_York', from, 1))).toEqual(['2025-01-01T14:00Z']);
  });

  it('finds a 29 February four years ahead', () => {
    expect(iso(nextTicks('0 0 29 2 *', undefined, from, 2))).toEqual(['2028-02-29T00:00Z', '2032-02-29T00:00Z']);
  });

  it('throws InputError for a schedule validateSchedule rejects', () => {
    expect(() => nextTicks('0 0 * * 7', undefined, from, 1)).toThrow(InputError);
    expect(() => latestTick('@every 1m', undefined, from)).toThrow(/@every/);
    expect(() => ticksBetween('0 0 * * *', 'Mars/Olympus', from, at('2025-02-01T00:00:00Z'))).toThrow(InputError);
  });

  it('returns nothing for a count of zero', () => {
    expect(nextTicks('* * * * *', undefined, from, 0)).toEqual([]);
  });
});

describe('latestTick', () => {
  it('includes an instant exactly on a tick', () => {
    expect(latestTick('*/5 * * * *', undefined, at('2025-01-01T12:05:00Z'))?.toISOString()).toBe('2025-01-01T12:05:00.000Z');
  });

  it('returns the tick before when the instant is between ticks', () => {
    expect(latestTick('*/5 * * * *', undefined, at('2025-01-01T12:04:59.999Z'))?.toISOString()).toBe('2025-01-01T12:00:00.000Z');
    expect(latestTick('0 0 1 * 1', undefined, at('2025-02-02T10:00:00Z'))?.toISOString()).toBe('2025-02-01T00:00:00.000Z');
  });

  it('looks back across years for rare schedules', () => {
    expect(latestTick('0 0 29 2 *', undefined, at('2027-06-01T00:00:00Z'))?.toISOString()).toBe('2024-02-29T00:00:00.000Z');
    expect(latestTick('@yearly', 'Europe/Berlin', at('2025-06-01T00:00:00Z'))?.toISOString()).toBe('2024-12-31T23:00:00.000Z');
  });

  it('agrees with nextTicks: the next tick after the latest one is in the future', () => {
    const now = at('2025-07-15T08:17:42Z');
    for (const schedule of ['*/7 * * * *', '15 3 * * 1-5', '0 0 1,15 * *', '30 */4 * * 0']) {
      const latest = latestTick(schedule, 'Europe/Berlin', now)!;
      expect(latest.getTime()).toBeLessThanOrEqual(now.getTime());
      expect(nextTicks(schedule, 'Europe/Berlin', latest, 1)[0]!.getTime()).toBeGreaterThan(now.getTime());
    }
  });
});

describe('ticksBetween', () => {
  it('excludes the start and includes the end', () => {
    expect(iso(ticksBetween('*/10 * * * *', undefined, at('2025-01-01T12:00:00Z'), at('2025-01-01T12:30:00Z')))).toEqual([
      '2025-01-01T12:10Z',
      '2025-01-01T12:20Z',
      '2025-01-01T12:30Z',
    ]);
  });

  it('stops at the limit, keeping the earliest ticks', () => {
    expect(iso(ticksBetween('* * * * *', undefined, at('2025-01-01T12:00:00Z'), at('2025-01-02T12:00:00Z'), 2))).toEqual([
      '2025-01-01T12:01Z',
      '2025-01-01T12:02Z',
    ]);
  });

  it('is empty for an empty or reversed window', () => {
    expect(ticksBetween('* * * * *', undefined, at('2025-01-01T12:00:00Z'), at('2025-01-01T12:00:00Z'))).toEqual([]);
    expect(ticksBetween('* * * * *', undefined, at('2025-01-01T12:00:00Z'), at('2025-01-01T11:00:00Z'))).toEqual([]);
  });
});

// Expected instants below are the ones robfig/cron v3 (the controller's library) computes.
describe('daylight saving in Europe/Berlin', () => {
  it('skips a wall time inside the spring-forward gap (2025-03-30 02:00 → 03:00)', () => {
    expect(iso(nextTicks('30 2 * * *', 'Europe/Berlin', at('2025-03-28T12:00:00Z'), 3))).toEqual([
      '2025-03-29T01:30Z',
      '2025-03-31T00:30Z',
      '2025-04-01T00:30Z',
    ]);
  });

  it('runs a wall time inside the fall-back repeat twice (2025-10-26 03:00 → 02:00)', () => {
    expect(iso(nextTicks('30 2 * * *', 'Europe/Berlin', at('2025-10-25T12:00:00Z'), 3))).toEqual([
      '2025-10-26T00:30Z',
      '2025-10-26T01:30Z',
      '2025-10-27T01:30Z',
    ]);
  });

  it('takes the second 02:30 as the latest tick once it has passed, so the target does not run it again', () => {
    expect(latestTick('30 2 * * *', 'Europe/Berlin', at('2025-10-26T01:00:00Z'))?.toISOString()).toBe('2025-10-26T00:30:00.000Z');
    expect(latestTick('30 2 * * *', 'Europe/Berlin', at('2025-10-26T01:45:00Z'))?.toISOString()).toBe('2025-10-26T01:30:00.000Z');
  });

  it('keeps hourly schedules one hour apart in absolute time across both changes', () => {
    expect(iso(nextTicks('0 * * * *', 'Europe/Berlin', at('2025-03-29T23:30:00Z'), 4))).toEqual([
      '2025-03-30T00:00Z',
      '2025-03-30T01:00Z',
      '2025-03-30T02:00Z',
      '2025-03-30T03:00Z',
    ]);
    expect(iso(ticksBetween('*/30 * * * *', 'Europe/Berlin', at('2025-10-25T23:50:00Z'), at('2025-10-26T02:00:00Z')))).toEqual([
      '2025-10-26T00:00Z',
      '2025-10-26T00:30Z',
      '2025-10-26T01:00Z',
      '2025-10-26T01:30Z',
      '2025-10-26T02:00Z',
    ]);
  });

  it('lists the offset changes of a zone', () => {
    expect(zoneTransitions('Europe/Berlin', at('2025-01-01T00:00:00Z'), at('2026-01-01T00:00:00Z')).map((d) => d.toISOString())).toEqual([
      '2025-03-30T01:00:00.000Z',
      '2025-10-26T01:00:00.000Z',
    ]);
    expect(zoneTransitions(undefined, at('2025-01-01T00:00:00Z'), at('2026-01-01T00:00:00Z'))).toEqual([]);
  });
});

describe('daylight saving elsewhere', () => {
  it('skips a midnight that does not exist (America/Sao_Paulo, 2018-11-04)', () => {
    expect(iso(nextTicks('0 0 * * *', 'America/Sao_Paulo', at('2018-11-02T12:00:00Z'), 3))).toEqual([
      '2018-11-03T03:00Z',
      '2018-11-05T02:00Z',
      '2018-11-06T02:00Z',
    ]);
  });

  it('repeats the hour before midnight when clocks go back at midnight (America/Sao_Paulo, 2019-02-17)', () => {
    expect(iso(nextTicks('30 23 * * *', 'America/Sao_Paulo', at('2019-02-15T12:00:00Z'), 3))).toEqual([
      '2019-02-16T01:30Z',
      '2019-02-17T01:30Z',
      '2019-02-17T02:30Z',
    ]);
  });

  it('handles half-hour changes (Australia/Lord_Howe, 2025-04-06 02:00 → 01:30)', () => {
    expect(iso(nextTicks('45 1 * * *', 'Australia/Lord_Howe', at('2025-04-04T12:00:00Z'), 4))).toEqual([
      '2025-04-04T14:45Z',
      '2025-04-05T14:45Z',
      '2025-04-05T15:15Z',
      '2025-04-06T15:15Z',
    ]);
  });
});

// cron-parser is an independent implementation; outside DST changes and its extra syntax it must agree.
describe('agreement with cron-parser in UTC', () => {
  const pick = <T>(items: T[], n: number): T => items[n % items.length]!;
  const minutes = ['*', '0', '*/5', '15,45', '10-20', '7', '*/13'];
  const hours = ['*', '0', '*/3', '9-17', '2', '23'];
  const days = ['*', '1', '15', '*/10', '1-7', '31'];
  const months = ['*', '1', '2', '*/3', '6-8'];
  const weekdays = ['*', '1', '0', '1-5', '6', '2,4'];
  const schedules: string[] = [];
  for (let n = 0; n < 300; n++) {
    schedules.push([pick(minutes, n), pick(hours, n * 7 + 1), pick(days, n * 11 + 2), pick(months, n * 13 + 3), pick(weekdays, n * 17 + 4)].join(' '));
  }

  it.each(schedules.map((s, i) => [s, i] as const))('%s', (schedule, i) => {
    const after = new Date(Date.UTC(2024, i % 12, 1 + (i % 27), i % 24, (i * 7) % 60, 13));
    const oracle = CronExpressionParser.parse(schedule, { currentDate: after, tz: 'UTC' });
    const expected = Array.from({ length: 5 }, () => oracle.next().toDate().toISOString());
    expect(nextTicks(schedule, 'UTC', after, 5).map((d) => d.toISOString())).toEqual(expected);
    expect(latestTick(schedule, 'UTC', new Date(expected[2]!))?.toISOString()).toBe(expected[2]);
    expect(latestTick(schedule, 'UTC', new Date(Date.parse(expected[2]!) - 1))?.toISOString()).toBe(expected[1]);
  });
});
