// Plan files: `cutover plan --out` writes `{ version, plan }`; `cutover execute --plan` reads it back and
// refuses it when the world has changed in a way that matters (planChanges).
import { readFile, stat, writeFile } from 'node:fs/promises';
import { formatDuration } from '../core/duration.js';
import { InputError } from '../core/errors.js';
import { refKey } from '../core/types.js';
import type { CronJobPlanEntry, CronJobSide, Plan, PlanFile, RecordShare, StepPlanEntry } from './types.js';
import { PLAN_VERSION } from './types.js';

export async function writePlanFile(path: string, plan: Plan): Promise<void> {
  const file: PlanFile = { version: PLAN_VERSION, plan };
  await writeFile(path, `${JSON.stringify(file, null, 2)}\n`, 'utf8');
}

export async function readPlanFile(path: string): Promise<Plan> {
  const text = await readText(path);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${path}: not a plan file: invalid JSON (${(error as Error).message}); write one with \`cutover plan --out ${path}\``);
  }
  return planOf(parsed, path);
}

async function readText(path: string): Promise<string> {
  // A FIFO or device would block the read forever: only a regular file is a plan.
  const info = await stat(path).catch(() => undefined);
  if (info && !info.isFile()) {
    throw new InputError(`${path}: ${info.isDirectory() ? 'is a folder' : 'is not a regular file (a pipe or a device)'}; expected a plan file written by \`cutover plan --out\``);
  }
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? (error as Error).message})`;
    throw new InputError(`${path}: plan file ${why}; write one with \`cutover plan --out ${path}\``);
  }
}

function planOf(parsed: unknown, path: string): Plan {
  if (typeof parsed !== 'object' || parsed === null || !('version' in parsed)) {
    throw new InputError(`${path}: not a plan file: expected an object with "version" and "plan"`);
  }
  const { version, plan } = parsed as { version: unknown; plan?: unknown };
  if (version !== PLAN_VERSION) {
    throw new InputError(
      `${path}: unsupported plan file version: expected version ${PLAN_VERSION}, received ${JSON.stringify(version)}; ` +
        'make a new plan with this version of cutover',
    );
  }
  if (!looksLikePlan(plan)) throw new InputError(`${path}: not a plan file: "plan" lacks runbook, cronJobs or steps`);
  return plan;
}

function looksLikePlan(plan: unknown): plan is Plan {
  if (typeof plan !== 'object' || plan === null) return false;
  const p = plan as Partial<Plan>;
  return typeof p.runbook === 'string' && Array.isArray(p.cronJobs) && Array.isArray(p.steps) && Array.isArray(p.messages);
}

/**
 * What changed between the world a saved plan saw and the world now, in words; empty when the saved plan
 * still holds. Only changes that alter what execute does, or what the operator approved, count: ticks that
 * ran on an enabled copy as scheduled (a later lastScheduleTime, new Jobs of those ticks) are the world
 * going on as planned, and the handoff reads both copies again anyway.
 */
export function planChanges(saved: Plan, fresh: Plan): string[] {
  const identity = identityChanges(saved, fresh);
  if (identity.length > 0) return identity;
  const observed =
    saved.fingerprint === fresh.fingerprint
      ? []
      : [...cronJobChanges(saved, fresh), ...targetOnlyChanges(saved, fresh), ...weightChanges(saved, fresh)];
  return [...observed, ...stepChanges(saved, fresh)];
}

/** The runbook's steps as planned (weights and CronJob counts are compared elsewhere). */
function stepChanges(saved: Plan, fresh: Plan): string[] {
  const lines: string[] = [];
  const count = Math.max(saved.steps.length, fresh.steps.length);
  for (let i = 0; i < count; i++) {
    const old = stepText(saved.steps[i]);
    const now = stepText(fresh.steps[i]);
    if (old !== now) lines.push(`step ${i + 1}: ${old} → ${now}`);
  }
  return lines;
}

function stepText(step: StepPlanEntry | undefined): string {
  if (!step) return '(none)';
  switch (step.kind) {
    case 'preflight':
    case 'moveCronJobs':
      return step.label;
    case 'shiftTraffic':
      return `${step.label} (${step.percent}%, soak ${formatDuration(step.soakMs)})`;
    case 'gate':
      return `${step.label} (${step.gateType}, timeout ${formatDuration(step.timeoutMs)})`;
    case 'approve':
      return `${step.label} (via ${step.via}, ${step.required} of ${step.approvers.join(', ') || 'anyone'}, timeout ${formatDuration(step.timeoutMs)})`;
  }
}

function identityChanges(saved: Plan, fresh: Plan): string[] {
  const describe = (p: Plan): string => `runbook ${p.runbook} (environment ${p.environment}), ${p.from} → ${p.to}`;
  return describe(saved) === describe(fresh) ? [] : [`the saved plan is for ${describe(saved)}; this run is ${describe(fresh)}`];
}

function cronJobChanges(saved: Plan, fresh: Plan): string[] {
  const before = new Map(saved.cronJobs.map((e) => [refKey(e.ref), e]));
  const after = new Map(fresh.cronJobs.map((e) => [refKey(e.ref), e]));
  const lines: string[] = [];
  for (const [key, entry] of after) {
    const old = before.get(key);
    if (!old) lines.push(`${key}: appeared on ${fresh.from} (action ${entry.action})`);
    else lines.push(...entryChanges(key, old, entry, fresh));
  }
  for (const key of before.keys()) if (!after.has(key)) lines.push(`${key}: no longer on ${saved.from} (or no longer selected)`);
  return lines;
}

function entryChanges(key: string, old: CronJobPlanEntry, now: CronJobPlanEntry, plan: Plan): string[] {
  const lines = [
    ...sideChanges(`${key} on ${plan.from}`, old.source, now.source),
    ...sideChanges(`${key} on ${plan.to}`, old.target, now.target),
  ];
  if (old.schedule !== now.schedule || old.timeZone !== now.timeZone) {
    lines.push(`${key}: schedule ${scheduleText(old)} → ${scheduleText(now)}`);
  }
  if (old.action !== now.action) lines.push(`${key}: action ${old.action} → ${now.action}`);
  return lines;
}

const scheduleText = (e: CronJobPlanEntry): string => `"${e.schedule}"${e.timeZone ? ` (${e.timeZone})` : ''}`;

function sideChanges(where: string, old: CronJobSide, now: CronJobSide): string[] {
  if (old.present !== now.present) return [`${where}: ${now.present ? 'appeared' : 'vanished'}`];
  if (!now.present) return [];
  if (old.uid !== now.uid) return [`${where}: recreated (uid ${old.uid ?? '?'} → ${now.uid ?? '?'})`];
  return presentSideChanges(where, old, now);
}

/** Changes to a copy present in both plans, the same object. */
function presentSideChanges(where: string, old: CronJobSide, now: CronJobSide): string[] {
  const lines: string[] = [];
  if (old.suspend !== now.suspend) lines.push(`${where}: suspend ${String(old.suspend)} → ${String(now.suspend)}`);
  const ranWhileSuspended = old.suspend === true && now.suspend === true;
  if (lastScheduleMoved(old, now, ranWhileSuspended)) {
    lines.push(`${where}: lastScheduleTime ${old.lastScheduleTime ?? 'never'} → ${now.lastScheduleTime ?? 'never'}`);
  }
  const started = now.activeJobs.filter((j) => !old.activeJobs.includes(j));
  if (ranWhileSuspended && started.length > 0) lines.push(`${where}: Jobs started while suspended: ${started.join(', ')}`);
  return lines;
}

/** Moving forward on an enabled copy is its schedule running; anything else means someone else acted. */
function lastScheduleMoved(old: CronJobSide, now: CronJobSide, suspendedThroughout: boolean): boolean {
  if (old.lastScheduleTime === now.lastScheduleTime) return false;
  if (old.lastScheduleTime === undefined || now.lastScheduleTime === undefined) return suspendedThroughout || now.lastScheduleTime === undefined;
  const forward = Date.parse(now.lastScheduleTime) > Date.parse(old.lastScheduleTime);
  return !forward || suspendedThroughout;
}

function targetOnlyChanges(saved: Plan, fresh: Plan): string[] {
  const subjects = (p: Plan): Set<string> =>
    new Set(p.messages.filter((m) => m.code === 'missing-on-source' && m.subject).map((m) => m.subject as string));
  const before = subjects(saved);
  const after = subjects(fresh);
  return [
    ...[...after].filter((s) => !before.has(s)).map((s) => `${s}: appeared on ${fresh.to} only`),
    ...[...before].filter((s) => !after.has(s)).map((s) => `${s}: no longer on ${saved.to} only`),
  ];
}

type ShiftEntry = Extract<StepPlanEntry, { kind: 'shiftTraffic' }>;

/** The first traffic step's "before" is the group as observed. */
function weightChanges(saved: Plan, fresh: Plan): string[] {
  const observed = (p: Plan): Map<string, RecordShare[]> => {
    const first = p.steps.find((s): s is ShiftEntry => s.kind === 'shiftTraffic');
    return new Map((first?.groups ?? []).map((g) => [`${g.name} ${g.type}`, g.before]));
  };
  const before = observed(saved);
  const after = observed(fresh);
  const lines: string[] = [];
  for (const group of new Set([...before.keys(), ...after.keys()])) {
    const old = weightsText(before.get(group));
    const now = weightsText(after.get(group));
    if (old !== now) lines.push(`DNS ${group}: weights ${old} → ${now}`);
  }
  return lines;
}

const weightsText = (shares: RecordShare[] | undefined): string =>
  shares ? shares.map((s) => `${s.setIdentifier}=${s.weight}`).sort().join(', ') : 'not read';
