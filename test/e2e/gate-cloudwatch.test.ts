// The cloudwatchAlarms gate against moto's CloudWatch: alarms made with PutMetricAlarm, states set with
// SetAlarmState, read through the real adapter (DescribeAlarms by prefix and by names).
import { CloudWatchClient, PutMetricAlarmCommand, SetAlarmStateCommand, type StateValue } from '@aws-sdk/client-cloudwatch';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAlarmsPort } from '../../src/adapters/aws/cloudwatch.js';
import { HaltError } from '../../src/core/errors.js';
import type { GateSpec, GateStep } from '../../src/config/types.js';
import { gate } from '../../src/steps/gate.js';
import { awsClientConfig, motoEndpoint, uniqueName } from '../support/lab.js';
import { stepRuntime, testEnvironment, testLoaded, testRun, virtualClock } from '../support/step-runtime.js';

const cloudwatch = new CloudWatchClient(awsClientConfig());
const env = testEnvironment({ aws: { region: 'us-east-1', endpoint: motoEndpoint } });

async function putAlarm(name: string): Promise<void> {
  await cloudwatch.send(new PutMetricAlarmCommand({
    AlarmName: name,
    Namespace: 'AWS/ApplicationELB',
    MetricName: 'HTTPCode_Target_5XX_Count',
    Statistic: 'Sum',
    Period: 60,
    EvaluationPeriods: 1,
    Threshold: 10,
    ComparisonOperator: 'GreaterThanThreshold',
  }));
}

const setState = (name: string, state: StateValue) =>
  cloudwatch.send(new SetAlarmStateCommand({ AlarmName: name, StateValue: state, StateReason: 'e2e' }));

function runGate(spec: Extract<GateSpec, { type: 'cloudwatchAlarms' }>, timeoutMs = 30_000) {
  const step: GateStep = { kind: 'gate', name: 'alarms quiet', gate: spec, timeoutMs };
  const clock = virtualClock();
  const alarms = createAlarmsPort(env, { client: new CloudWatchClient(awsClientConfig()) });
  const run = testRun({ loaded: testLoaded(env, [step]), ports: { alarms }, clock });
  return { run, clock, result: gate(stepRuntime(run, 0)) };
}

describe('cloudwatchAlarms gate', () => {
  let prefix: string;
  let a: string;
  let b: string;

  beforeAll(async () => {
    prefix = `${uniqueName('api')}-`;
    a = `${prefix}5xx`;
    b = `${prefix}latency`;
    await putAlarm(a);
    await putAlarm(b);
  });

  it('passes when every alarm with the prefix is OK', async () => {
    await setState(a, 'OK');
    await setState(b, 'OK');
    const { result } = runGate({ type: 'cloudwatchAlarms', names: [], prefix, insufficientData: 'fail' });
    await expect(result).resolves.toMatchObject({ status: 'pass', evidence: { alarms: { [a]: 'OK', [b]: 'OK' } } });
  });

  it('fails at once, without waiting for the deadline, when one alarm is in ALARM', async () => {
    await setState(a, 'OK');
    await setState(b, 'ALARM');
    const { run, clock, result } = runGate({ type: 'cloudwatchAlarms', names: [], prefix, insufficientData: 'ok' });
    await expect(result).rejects.toThrow(HaltError);
    await expect(result).rejects.toThrow(`alarm(s) in ALARM: ${b}`);
    expect(clock.sleeps).toEqual([]);
    expect(run.entries[0]).toMatchObject({ type: 'gate', data: { status: 'fail', evidence: { alarms: { [a]: 'OK', [b]: 'ALARM' } } } });
  });

  it('waits on INSUFFICIENT_DATA with policy wait until the deadline, and counts it as OK with policy ok', async () => {
    await setState(a, 'OK');
    await setState(b, 'INSUFFICIENT_DATA');
    const waiting = runGate({ type: 'cloudwatchAlarms', names: [a, b], insufficientData: 'wait' }, 30_000);
    await expect(waiting.result).rejects.toThrow(/did not pass within 30s.*INSUFFICIENT_DATA/s);
    expect(waiting.clock.sleeps.length).toBeGreaterThan(0);
    const lenient = runGate({ type: 'cloudwatchAlarms', names: [a, b], insufficientData: 'ok' });
    await expect(lenient.result).resolves.toMatchObject({ status: 'pass' });
  });

  it('fails when a named alarm does not exist', async () => {
    const { result } = runGate({ type: 'cloudwatchAlarms', names: [a, `${prefix}typo`], insufficientData: 'ok' });
    await expect(result).rejects.toThrow(`alarm(s) not found: ${prefix}typo`);
  });
});
