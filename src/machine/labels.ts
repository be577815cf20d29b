// Human names of runbook steps, shared by the machine's state descriptions, the graph and the engine's
// reporter, so an operator sees the same words in `graph`, `execute` and `status`.
import type { Step } from '../config/types.js';

function defaultLabel(step: Step): string {
  switch (step.kind) {
    case 'preflight':
      return 'preflight';
    case 'moveCronJobs':
      return 'move CronJobs';
    case 'shiftTraffic':
      return `shift ${step.percent}% of traffic to the target`;
    case 'gate':
      return `gate: ${step.gate.type}`;
    case 'approve':
      return `approval via ${step.via}`;
  }
}

/**
 * How messages name a gate: `gate api healthy` for a named gate, `gate: http` (its default label) for one
 * without a name, never `gate gate: http`.
 */
export function gateTitle(label: string): string {
  return label.startsWith('gate:') ? label : `gate ${label}`;
}

/** The step's own `name` when the runbook gives one, otherwise what it does. */
export function stepLabel(step: Step): string {
  return step.name ?? defaultLabel(step);
}
