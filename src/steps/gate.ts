// `gate:` steps: look, judge, look again after a pause, until the gate passes, fails for good, or its
// deadline passes. The deadline is absolute and stored, so a resumed gate keeps the time it had left.
// A failing gate halts with its evidence; whether traffic is then rolled back is the engine's call
// (`onFailure`). Every outcome is recorded in the journal with what the gate saw.
import path from 'node:path';
import type { GateSpec, GateStep } from '../config/types.js';
import { HaltError } from '../core/errors.js';
import { formatDuration } from '../core/duration.js';
import { gateTitle } from '../machine/labels.js';
import { alarmsCheck } from './gates/cloudwatch-alarms.js';
import { commandCheck } from './gates/command.js';
import { firstRunCheck } from './gates/cronjob-first-run.js';
import { healthChecksCheck } from './gates/route53-health-checks.js';
import { httpCheck } from './gates/http.js';
import { kubernetesCheck } from './gates/kubernetes.js';
import { pauseBefore } from './gates/poll.js';
import { API_POLL_MS } from './gates/types.js';
import type { GateCheck, Verdict } from './gates/types.js';
import type { JsonValue, RunContext, StepExecutor, StepRuntime } from './types.js';

export const gate: StepExecutor<GateStep> = async (rt) => {
  const check = scriptedCheck(rt) ?? checkFor(rt.step.gate, rt.run);
  // A crash-resume keeps the deadline; a resume after the gate halted gets a fresh one (a new attempt).
  const attempt = typeof rt.progress.data.haltedAttempts === 'number' ? rt.progress.data.haltedAttempts + 1 : 1;
  const until = await rt.deadline(attempt === 1 ? 'gate' : `gate-${attempt}`, rt.step.timeoutMs);
  const awaited = rt.step.name ? `${gateTitle(rt.label)} (${rt.step.gate.type})` : gateTitle(rt.label);
  rt.run.reporter.waiting(awaited, until);
  const { verdict, looks } = await lookUntilDecided(rt, check, until);
  rt.run.reporter.waitOver?.(awaited, `${verdict.status} after ${looks} look(s)`);
  const record: Record<string, JsonValue> = { gate: rt.step.gate.type, status: verdict.status, summary: verdict.summary, looks, evidence: verdict.evidence };
  await rt.run.journal.append({ type: 'gate', step: rt.index, message: `${gateTitle(rt.label)}: ${verdict.status}: ${verdict.summary}`, data: record });
  if (verdict.status === 'pass') {
    rt.run.reporter.info(`${gateTitle(rt.label)} passed: ${verdict.summary}`);
    return record;
  }
  await rt.update({ haltedAttempts: attempt });
  throw haltFor(rt, verdict, until);
};

/**
 * In a rehearsal the sandbox scripts gate health: an http or command gate must never reach a real system
 * from a simulated run. Gates the script does not mention look through the (simulated) ports as usual.
 */
function scriptedCheck(rt: StepRuntime<GateStep>): GateCheck | undefined {
  const script = rt.run.ports.scriptedGates;
  const type = rt.step.gate.type;
  const startedAt = new Date(rt.progress.startedAt ?? rt.run.clock.now().toISOString());
  if (!script || script.verdict(rt.label, type, startedAt, rt.run.clock.now()) === undefined) return undefined;
  return {
    intervalMs: API_POLL_MS,
    check: async () => {
      const verdict = script.verdict(rt.label, type, startedAt, rt.run.clock.now());
      return { status: verdict?.status ?? 'wait', summary: verdict?.summary ?? 'scripted', evidence: { scripted: true } };
    },
  };
}

/** The check of one gate type. Missing ports and bad settings are InputErrors, before anything is looked at. */
export function checkFor(spec: GateSpec, run: RunContext): GateCheck {
  const now = (): Date => run.clock.now();
  switch (spec.type) {
    case 'http':
      return httpCheck(spec, now);
    case 'cloudwatchAlarms':
      return alarmsCheck(spec, run.ports.alarms);
    case 'route53HealthChecks':
      return healthChecksCheck(spec, run.ports.healthChecks);
    case 'kubernetes':
      return kubernetesCheck(spec, run.ports.workloads);
    case 'command':
      return commandCheck(spec, path.dirname(path.resolve(run.loaded.runbookFile)), now);
    case 'cronjobFirstRun':
      return firstRunCheck(run.plan, Object.values(run.outputs), run.ports.clusters);
  }
}

async function lookUntilDecided(rt: StepRuntime<GateStep>, check: GateCheck, until: Date): Promise<{ verdict: Verdict; looks: number }> {
  let previous: string | undefined;
  for (let looks = 1; ; looks++) {
    const verdict = await check.check(until, rt.signal);
    if (verdict.status !== 'wait') return { verdict, looks };
    // Say what the gate waits for when it changes, not at every look.
    if (verdict.summary !== previous) rt.run.reporter.info(`${gateTitle(rt.label)}: ${verdict.summary}`);
    previous = verdict.summary;
    if (!(await pauseBefore(rt.run.clock, check.intervalMs, until, rt.signal))) return { verdict, looks };
  }
}

function haltFor(rt: StepRuntime<GateStep>, verdict: Verdict, until: Date): HaltError {
  const what =
    verdict.status === 'fail'
      ? `${gateTitle(rt.label)} failed: ${verdict.summary}`
      : `${gateTitle(rt.label)} did not pass within ${formatDuration(rt.step.timeoutMs)} (deadline ${until.toISOString()}): ${verdict.summary}`;
  return new HaltError(what, 'The evidence is in the run journal (`cutover status`). Fix the cause, then resume the run to look again.');
}
