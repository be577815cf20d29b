// The plan's fingerprint: sha256 over a canonical JSON of what execute depends on, so two plans of the same
// world have the same fingerprint whenever they were made. Not over observedAt, versions or messages.
// Canonical: every object below is built with its keys in a fixed order and every list is sorted, so
// JSON.stringify gives the same text for the same content.
import { createHash } from 'node:crypto';
import type { ObservedCronJob, ObservedJob } from '../core/types.js';
import { jobFinished, refKey } from '../core/types.js';
import type { Observation } from './types.js';
import { compareText } from './text.js';

type Canonical = string | number | boolean | null | Canonical[] | { [key: string]: Canonical };

export function fingerprintOf(observation: Observation, runbook: string): string {
  const content: Canonical = {
    runbook,
    from: observation.from,
    to: observation.to,
    cronJobs: cronJobsPart(observation),
    dns: dnsPart(observation),
  };
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}

function cronJobsPart(observation: Observation): Canonical {
  const source = sideIndex(observation.source);
  const target = sideIndex(observation.target);
  const keys = [...new Set([...source.keys(), ...target.keys()])].sort(compareText);
  return keys.map((key) => ({ ref: key, source: source.get(key) ?? null, target: target.get(key) ?? null }));
}

function sideIndex(side: Observation['source']): Map<string, Canonical> {
  const activeByOwner = new Map<string, string[]>();
  for (const job of side.jobs) {
    if (job.ownerUid === undefined || jobFinished(job)) continue;
    activeByOwner.set(job.ownerUid, [...(activeByOwner.get(job.ownerUid) ?? []), job.name]);
  }
  return new Map(side.cronJobs.map((c) => [refKey(c), copyPart(c, activeByOwner.get(c.uid) ?? [])]));
}

function copyPart(copy: ObservedCronJob, active: ObservedJob['name'][]): Canonical {
  return {
    uid: copy.uid,
    suspend: copy.suspend,
    schedule: copy.schedule,
    timeZone: copy.timeZone ?? null,
    lastScheduleTime: copy.lastScheduleTime ?? null,
    activeJobs: [...active].sort(compareText),
  };
}

function dnsPart(observation: Observation): Canonical {
  const groups = observation.dns ?? {};
  return Object.keys(groups)
    .sort(compareText)
    .map((key) => ({
      group: key,
      weights: (groups[key] ?? [])
        .map((r) => [r.setIdentifier, r.weight] as [string, number])
        .sort(([a], [b]) => compareText(a, b)),
    }));
}
