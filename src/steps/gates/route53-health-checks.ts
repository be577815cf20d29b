// `gate: route53HealthChecks`: every listed health check reported healthy by all of Route 53's checkers.
// Checkers in many regions report independently, so a check can be healthy in some and not yet in others.
import type { GateSpec } from '../../config/types.js';
import { InputError } from '../../core/errors.js';
import type { HealthChecksPort } from '../../core/ports.js';
import type { JsonValue } from '../types.js';
import { API_POLL_MS, pass, wait, type GateCheck, type Verdict } from './types.js';

type HealthSpec = Extract<GateSpec, { type: 'route53HealthChecks' }>;

export function judgeHealthChecks(statuses: { id: string; healthy: number; total: number }[]): Verdict {
  const evidence: Record<string, JsonValue> = {
    healthChecks: Object.fromEntries(statuses.map((s) => [s.id, `${s.healthy}/${s.total} checkers healthy`])),
  };
  const unhealthy = statuses.filter((s) => s.total === 0 || s.healthy < s.total);
  if (unhealthy.length === 0) return pass(`${statuses.length} health check(s) healthy in every checker`, evidence);
  return wait(`not healthy everywhere: ${unhealthy.map((s) => `${s.id} (${s.healthy}/${s.total})`).join(', ')}`, evidence);
}

export function healthChecksCheck(spec: HealthSpec, port: HealthChecksPort | undefined): GateCheck {
  if (!port) throw new InputError('gate route53HealthChecks needs Route 53 access, and this run has no health-check port');
  if (spec.ids.length === 0) throw new InputError('gate route53HealthChecks needs at least one health check id');
  return {
    intervalMs: API_POLL_MS,
    async check() {
      const statuses = [];
      for (const id of spec.ids) statuses.push({ id, ...(await port.healthCheckStatus(id)) });
      return judgeHealthChecks(statuses);
    },
  };
}
