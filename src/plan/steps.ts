// One plan entry per runbook step. Traffic steps are planned in sequence: each starts from the weights
// the previous one leaves, and shows the effective share of EVERY record of the group (a third record,
// such as a canary, counts in Route 53's arithmetic). Pure.
import type { ApproveStep, LoadedRunbook, ShiftTrafficStep, Step } from '../config/types.js';
import { InputError } from '../core/errors.js';
import type { WeightedRecord } from '../core/ports.js';
import { stepLabel } from '../machine/labels.js';
import type { Observation, PlanMessage, StepPlanEntry } from './types.js';
import { applyWeights, groupKey, planShift } from './weights.js';

type ShiftEntry = Extract<StepPlanEntry, { kind: 'shiftTraffic' }>;
type GroupEntry = ShiftEntry['groups'][number];

export interface StepsPlan {
  steps: StepPlanEntry[];
  messages: PlanMessage[];
}

export function planSteps(loaded: LoadedRunbook, observation: Observation, cronJobsToMove: number): StepsPlan {
  const messages: PlanMessage[] = [];
  const traffic = new TrafficState(loaded, observation, messages);
  const steps = loaded.runbook.steps.map((step, index) => planStep(step, index, { loaded, traffic, cronJobsToMove }));
  return { steps, messages };
}

interface StepInputs {
  loaded: LoadedRunbook;
  traffic: TrafficState;
  cronJobsToMove: number;
}

function planStep(step: Step, index: number, inputs: StepInputs): StepPlanEntry {
  const label = stepLabel(step);
  switch (step.kind) {
    case 'preflight':
      return { kind: 'preflight', index, label };
    case 'moveCronJobs':
      return { kind: 'moveCronJobs', index, label, count: inputs.cronJobsToMove };
    case 'shiftTraffic':
      return inputs.traffic.shift(step, index, label);
    case 'gate':
      return { kind: 'gate', index, label, gateType: step.gate.type, timeoutMs: step.timeoutMs };
    case 'approve':
      return approveEntry(step, index, label, inputs.loaded);
  }
}

function approveEntry(step: ApproveStep, index: number, label: string, loaded: LoadedRunbook): StepPlanEntry {
  const approvers = step.approvers ?? loaded.environment.slack?.approvers ?? [];
  return { kind: 'approve', index, label, via: step.via, approvers, required: step.required, timeoutMs: step.timeoutMs };
}

/** The weights of every DNS group as the steps so far leave them. */
class TrafficState {
  private readonly groups: Map<string, WeightedRecord[]>;

  constructor(
    private readonly loaded: LoadedRunbook,
    observation: Observation,
    private readonly messages: PlanMessage[],
  ) {
    this.groups = new Map(Object.entries(observation.dns ?? {}));
  }

  shift(step: ShiftTrafficStep, index: number, label: string): ShiftEntry {
    const groups: GroupEntry[] = [];
    const configured = this.loaded.environment.dns?.records ?? [];
    if (configured.length === 0) {
      this.error(label, 'dns-not-configured', `shiftTraffic needs a dns section with record groups in ${this.loaded.environmentFile}`);
    }
    for (const group of configured) {
      const entry = this.shiftGroup(group, step, label);
      if (entry) groups.push(entry);
    }
    return { kind: 'shiftTraffic', index, label, percent: step.percent, soakMs: step.soakMs, groups };
  }

  private shiftGroup(
    group: { name: string; type: string; setIdentifiers: Record<string, string> },
    step: ShiftTrafficStep,
    label: string,
  ): GroupEntry | undefined {
    const key = groupKey(group.name, group.type);
    const records = this.groups.get(key);
    if (!records) {
      this.error(label, 'dns-unavailable', `DNS record ${group.name} ${group.type} was not read (no Route 53 access for this plan)`);
      return undefined;
    }
    const { from, to } = this.loaded.runbook;
    try {
      const result = planShift(records, group, from, to, step.percent);
      if (result.rounding) this.messages.push({ severity: 'warning', code: 'weight-rounding', message: result.rounding, subject: label });
      for (const note of result.notes) this.messages.push({ severity: 'info', code: 'weight-note', message: note, subject: label });
      for (const warning of result.warnings) this.messages.push({ severity: 'warning', code: 'weight-share-lost', message: warning, subject: label });
      this.groups.set(key, applyWeights(records, result.weights));
      return { name: group.name, type: group.type, before: result.before, after: result.after };
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      this.error(label, 'dns-invalid', error.message);
      return undefined;
    }
  }

  private error(subject: string, code: string, message: string): void {
    this.messages.push({ severity: 'error', code, message, subject });
  }
}
