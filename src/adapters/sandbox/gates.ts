// Gate health in a rehearsal, as the `sandbox.gates` script says. A gate step asks this port before it
// looks for itself. Gates that would reach outside the process (http, command) are always answered here,
// so a rehearsal never calls a real endpoint or runs a real program: with no script they count as healthy.
// Gates that only read the run's ports (cronjobFirstRun, kubernetes, alarms, health checks) look at the
// simulated world unless a script names them.
import { formatDuration, parseDuration } from '../../core/duration.js';
import type { ScriptedGatesPort, ScriptedVerdict } from '../../core/ports.js';
import type { SandboxGateScript } from './config.js';

/** Gate types whose own check would touch real systems. */
const OUTSIDE_WORLD = new Set(['http', 'command']);

export class ScriptedGates implements ScriptedGatesPort {
  constructor(private readonly scripts: Record<string, SandboxGateScript>) {}

  verdict(label: string, type: string, startedAt: Date, now: Date): ScriptedVerdict | undefined {
    const script = this.scripts[label] ?? this.scripts[type];
    if (!script) {
      return OUTSIDE_WORLD.has(type)
        ? { status: 'pass', summary: `sandbox: ${type} gate not scripted (sandbox.gates), counted as healthy` }
        : undefined;
    }
    if (script.neverHealthy) return { status: 'wait', summary: 'sandbox: scripted never to become healthy' };
    const healthyAfterMs = parseDuration(script.healthyAfter) ?? 0;
    const healthyAt = startedAt.getTime() + healthyAfterMs;
    if (now.getTime() >= healthyAt) {
      return { status: 'pass', summary: `sandbox: scripted healthy ${formatDuration(healthyAfterMs)} after the gate started` };
    }
    return { status: 'wait', summary: `sandbox: scripted unhealthy until ${new Date(healthyAt).toISOString()}` };
  }
}
