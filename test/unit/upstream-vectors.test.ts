// Upstream's own test tables (robfig/cron v3.0.1, kube-controller-manager v1.34.4), transcribed as data in
// test/vectors/, run against cutover's schedule math and its model of the CronJob controller (issue 12).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  controllerJobName,
  mostRecentScheduleTime,
  nextScheduleTime,
  nextSyncAt,
  syncCronJob,
  type SyncApi,
  type SyncCronJob,
  type SyncJob,
} from '../../src/plan/controller.js';
import { controllerSchedule } from '../../src/plan/schedule.js';

const vectors = (file: string): any => JSON.parse(readFileSync(new URL(`../vectors/${file}`, import.meta.url), 'utf8'));
/** Rows for it.each: a title and the vector. */
const rows = (list: any[], title: (v: any) => string): [string, any][] => list.map((v) => [title(v), v]);
const at = (iso: string): number => Date.parse(iso);
const isoOrNull = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());
const norm = (iso: string | null): string | null => (iso === null ? null : new Date(iso).toISOString());

function nextOf(schedule: string, timeZone: string | undefined, after: string): string | null {
  const parsed = controllerSchedule(schedule, timeZone);
  if ('problem' in parsed) throw new Error(`${schedule}: ${parsed.problem}`);
  return isoOrNull(parsed.next(at(after)));
}

describe('robfig/cron v3.0.1 spec_test.go', () => {
  const spec = vectors('robfig-spec.json');
  it.each(rows(spec.activation, (v) => `${v.schedule} at ${v.time}`))('activation: %s', (_n, v: any) => {
    const next = nextOf(v.schedule, undefined, new Date(at(v.time) - 1000).toISOString());
    expect(next === norm(v.time)).toBe(v.activates);
  });
  it.each(rows(spec.next, (v) => `${v.schedule} ${v.timeZone ?? ''} after ${v.after}`))('next: %s', (_n, v: any) => {
    expect(nextOf(v.schedule, v.timeZone, v.after)).toBe(norm(v.next));
  });
  it.each(rows(spec.nextWithFixedOffset, (v) => `${v.schedule} after ${v.after}`))('next at a fixed offset: %s', (_n, v: any) => {
    expect(nextOf(v.schedule, v.timeZone, v.after)).toBe(norm(v.next));
  });
  it.each(rows(spec.errors, (s) => s))('rejects %j', (s: string) => {
    expect(controllerSchedule(s, undefined)).toHaveProperty('problem');
  });
});

describe('robfig/cron v3.0.1 parser_test.go (standard parser)', () => {
  const parser = vectors('robfig-parser.json');
  it.each(rows(parser.accepted, (v) => v.schedule))('accepts %j', (_s, v: any) => {
    expect(nextOf(v.schedule, undefined, v.after)).toBe(norm(v.next));
  });
  it.each(rows(parser.rejected, (v) => v.schedule))('rejects %j', (_s, v: any) => {
    expect(controllerSchedule(v.schedule, undefined)).toHaveProperty('problem');
  });
});

describe('kube-controller-manager v1.34.4 mostRecentScheduleTime', () => {
  const table = vectors('k8s-most-recent-schedule-time.json');
  it.each(rows(table.cases, (v) => v.name))('%s', (_n, v: any) => {
    const got = mostRecentScheduleTime(v, new Date(v.now), v.withStartingDeadline);
    if (v.expect.error) {
      expect(got.error).toBeDefined();
      expect(got.tick).toBeUndefined();
      return;
    }
    expect(got.error).toBeUndefined();
    expect(got.earliest.toISOString()).toBe(norm(v.expect.earliest));
    expect(got.tick?.toISOString() ?? null).toBe(norm(v.expect.tick));
    expect(got.missed).toBe(v.expect.missed);
  });
});

describe('kube-controller-manager v1.34.4 nextScheduleTime and its requeue', () => {
  const table = vectors('k8s-next-schedule-time.json');
  it.each(rows(table.nextScheduleTime, (v) => v.name))('%s', (_n, v: any) => {
    const got = nextScheduleTime(v, new Date(v.now));
    if (v.expect.someTick) expect(got.tick).toBeDefined();
    else expect(got.tick?.toISOString() ?? null).toBe(norm(v.expect.tick));
    expect(got.error !== undefined).toBe(v.expect.error === true);
  });
  it.each(rows(table.nextScheduleTimeDuration, (v) => v.name))('%s', (_n, v: any) => {
    const now = new Date(v.now);
    expect(nextSyncAt(v, now)!.getTime() - now.getTime()).toBe(v.expect.requeueAfterMs);
  });
});

const ZERO = '0001-01-01T00:00:00.000Z';
const given = (iso: string | undefined): string | undefined => (iso === undefined || iso === ZERO ? undefined : iso);

/** The upstream test's fixture for one row: the CronJob, the Jobs it owns and fake API calls. */
function fixture(v: any, h: any) {
  const spec: Omit<SyncCronJob, 'creationTimestamp' | 'active'> = {
    namespace: h.cronJob.namespace,
    name: h.cronJob.name,
    uid: h.cronJob.uid,
    schedule: v.schedule ?? '',
    ...(v.timeZone !== undefined ? { timeZone: v.timeZone } : {}),
    suspend: v.suspend === true,
    concurrencyPolicy: v.concurrencyPolicy ?? '',
    ...(v.startingDeadlineSeconds !== undefined ? { startingDeadlineSeconds: v.startingDeadlineSeconds } : {}),
  };
  const fresh: SyncCronJob = { ...spec, creationTimestamp: h.cronJob.creationTimestamp, active: [] };
  let cj: SyncCronJob = { ...spec, creationTimestamp: given(v.cronjobCreationTime) ?? h.cronJob.creationTimestamp, active: [] };
  const jobs: SyncJob[] = [];
  let job: SyncJob | undefined;
  if (v.ranPreviously) {
    const created = v.jobCreationTime as string;
    job = { name: controllerJobName(h.cronJob.name, new Date(created)), uid: '1234', controllerUid: h.cronJob.uid };
    cj = {
      ...cj,
      creationTimestamp: given(v.cronjobCreationTime) ?? '2016-05-19T08:59:00.000Z',
      lastScheduleTime: given(v.lastScheduleTime) ?? '2016-05-19T09:01:00.000Z',
      active: v.jobPresentInCJActiveStatus ? [{ name: job.name, uid: job.uid }] : [],
    };
    if (v.stillActive) fresh.active = [{ name: job.name, uid: job.uid }];
    else job = { ...job, finished: 'Complete', completionTime: new Date(Date.parse(created) + 10_000).toISOString() };
    if (!v.jobStillNotFoundInLister) jobs.push(job);
  }
  const calls = { created: 0, deleted: 0 };
  const failure = (e: string): { error: string } => ({ error: e });
  const api: SyncApi = {
    getCronJob: () => ({ ok: fresh }),
    getJob: () => (v.jobGetErr ? failure(v.jobGetErr) : job ? { ok: job } : { notFound: true }),
    createJob: (name) => {
      if (v.jobCreateError === 'AlreadyExists') return { exists: true };
      if (v.jobCreateError === 'NamespaceTerminating') return { terminating: true };
      if (v.jobCreateError) return failure(v.jobCreateError);
      calls.created += 1;
      return { ok: { name, uid: 'test-uid', controllerUid: h.cronJob.uid } };
    },
    deleteJob: () => {
      if (v.jobGetErr) return failure(v.jobGetErr);
      calls.deleted += 1;
      return { ok: true };
    },
  };
  return { cj, jobs, api, calls };
}

describe('kube-controller-manager v1.34.4 syncCronJob (TestControllerV2SyncCronJob)', () => {
  const table = vectors('k8s-sync-cronjob.json');
  it.each(rows(table.cases, (v) => v.name))('%s', (_n, v: any) => {
    const { cj, jobs, api, calls } = fixture(v, table.harness);
    const got = syncCronJob(cj, jobs, new Date(v.now), api);
    const e = v.expect;
    expect(calls.created).toBe(e.create ? 1 : 0);
    expect(calls.deleted).toBe(e.delete ? 1 : 0);
    // Upstream checks only that an expected error came (it returns one in rows that do not name it too).
    if (e.error) expect(got.error).toBeDefined();
    expect(got.updateStatus).toBe(e.updateStatus);
    const warnings = got.events.filter((ev) => ev.type === 'Warning').length;
    expect(warnings).toBe(e.warnings);
    const extra = v.name === 'still active, is time, F' ? 1 : 0;
    expect(got.events.length).toBe(Number(e.create) + Number(e.delete) + Number(e.completed) + e.warnings + extra);
    if (e.requeueAfterMs !== undefined) expect(got.requeueAfterMs).toBe(e.requeueAfterMs);
    if (v.ranPreviously && !v.stillActive) {
      expect(got.cronJob.lastSuccessfulTime).toBe(new Date(Date.parse(v.jobCreationTime) + 10_000).toISOString());
    }
  });
});

describe('kube-controller-manager v1.34.4 syncCronJob when the Job already exists', () => {
  const table = vectors('k8s-sync-cronjob.json');
  const h = table.harness.cronJob;
  it.each(rows(table.alreadyExists.cases, (v) => v.name))('%s', (_n, v: any) => {
    const cj: SyncCronJob = {
      namespace: h.namespace,
      name: h.name,
      uid: h.uid,
      schedule: '@every 1h',
      suspend: false,
      concurrencyPolicy: 'Forbid',
      creationTimestamp: h.creationTimestamp,
      lastScheduleTime: '2016-05-19T08:59:00.000Z',
      active: [],
    };
    const existing: SyncJob = {
      name: controllerJobName(h.name, new Date('2016-05-19T09:01:00Z')),
      uid: '1234',
      ...(v.controlledByCronJob ? { controllerUid: h.uid } : {}),
    };
    const api: SyncApi = {
      getCronJob: () => ({ ok: cj }),
      getJob: () => ({ ok: existing }),
      createJob: () => ({ exists: true }),
      deleteJob: () => ({ error: 'unexpected delete' }),
    };
    const got = syncCronJob(cj, [], new Date('2016-05-19T09:59:00Z'), api);
    expect(got.updateStatus).toBe(v.expect.updateStatus);
    if (got.updateStatus) expect(got.cronJob.active.map((a) => a.uid)).toEqual(v.expect.active);
    expect(got.events).toEqual([]);
  });
});
