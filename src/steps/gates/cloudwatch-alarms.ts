// `gate: cloudwatchAlarms`: every named alarm, and every alarm with the prefix, must be OK. An alarm in
// ALARM fails the gate at once (the shift is hurting); INSUFFICIENT_DATA follows the gate's policy, since
// a fresh alarm on a fresh cluster often has no data yet.
import type { GateSpec } from '../../config/types.js';
import { InputError } from '../../core/errors.js';
import type { AlarmState, AlarmsPort } from '../../core/ports.js';
import { API_POLL_MS, fail, pass, wait, type GateCheck, type Verdict } from './types.js';

type AlarmsSpec = Extract<GateSpec, { type: 'cloudwatchAlarms' }>;

export function judgeAlarms(spec: AlarmsSpec, alarms: { name: string; state: AlarmState }[]): Verdict {
  const states = Object.fromEntries(alarms.map((a) => [a.name, a.state]));
  const evidence = { alarms: states, insufficientData: spec.insufficientData };
  const missing = spec.names.filter((name) => states[name] === undefined);
  if (missing.length > 0) return fail(`alarm(s) not found: ${missing.join(', ')}`, { ...evidence, missing });
  if (alarms.length === 0) return fail(`no alarm has the prefix "${spec.prefix ?? ''}"`, evidence);
  const firing = alarms.filter((a) => a.state === 'ALARM').map((a) => a.name);
  if (firing.length > 0) return fail(`alarm(s) in ALARM: ${firing.join(', ')}`, evidence);
  const noData = alarms.filter((a) => a.state === 'INSUFFICIENT_DATA').map((a) => a.name);
  if (noData.length === 0 || spec.insufficientData === 'ok') return pass(`${alarms.length} alarm(s) OK${noData.length ? ` (${noData.length} without data, counted as OK)` : ''}`, evidence);
  const summary = `alarm(s) with INSUFFICIENT_DATA: ${noData.join(', ')}`;
  return spec.insufficientData === 'fail' ? fail(summary, evidence) : wait(summary, evidence);
}

export function alarmsCheck(spec: AlarmsSpec, alarms: AlarmsPort | undefined): GateCheck {
  if (!alarms) throw new InputError('gate cloudwatchAlarms needs CloudWatch access, and this run has no alarms port');
  if (spec.names.length === 0 && spec.prefix === undefined) throw new InputError('gate cloudwatchAlarms needs names or a prefix');
  const query = spec.prefix !== undefined ? { names: spec.names, prefix: spec.prefix } : { names: spec.names };
  return {
    intervalMs: API_POLL_MS,
    check: async () => judgeAlarms(spec, await alarms.alarmStates(query)),
  };
}
