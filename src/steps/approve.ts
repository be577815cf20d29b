// `approve:` steps: a human decides whether the run goes on. The approvers are shown what has happened so
// far (steps done, the traffic split, gate evidence) and what approving will do; the run waits until the
// decision or the step's absolute deadline. Every outcome (approved, rejected, timed out, answered by
// `--approve`) is recorded in the journal and in the step's progress, with who decided, when and where.
//
// Idempotent: the decision is persisted before it is acted on, so a crash after a decision does not ask
// again; a resume after a rejection or a timeout is a new attempt with a fresh deadline and a new message.
import type { ApproveStep } from '../config/types.js';
import { formatDuration } from '../core/duration.js';
import { gateTitle } from '../machine/labels.js';
import { HaltError, InputError } from '../core/errors.js';
import type { ApprovalPort, ApprovalRequest, Decision } from '../core/ports.js';
import type { StepPlanEntry } from '../plan/types.js';
import type { JsonValue, RunContext, StepExecutor, StepRuntime } from './types.js';

export const approve: StepExecutor<ApproveStep> = async (rt) => {
  const attempt = attemptOf(rt.progress.data);
  const stored = storedDecision(rt.progress.data, attempt);
  const decision = stored ?? (await decide(rt, attempt));
  if (!stored) await record(rt, decision, attempt);
  if (decision.outcome === 'approved') return outputOf(rt, decision);
  await rt.update({ haltedAttempts: attempt });
  throw haltFor(rt, decision);
};

type Rt = StepRuntime<ApproveStep>;

/** A resume after a halt (rejected, timed out) is a new attempt; a crash-resume continues the current one. */
function attemptOf(data: Record<string, JsonValue>): number {
  return typeof data.haltedAttempts === 'number' ? data.haltedAttempts + 1 : 1;
}

async function decide(rt: Rt, attempt: number): Promise<Decision> {
  const deadline = await rt.deadline(attempt === 1 ? 'approval' : `approval-${attempt}`, rt.step.timeoutMs);
  if (rt.run.autoApprove) return answerNonInteractively(rt, deadline);
  const port = portFor(rt);
  const request = buildRequest(rt, deadline, attempt);
  const awaited = `${rt.label} (${request.required} of ${request.approvers.join(', ')})`;
  rt.run.reporter.waiting(awaited, deadline);
  await rt.run.journal.append({
    type: 'wait',
    step: rt.index,
    message: `waiting for approval via ${rt.step.via} until ${deadline.toISOString()}`,
    data: { via: rt.step.via, approvers: request.approvers, required: request.required, deadline: deadline.toISOString(), attempt },
  });
  const decision = await port.requestApproval(request, rt.signal);
  rt.run.reporter.waitOver?.(awaited, decision.outcome);
  return decision;
}

function portFor(rt: Rt): ApprovalPort {
  const port = rt.run.ports.approvals[rt.step.via];
  if (port) return port;
  const where =
    rt.step.via === 'slack'
      ? `environment ${rt.run.loaded.environment.name} (${rt.run.loaded.environmentFile}) has no slack section`
      : 'this run has no terminal';
  throw new InputError(`step ${rt.index + 1} (${rt.label}) asks for approval via ${rt.step.via}, but ${where}`);
}

/** `execute --approve`: only where the environment is marked as one nobody needs to watch (rehearsals, CI). */
async function answerNonInteractively(rt: Rt, deadline: Date): Promise<Decision> {
  const { environment, environmentFile } = rt.run.loaded;
  if (!environment.allowNonInteractiveApproval) {
    throw new HaltError(
      `--approve refused at step ${rt.index + 1} (${rt.label}): environment ${environment.name} does not allow non-interactive approval`,
      `Run without --approve to have the step approved by a person, or set allowNonInteractiveApproval: true in ${environmentFile} (rehearsal environments only).`,
    );
  }
  const auto = rt.run.ports.approvals.auto;
  if (auto) return auto.requestApproval(buildRequest(rt, deadline, 1), rt.signal);
  const at = rt.run.clock.now().toISOString();
  const by = `${rt.run.startedBy} (--approve)`;
  return { outcome: 'approved', by: [by], at, votes: [{ by, at }] };
}

function buildRequest(rt: Rt, deadline: Date, attempt: number): ApprovalRequest {
  const slack = rt.run.loaded.environment.slack;
  const approvers = rt.step.via === 'terminal' ? [rt.run.startedBy] : (rt.step.approvers ?? slack?.approvers ?? []);
  const waiting = attempt === (rt.progress.data.waitingAttempt ?? 1) ? stringsOf(rt.progress.data.waiting) : undefined;
  return {
    runId: rt.run.runId,
    stepIndex: rt.index,
    stepName: rt.label,
    ...(rt.step.message ? { message: rt.step.message } : {}),
    summary: approvalSummary(rt.run, rt.index),
    effect: approvalEffect(rt.run, rt.index),
    approvers,
    required: rt.step.required,
    deadline,
    startedBy: rt.run.startedBy,
    ...(waiting ? { resume: waiting } : {}),
    remember: (data) => rt.update({ waiting: data, waitingAttempt: attempt }),
  };
}

function stringsOf(value: JsonValue | undefined): Record<string, string> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const entries = Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string');
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

/** Persists the decision first (a crash then does not ask again), then writes the audit entry. */
async function record(rt: Rt, decision: Decision, attempt: number): Promise<void> {
  const data = decisionData(rt, decision);
  await rt.update({ decision: { ...data, attempt } });
  await rt.run.journal.append({ type: 'decision', step: rt.index, message: describeDecision(rt.label, decision), data });
  rt.run.reporter.info(describeDecision(rt.label, decision));
}

function decisionData(rt: Rt, decision: Decision): Record<string, JsonValue> {
  const data: Record<string, JsonValue> = {
    step: rt.label,
    via: rt.run.autoApprove ? 'non-interactive' : rt.step.via,
    outcome: decision.outcome,
    at: decision.at,
  };
  if (decision.outcome === 'approved') data.by = decision.by;
  if (decision.outcome === 'rejected') Object.assign(data, { by: decision.by, reason: decision.reason });
  const approvedBy = decision.outcome === 'approved' ? undefined : decision.approvedBy;
  if (approvedBy?.length) data.approvedBy = approvedBy;
  if (decision.votes?.length) data.votes = decision.votes.map((v) => ({ by: v.by, at: v.at }));
  if (decision.link) data.link = decision.link;
  return data;
}

/** The decision of the current attempt, as persisted before a crash; undefined when none was reached yet. */
function storedDecision(data: Record<string, JsonValue>, attempt: number): Decision | undefined {
  const d = data.decision;
  if (typeof d !== 'object' || d === null || Array.isArray(d) || d.attempt !== attempt) return undefined;
  const at = String(d.at ?? '');
  const link = typeof d.link === 'string' ? { link: d.link } : {};
  const approvedBy = Array.isArray(d.approvedBy) ? d.approvedBy.map(String) : [];
  switch (d.outcome) {
    case 'approved':
      return { outcome: 'approved', by: Array.isArray(d.by) ? d.by.map(String) : [], at, ...link };
    case 'rejected':
      return { outcome: 'rejected', by: String(d.by ?? ''), at, reason: String(d.reason ?? ''), approvedBy, ...link };
    case 'timeout':
      return { outcome: 'timeout', at, approvedBy, ...link };
    default:
      return undefined;
  }
}

function outputOf(rt: Rt, decision: Decision & { outcome: 'approved' }): Record<string, JsonValue> {
  return { ...decisionData(rt, decision), summary: describeDecision(rt.label, decision) };
}

export function describeDecision(label: string, decision: Decision): string {
  const link = decision.link ? ` (${decision.link})` : '';
  switch (decision.outcome) {
    case 'approved':
      return `${label}: approved by ${decision.by.join(', ')} at ${decision.at}${link}`;
    case 'rejected':
      return `${label}: rejected by ${decision.by} at ${decision.at}: ${decision.reason}${link}`;
    case 'timeout': {
      const some = decision.approvedBy.length ? ` (approved only by ${decision.approvedBy.join(', ')})` : '';
      return `${label}: no decision before the deadline${some}, ${decision.at}${link}`;
    }
  }
}

function haltFor(rt: Rt, decision: Decision): HaltError {
  const what = describeDecision(rt.label, decision);
  const next =
    decision.outcome === 'timeout'
      ? `Nobody decided within ${formatDuration(rt.step.timeoutMs)}. Resume the run to ask again (a new message, a fresh deadline).`
      : 'Resume the run to ask again once the reason is dealt with, or roll back.';
  return new HaltError(what, next);
}

// ---- What the approvers are shown ------------------------------------------------------------------------

type RunView = Pick<RunContext, 'plan' | 'outputs' | 'loaded'>;

function isRecord(value: JsonValue | undefined): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One line per earlier step, the traffic split now, and the gates' evidence, for people deciding on a phone. */
export function approvalSummary(run: RunView, index: number): string {
  const { runbook } = run.loaded;
  const done = run.plan.steps.filter((s) => s.index < index);
  const lines = [`Runbook ${runbook.name}: ${runbook.from} → ${runbook.to} (${run.loaded.environment.name}).`];
  lines.push(done.length ? 'Steps done:' : 'No step has run yet.');
  for (const entry of done) lines.push(`  ${entry.index + 1}. ${entry.label}: ${stepResult(entry, run.outputs[entry.index])}`);
  lines.push(`Traffic now: ${trafficSplit(run, index)}`);
  return lines.join('\n');
}

function stepResult(entry: StepPlanEntry, output: Record<string, JsonValue> | undefined): string {
  if (typeof output?.summary === 'string') return output.summary;
  if (entry.kind === 'shiftTraffic') return `${typeof output?.percent === 'number' ? output.percent : entry.percent}% of traffic to the target`;
  if (entry.kind === 'moveCronJobs') return `${entry.count} CronJob${entry.count === 1 ? '' : 's'} moved`;
  return 'done';
}

/** The split after the latest shift step's output; before any shift, the split the plan observed. */
export function trafficSplit(run: RunView, index: number): string {
  for (let i = index - 1; i >= 0; i--) {
    const shares = run.outputs[i]?.shares;
    if (isRecord(shares)) return describeShares(shares);
  }
  const firstShift = run.plan.steps.find((s) => s.kind === 'shiftTraffic');
  if (firstShift?.kind !== 'shiftTraffic' || firstShift.groups.length === 0) return 'no weighted DNS records in this runbook';
  return firstShift.groups.map((g) => `${g.name} ${g.type}: ${formatShares(g.before)}`).join('; ');
}

function describeShares(shares: { [key: string]: JsonValue }): string {
  const groups = Object.entries(shares).map(([key, list]) => {
    const parts = Array.isArray(list) ? list.filter(isRecord) : [];
    const text = formatShares(parts.map((p) => ({ setIdentifier: String(p.setIdentifier), percent: Number(p.percent) })));
    return `${key.replace('|', ' ')}: ${text}`;
  });
  return groups.join('; ') || 'unknown';
}

function formatShares(shares: { setIdentifier: string; percent: number }[]): string {
  return shares.map((s) => `${s.setIdentifier} ${Math.round(s.percent * 10) / 10}%`).join(' · ');
}

/** What happens after approval: the steps up to the next approval (or the end of the run). */
export function approvalEffect(run: RunView, index: number): string {
  const { from, to } = run.loaded.runbook;
  const parts: string[] = [];
  for (const entry of run.plan.steps.filter((s) => s.index > index)) {
    if (entry.kind === 'approve') {
      parts.push(`then wait for the next approval (${entry.label})`);
      break;
    }
    parts.push(`${entry.index + 1}. ${effectOf(entry, from, to)}`);
  }
  return parts.length ? `continue with: ${parts.join('; ')}` : 'finish the run';
}

function effectOf(entry: StepPlanEntry, from: string, to: string): string {
  switch (entry.kind) {
    case 'shiftTraffic':
      return `send ${entry.percent}% of traffic to ${to}${entry.soakMs ? `, soak ${formatDuration(entry.soakMs)}` : ''}`;
    case 'moveCronJobs':
      return `move ${entry.count} CronJob${entry.count === 1 ? '' : 's'} from ${from} to ${to}`;
    case 'gate':
      return `${gateTitle(entry.label)} (${entry.gateType}, up to ${formatDuration(entry.timeoutMs)})`;
    case 'preflight':
      return 'preflight checks';
    case 'approve':
      return entry.label;
  }
}
