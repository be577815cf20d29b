// Differential test (issue 12): the real kube-controller-manager against cutover's model of it. Many
// CronJobs with uneven schedules and lastScheduleTime values chosen relative to now are created suspended,
// their status.lastScheduleTime is patched, then all are resumed at once: the sync on resume decides. For
// each, the Job the real controller starts (or its absence) must be what mostRecentScheduleTime and the
// simulator predict — including CronJobs where a tick was missed and the controller starts nothing.
//
// One round, no minute waits: every lastScheduleTime is in the past, so the decision happens at resume, and
// cases are kept only if the prediction holds for any resume instant in the next 40 seconds and no tick of
// theirs falls in the next five minutes.
import { BatchV1Api, PatchStrategy, setHeaderOptions, type V1Job } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import { VirtualClock } from '../../src/adapters/sandbox/clock.js';
import { SimulatedCluster } from '../../src/adapters/sandbox/cluster.js';
import { exactLatestMissedTick, mostRecentScheduleTime } from '../../src/plan/controller.js';
import { nextTicks, ticksBetween, validateSchedule } from '../../src/plan/schedule.js';
import { createNamespace, kubeConfigFor, waitFor, type LabCluster } from '../support/lab.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const WINDOW = 40_000;
const QUIET = 5 * MINUTE;

interface Case {
  name: string;
  schedule: string;
  timeZone?: string;
  lastScheduleTime: string;
  /** What the controller starts on resume (mostRecentScheduleTime's tick), or undefined. */
  predicted?: string;
  /** The true latest missed tick. */
  exact?: string;
  cluster: LabCluster;
}

/** A small deterministic generator, so a failure can be replayed from the seed in its message. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state / 2 ** 32;
  };
}

const pad = (n: number): number => ((n % 60) + 60) % 60;
const hourOf = (n: number): number => ((n % 24) + 24) % 24;

/** Uneven schedule shapes around `now`: hour windows that just closed, pairs of minutes, short lists. */
function shapes(now: Date, rnd: () => number): string[] {
  const h = now.getUTCHours();
  const m = now.getUTCMinutes();
  const pick = <T,>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const minuteList = (count: number, span: number): string =>
    [...new Set(Array.from({ length: count }, () => pad(m - 1 - Math.floor(rnd() * span))))].sort((a, b) => a - b).join(',');
  return [
    `*/${pick([5, 10, 15])} ${hourOf(h - 3)}-${hourOf(h - 1)} * * *`,
    `*/5 ${hourOf(h - 1)} * * *`,
    `${minuteList(2, 20)} * * * *`,
    `${minuteList(3, 40)} * * * *`,
    `${minuteList(2, 10)} ${hourOf(h - 2)},${hourOf(h - 1)},${h} * * *`,
    `${pad(m - 1 - Math.floor(rnd() * 30))} ${hourOf(h - 1)},${h} * * *`,
    `0,30 ${hourOf(h - 4)}-${hourOf(h - 1)} * * *`,
    `${minuteList(4, 55)} ${h} * * *`,
  ].filter((s) => validateSchedule(s) === undefined);
}

const iso = (d: Date | undefined): string | undefined => d?.toISOString();

interface Candidate {
  schedule: string;
  timeZone: string | undefined;
  created: Date;
  last: string;
}

/** The controller's decision at `at`, for a CronJob created at `created`. */
function decide({ schedule, timeZone, created, last }: Candidate, at: Date) {
  const cj = { schedule, ...(timeZone ? { timeZone } : {}), creationTimestamp: created.toISOString(), lastScheduleTime: last };
  return { predicted: iso(mostRecentScheduleTime(cj, at).tick), exact: iso(exactLatestMissedTick(cj, at)) };
}

const ZONES: (string | undefined)[] = [undefined, undefined, undefined, 'Asia/Kolkata', 'Factory'];

/** A random CronJob whose next tick is well ahead and that missed ticks in the last 8 hours, or none. */
function candidate(now: Date, rnd: () => number): Candidate | undefined {
  const all = shapes(now, rnd);
  const schedule = all[Math.floor(rnd() * all.length)];
  if (schedule === undefined) return undefined;
  const timeZone = ZONES[Math.floor(rnd() * ZONES.length)];
  // Kolkata's wall clock is UTC+5:30: shift the hours so its windows also lie just before now.
  const scheduleInZone = timeZone === 'Asia/Kolkata' ? shiftHours(schedule, 5) : schedule;
  const [upcoming] = nextTicks(scheduleInZone, timeZone, now, 1);
  if (!upcoming || upcoming.getTime() - now.getTime() < QUIET) return undefined;
  const past = ticksBetween(scheduleInZone, timeZone, new Date(now.getTime() - 8 * HOUR), now, 500);
  if (past.length < 2) return undefined;
  const last = past[Math.max(0, past.length - 1 - Math.floor(rnd() * Math.min(6, past.length)))]!.toISOString();
  return { schedule: scheduleInZone, timeZone, created: now, last };
}

/** The decision when it is the same at every resume instant in the window. */
function stableDecision(c: Candidate): { predicted: string | undefined; exact: string | undefined } | undefined {
  const now = c.created.getTime();
  const probes = [0, 10_000, 20_000, 30_000, WINDOW].map((d) => decide(c, new Date(now + d)));
  const first = probes[0]!;
  return probes.every((p) => p.predicted === first.predicted && p.exact === first.exact) ? first : undefined;
}

const keyOf = (c: { schedule: string; timeZone?: string | undefined; lastScheduleTime: string }): string => `${c.schedule}|${c.timeZone}|${c.lastScheduleTime}`;

/** The case a new candidate makes, unless an equal one was seen or its decision depends on the instant. */
function caseOf(c: Candidate | undefined, { index, seen }: { index: number; seen: Set<string> }): Case | undefined {
  if (!c || seen.has(keyOf({ ...c, lastScheduleTime: c.last }))) return undefined;
  const decision = stableDecision(c);
  if (!decision) return undefined;
  const { predicted, exact } = decision;
  return {
    name: `d${index}`,
    schedule: c.schedule,
    ...(c.timeZone ? { timeZone: c.timeZone } : {}),
    lastScheduleTime: c.last,
    ...(predicted ? { predicted } : {}),
    ...(exact ? { exact } : {}),
    cluster: index % 2 === 0 ? 'blue' : 'green',
  };
}

function generate(now: Date, seed: number): Case[] {
  const rnd = random(seed);
  const cases: Case[] = [];
  const seen = new Set<string>();
  for (let attempt = 0; attempt < 4000 && cases.length < 48; attempt++) {
    const found = caseOf(candidate(now, rnd), { index: cases.length, seen });
    if (!found) continue;
    // Keep a balance: controller loses the tick / starts the latest / nothing missed.
    const bucket = bucketOf(found);
    if (cases.filter((k) => bucketOf(k) === bucket).length >= (bucket === 'none' ? 8 : 20)) continue;
    seen.add(keyOf(found));
    cases.push(found);
  }
  return cases;
}

const bucketOf = (c: Case): string => (c.exact !== undefined && c.predicted === undefined ? 'lost' : c.predicted !== undefined ? 'starts' : 'none');

function shiftHours(schedule: string, by: number): string {
  const [minute, hours, ...rest] = schedule.split(' ');
  const shifted = hours === '*' ? '*' : hours!.replace(/\d+/g, (h) => String(hourOf(Number(h) + by)));
  // A range that wrapped past midnight is no longer a valid range: fall back to a list of its hours.
  const fixed = shifted.replace(/(\d+)-(\d+)/g, (all, a: string, b: string) => (Number(a) <= Number(b) ? all : `${a},${b}`));
  return [minute, fixed, ...rest].join(' ');
}

/** The tick a Job ran, under the CronJob that owns it. */
function noteJobTick(found: Map<string, string[]>, job: V1Job): void {
  const meta = job.metadata ?? {};
  const owner = meta.ownerReferences?.find((o) => o.kind === 'CronJob')?.name ?? '?';
  const tick = meta.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'];
  found.set(owner, [...(found.get(owner) ?? []), tick ? new Date(tick).toISOString() : `unannotated ${meta.name}`]);
}

const template = { spec: { backoffLimit: 0, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'work', image: 'busybox' }] } } } };
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

describe('the real CronJob controller against mostRecentScheduleTime and the simulator', () => {
  test('creates exactly the predicted Jobs on resume, and none where the estimate loses the missed tick', { timeout: 180_000 }, async () => {
    const seed = Date.now() % 100_000;
    const namespaces = {
      blue: await createNamespace('blue', 'differential'),
      green: await createNamespace('green', 'differential'),
    };
    const batch = { blue: kubeConfigFor('blue').makeApiClient(BatchV1Api), green: kubeConfigFor('green').makeApiClient(BatchV1Api) };
    const created = new Date();
    const cases = generate(created, seed);
    const context = `seed ${seed}, generated at ${created.toISOString()}`;
    expect(cases.length, context).toBeGreaterThanOrEqual(40);
    expect(cases.filter((c) => bucketOf(c) === 'lost').length, `${context}: cases where the estimate loses a tick`).toBeGreaterThanOrEqual(5);

    await Promise.all(
      cases.map(async (c) => {
        const api = batch[c.cluster];
        const namespace = namespaces[c.cluster];
        await api.createNamespacedCronJob({
          namespace,
          body: { metadata: { name: c.name }, spec: { schedule: c.schedule, ...(c.timeZone ? { timeZone: c.timeZone } : {}), suspend: true, jobTemplate: template } },
        });
        await api.patchNamespacedCronJobStatus({ name: c.name, namespace, body: { status: { lastScheduleTime: c.lastScheduleTime } } }, mergePatch);
      }),
    );
    const resumedAt = new Date();
    expect(resumedAt.getTime() - created.getTime(), 'setup must stay within the window the cases were chosen for').toBeLessThan(WINDOW - 10_000);
    await Promise.all(
      cases.map((c) =>
        batch[c.cluster].patchNamespacedCronJob({ name: c.name, namespace: namespaces[c.cluster], body: { spec: { suspend: false } } }, mergePatch),
      ),
    );

    const jobsOf = async (): Promise<Map<string, string[]>> => {
      const found = new Map<string, string[]>();
      for (const cluster of ['blue', 'green'] as const) {
        const list = await batch[cluster].listNamespacedJob({ namespace: namespaces[cluster] });
        for (const job of list.items) noteJobTick(found, job);
      }
      return found;
    };
    const expected = cases.filter((c) => c.predicted !== undefined).length;
    await waitFor(
      `${expected} Jobs from the resumed CronJobs`,
      async () => {
        const jobs = await jobsOf();
        return [...jobs.values()].flat().length >= expected ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1_000 },
    );
    // The controller handles the resumed CronJobs together; give any Job it should not start time to show.
    await new Promise((r) => setTimeout(r, 6_000));
    const lab = await jobsOf();

    // The simulator, fed the same CronJobs at the same instants.
    const clock = new VirtualClock(created);
    const sim = new SimulatedCluster('sim', clock);
    for (const c of cases) {
      sim.addCronJob({ namespace: 'sim', name: c.name, schedule: c.schedule, ...(c.timeZone ? { timeZone: c.timeZone } : {}), suspend: true, creationTimestamp: created.toISOString(), lastScheduleTime: c.lastScheduleTime });
    }
    await clock.sleep(resumedAt.getTime() - created.getTime());
    for (const c of cases) await sim.setSuspend({ namespace: 'sim', name: c.name }, false);
    await clock.sleep(1_000);
    const simulated = new Map<string, string[]>();
    for (const job of sim.jobs()) simulated.set(job.ownerName!, [...(simulated.get(job.ownerName!) ?? []), job.scheduledTime!]);

    const rows = cases.map((c) => ({
      name: c.name,
      schedule: c.schedule,
      timeZone: c.timeZone ?? 'UTC',
      lastScheduleTime: c.lastScheduleTime,
      exact: c.exact ?? '-',
      lab: lab.get(c.name) ?? [],
      predicted: c.predicted ? [c.predicted] : [],
      simulated: simulated.get(c.name) ?? [],
    }));
    const mismatches = rows.filter((r) => JSON.stringify(r.lab) !== JSON.stringify(r.predicted) || JSON.stringify(r.simulated) !== JSON.stringify(r.predicted));
    expect(mismatches, `${context}\n${JSON.stringify(mismatches, null, 1)}`).toEqual([]);
    // The bug, on the real controller: a tick was missed, and it started nothing.
    const lost = rows.filter((r) => r.exact !== '-' && r.lab.length === 0);
    expect(lost.length, context).toBeGreaterThanOrEqual(5);
    console.info(`differential: ${rows.length} CronJobs (${lost.length} lost a missed tick on the real controller), ${context}`);
  });
});
