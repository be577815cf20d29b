import { describe, expect, it } from 'vitest';
import type { V1CronJob, V1Job, V1JobCondition } from '@kubernetes/client-node';
import { detectManagedBy, jobOutcome, toObservedCronJob, toObservedJob } from '../../src/adapters/k8s/convert.js';
import { lastScheduleTimePatch, suspendPatch } from '../../src/adapters/k8s/patches.js';
import { InputError } from '../../src/core/errors.js';

function cronJob(overrides: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}): V1CronJob {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: {
      namespace: 'billing',
      name: 'invoices',
      uid: 'cj-uid-1',
      resourceVersion: '42',
      creationTimestamp: new Date('2025-03-01T10:00:00Z'),
      labels: overrides.labels ?? { team: 'billing' },
      annotations: overrides.annotations ?? {},
    },
    spec: {
      schedule: '*/5 * * * *',
      timeZone: 'Europe/Berlin',
      suspend: true,
      startingDeadlineSeconds: 120,
      concurrencyPolicy: 'Forbid',
      jobTemplate: {
        spec: {
          template: {
            spec: {
              containers: [
                { name: 'main', image: 'registry.example/invoices:1.2' },
                { name: 'sidecar', image: 'registry.example/proxy:3' },
              ],
            },
          },
        },
      },
    },
    status: {
      lastScheduleTime: new Date('2025-03-02T08:05:00Z'),
      lastSuccessfulTime: new Date('2025-03-02T08:05:09Z'),
    },
  };
}

function job(conditions: V1JobCondition[], extra: Partial<V1Job['metadata']> = {}): V1Job {
  return {
    metadata: {
      namespace: 'billing',
      name: 'invoices-29016485',
      uid: 'job-uid-1',
      creationTimestamp: new Date('2025-03-02T08:05:00Z'),
      ...extra,
    },
    status: { conditions },
  };
}

const condition = (type: string, status: string): V1JobCondition => ({ type, status });

describe('CronJob conversion', () => {
  it('carries schedule, suspend, times as ISO strings and the job template images in order', () => {
    const observed = toObservedCronJob(cronJob());
    expect(observed).toMatchObject({
      namespace: 'billing',
      name: 'invoices',
      uid: 'cj-uid-1',
      resourceVersion: '42',
      creationTimestamp: '2025-03-01T10:00:00.000Z',
      schedule: '*/5 * * * *',
      timeZone: 'Europe/Berlin',
      suspend: true,
      startingDeadlineSeconds: 120,
      concurrencyPolicy: 'Forbid',
      lastScheduleTime: '2025-03-02T08:05:00.000Z',
      lastSuccessfulTime: '2025-03-02T08:05:09.000Z',
      images: ['registry.example/invoices:1.2', 'registry.example/proxy:3'],
      labels: { team: 'billing' },
    });
    expect(observed.managedBy).toBeUndefined();
  });

  it('treats an unset suspend as enabled and leaves absent optional fields out', () => {
    const raw = cronJob();
    delete raw.spec!.suspend;
    delete raw.spec!.timeZone;
    delete raw.spec!.startingDeadlineSeconds;
    delete raw.spec!.concurrencyPolicy;
    raw.status = {};
    const observed = toObservedCronJob(raw);
    expect(observed.suspend).toBe(false);
    expect(observed.concurrencyPolicy).toBe('Allow');
    expect('timeZone' in observed).toBe(false);
    expect('lastScheduleTime' in observed).toBe(false);
    expect('startingDeadlineSeconds' in observed).toBe(false);
  });

  it('accepts timestamps given as strings as well as Dates', () => {
    const raw = cronJob();
    raw.status = { lastScheduleTime: '2025-03-02T08:05:00Z' as unknown as Date };
    expect(toObservedCronJob(raw).lastScheduleTime).toBe('2025-03-02T08:05:00.000Z');
  });
});

describe('managedBy detection', () => {
  it('recognises Helm by its managed-by label or its release annotation', () => {
    expect(detectManagedBy({ 'app.kubernetes.io/managed-by': 'Helm' }, {})).toBe('helm');
    expect(detectManagedBy({}, { 'meta.helm.sh/release-name': 'billing' })).toBe('helm');
    expect(toObservedCronJob(cronJob({ labels: { 'app.kubernetes.io/managed-by': 'Helm' } })).managedBy).toBe('helm');
  });

  it('does not take another managed-by value for Helm', () => {
    expect(detectManagedBy({ 'app.kubernetes.io/managed-by': 'kustomize' }, {})).toBeUndefined();
  });

  it('recognises Argo CD by its instance label or tracking-id annotation, even on a Helm chart', () => {
    expect(detectManagedBy({ 'argocd.argoproj.io/instance': 'billing' }, {})).toBe('argocd');
    expect(detectManagedBy({}, { 'argocd.argoproj.io/tracking-id': 'billing:batch/CronJob:billing/invoices' })).toBe('argocd');
    expect(
      detectManagedBy({ 'app.kubernetes.io/managed-by': 'Helm', 'argocd.argoproj.io/instance': 'billing' }, {}),
    ).toBe('argocd');
  });

  it('recognises Flux kustomize and helm controllers, ahead of the Helm marks the helm-controller leaves', () => {
    expect(detectManagedBy({ 'kustomize.toolkit.fluxcd.io/name': 'apps' }, {})).toBe('flux');
    expect(
      detectManagedBy(
        { 'helm.toolkit.fluxcd.io/name': 'billing', 'app.kubernetes.io/managed-by': 'Helm' },
        { 'meta.helm.sh/release-name': 'billing' },
      ),
    ).toBe('flux');
  });
});

describe('Job conversion', () => {
  it('is not finished on SuccessCriteriaMet alone: pods may still be terminating', () => {
    expect(jobOutcome([condition('SuccessCriteriaMet', 'True')])).toBeUndefined();
    expect(toObservedJob(job([condition('SuccessCriteriaMet', 'True')])).outcome).toBeUndefined();
  });

  it('is not finished on FailureTarget alone', () => {
    expect(jobOutcome([condition('FailureTarget', 'True')])).toBeUndefined();
  });

  it('is Complete once the Complete condition is True', () => {
    const conditions = [condition('SuccessCriteriaMet', 'True'), condition('Complete', 'True')];
    expect(toObservedJob(job(conditions)).outcome).toBe('Complete');
  });

  it('is Failed once the Failed condition is True', () => {
    expect(jobOutcome([condition('FailureTarget', 'True'), condition('Failed', 'True')])).toBe('Failed');
  });

  it('ignores Complete or Failed conditions that are not True', () => {
    expect(jobOutcome([condition('Complete', 'False'), condition('Failed', 'Unknown')])).toBeUndefined();
    expect(jobOutcome(undefined)).toBeUndefined();
  });

  it('takes ownerUid from the controller ownerReference of kind CronJob only', () => {
    const owned = job([], {
      ownerReferences: [
        { apiVersion: 'v1', kind: 'ConfigMap', name: 'other', uid: 'not-me', controller: false },
        { apiVersion: 'batch/v1', kind: 'CronJob', name: 'invoices', uid: 'cj-uid-1', controller: true },
      ],
    });
    expect(toObservedJob(owned)).toMatchObject({ ownerUid: 'cj-uid-1', ownerName: 'invoices' });

    const notController = job([], {
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'invoices', uid: 'cj-uid-1' }],
    });
    expect(toObservedJob(notController).ownerUid).toBeUndefined();
  });

  it('reads the tick a Job is for from the cronjob-scheduled-timestamp annotation', () => {
    const scheduled = job([], {
      annotations: { 'batch.kubernetes.io/cronjob-scheduled-timestamp': '2025-03-02T08:05:00Z' },
    });
    const observed = toObservedJob(scheduled);
    expect(observed.scheduledTime).toBe('2025-03-02T08:05:00.000Z');
    expect(observed.creationTimestamp).toBe('2025-03-02T08:05:00.000Z');
  });
});

describe('patch bodies', () => {
  it('suspend is a merge patch of spec.suspend only', () => {
    expect(suspendPatch(true)).toEqual({ spec: { suspend: true } });
    expect(suspendPatch(false)).toEqual({ spec: { suspend: false } });
  });

  it('lastScheduleTime is written with whole seconds, as Kubernetes stores it', () => {
    expect(lastScheduleTimePatch('2025-03-02T08:05:00.000Z')).toEqual({
      status: { lastScheduleTime: '2025-03-02T08:05:00Z' },
    });
    expect(lastScheduleTimePatch('2025-03-02T09:05:00+01:00').status.lastScheduleTime).toBe('2025-03-02T08:05:00Z');
  });

  it('refuses a time that is not ISO-8601', () => {
    expect(() => lastScheduleTimePatch('yesterday')).toThrow(InputError);
  });
});
