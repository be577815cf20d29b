// Issue 6, on moto: Route 53, CloudWatch and STS behind a fault proxy. First, each fault as the real SDK
// receives it: the API's own error code and status (REST-XML, JSON 1.0, awsQuery), classified as cutover
// retries it. Then `cutover execute` reaches all three through the proxy, which breaks about 10% of the
// calls and 30% of the Route 53 writes (503, a 500 after the change landed, 429 with Retry-After and
// Route 53's 400 Throttling, 400 PriorRequestNotComplete, resets, slow answers). The runbooks pin the
// account (STS) and shift 10 → 50 → 100% with an alarms gate after each of the first two shifts. Every
// attempt completes or halts with a clear message and ends on its own; re-running execute finishes the
// shift. The weights are read directly on moto throughout: never all zero, the target's share never goes
// back, all on green at the end.
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { ChangeResourceRecordSetsCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, onTestFinished, test } from 'vitest';
import { isThrottled } from '../../src/adapters/aws/throttle.js';
import { MINUTE, motoDnsLines, sleep, untilDone, writeHandoffRunbook } from '../support/crash.js';
import { AWS_SERVICES, injectedBy, startMotoFaultProxy, type Fault } from '../support/fault-proxy.js';
import { awsClientConfig, createNamespace, labAccountId, motoCredentialsEnv, uniqueName } from '../support/lab.js';
import { alarmsIn, weightedZone, type WeightedZone } from '../support/moto.js';


/** The weights of the pair as moto has them, sampled every 200 ms until stopped. */
function sampleWeights(zone: WeightedZone): { samples: Record<string, number>[]; stop: () => Promise<void> } {
  const samples: Record<string, number>[] = [];
  let stopped = false;
  const running = (async () => {
    while (!stopped) {
      samples.push(await zone.weights());
      await sleep(200);
    }
  })();
  return {
    samples,
    stop: async () => {
      stopped = true;
      await running;
    },
  };
}

const greenShare = (w: Record<string, number>) => (w.green ?? 0) / ((w.blue ?? 0) + (w.green ?? 0));

/** Samples whose green share is below the one before: traffic moved back to blue. */
function backwards(samples: Record<string, number>[]): string[] {
  return samples.flatMap((w, i) => (i > 0 && greenShare(w) < greenShare(samples[i - 1]!) ? [`${JSON.stringify(samples[i - 1])} -> ${JSON.stringify(w)}`] : []));
}

/** Runbooks run side by side, each shifting a zone of its own: enough calls for the faults to hit. */
const RUNBOOKS = 5;

interface Shift {
  zone: WeightedZone;
  runbook: string;
}

/** A zone with blue at 200 and green at 0, and a runbook that shifts it through the proxy at `endpoint`. */
async function prepareShift(endpoint: string, namespace: string, alarmPrefix: string): Promise<Shift> {
  // A TTL of 1 s keeps the resolver wait after each shift short.
  const zone = await weightedZone('faults-aws', { blue: 200, green: 0 }, { ttl: 1 });
  const dir = await mkdtemp(join(tmpdir(), 'cutover-faults-aws-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  const gate = (after: number) => `  - gate: { name: alarms quiet at ${after}%, timeout: 1m, cloudwatchAlarms: { prefix: "${alarmPrefix}" } }`;
  const { runbook } = await writeHandoffRunbook(dir, [namespace], {
    name: 'faults-aws',
    envExtra: motoDnsLines(zone.zoneId, zone.name, { endpoint, accountId: labAccountId }),
    steps: [
      '  - preflight: {}',
      '  - shiftTraffic: { percent: 10, soak: 3s }',
      gate(10),
      '  - shiftTraffic: { percent: 50, soak: 3s }',
      gate(50),
      '  - shiftTraffic: { percent: 100, soak: 3s }',
    ],
  });
  return { zone, runbook };
}

/** What the SDK made of a call: its error's name and HTTP status, and whether cutover retries it as throttled. */
async function outcome(call: () => Promise<unknown>): Promise<{ name: string; status?: number; throttled: boolean }> {
  try {
    await call();
    return { name: 'ok', throttled: false };
  } catch (error) {
    const { name, $metadata } = error as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name, ...($metadata?.httpStatusCode !== undefined ? { status: $metadata.httpStatusCode } : {}), throttled: isThrottled(error) };
  }
}

describe('execute through a faulty AWS network (issue 6)', () => {
  test('each fault reaches the real SDK as an error of that API, in its wire format', async () => {
    const zone = await weightedZone('faults-aws-wire', { blue: 200, green: 0 });
    const through = async (fault: Fault) => {
      const proxy = await startMotoFaultProxy({ rate: 1, faults: [fault] });
      onTestFinished(() => proxy.close());
      // One attempt: the SDK's own retries would hide what it was answered.
      const config = { ...awsClientConfig(), endpoint: proxy.url, maxAttempts: 1 };
      const upsert = (green: number) =>
        new Route53Client(config).send(
          new ChangeResourceRecordSetsCommand({
            HostedZoneId: zone.zoneId,
            ChangeBatch: { Changes: [{ Action: 'UPSERT', ResourceRecordSet: { Name: zone.name, Type: 'A', SetIdentifier: 'green', Weight: green, TTL: 30, ResourceRecords: [{ Value: '192.0.2.2' }] } }] },
          }),
        );
      return {
        route53: await outcome(() => new Route53Client(config).send(new ListResourceRecordSetsCommand({ HostedZoneId: zone.zoneId }))),
        cloudwatch: await outcome(() => new CloudWatchClient(config).send(new DescribeAlarmsCommand({}))),
        sts: await outcome(() => new STSClient(config).send(new GetCallerIdentityCommand({}))),
        upsert,
      };
    };
    const unavailable = { name: 'ServiceUnavailable', status: 503, throttled: false };
    const throttled = await through('throttled');
    expect([throttled.route53.status, throttled.cloudwatch.status, throttled.sts.status]).toEqual([expect.toBeOneOf([400, 429]), 429, 429]);
    for (const service of AWS_SERVICES) expect(throttled[service]).toMatchObject({ name: 'Throttling', throttled: true });
    const down = await through('unavailable');
    expect([down.route53, down.cloudwatch, down.sts]).toEqual([unavailable, unavailable, unavailable]);
    expect(await outcome(() => down.upsert(10))).toEqual(unavailable);
    // Reads pass a write-only fault untouched; a Route 53 write gets Route 53's answer to a concurrent change.
    const conflict = await through('conflict');
    expect([conflict.route53, conflict.cloudwatch, conflict.sts].map((o) => o.name)).toEqual(['ok', 'ok', 'ok']);
    expect(await outcome(() => conflict.upsert(20))).toEqual({ name: 'PriorRequestNotComplete', status: 400, throttled: true });
    expect(await zone.weights(), 'refused before moto').toEqual({ blue: 200, green: 0 });
    const lost = await through('lost-reply');
    expect(await outcome(() => lost.upsert(30))).toEqual({ name: 'InternalFailure', status: 500, throttled: false });
    expect(await zone.weights(), 'the write landed though it looked failed').toEqual({ blue: 200, green: 30 });
  });

  test('10% of Route 53 / CloudWatch / STS calls (30% of Route 53 writes) fail: each attempt completes or halts clearly, re-runs finish the shift', async () => {
    const proxy = await startMotoFaultProxy({ rate: 0.1, writeRate: 0.3 });
    onTestFinished(() => proxy.close());
    const prefix = `${uniqueName('faults-aws')}-`;
    await alarmsIn('OK', [`${prefix}5xx`, `${prefix}latency`]);
    // The runbook's cronjobs section needs a namespace; this one holds no CronJob.
    const namespace = await createNamespace('blue', 'faults-aws');
    await createNamespace('green', 'faults-aws', namespace);
    const shifts: Shift[] = [];
    for (let i = 0; i < RUNBOOKS; i++) shifts.push(await prepareShift(proxy.url, namespace, prefix));

    const samplings = shifts.map(({ zone }) => sampleWeights(zone));
    onTestFinished(() => Promise.all(samplings.map((s) => s.stop())).then(() => undefined));
    const attempts = await Promise.all(shifts.map(({ runbook }) => untilDone(runbook, { env: { ...motoCredentialsEnv }, timeoutMs: 2 * MINUTE, maxAttempts: 10 })));
    for (const sampling of samplings) await sampling.stop();

    const { total, summary } = injectedBy([proxy]);
    const services = AWS_SERVICES.map((s) => `${s}=${proxy.services[s]}`).join(' ');
    const outcomes = attempts.flat().filter((a) => a.code !== 0).map((a) => (a.stderr.split('\n')[0] ?? '').slice(0, 200));
    console.info(
      `faults-aws: ${attempts.map((a) => a.length).join('+')} attempt(s), ${summary}; requests by service: ${services}` +
        outcomes.map((o) => `\n  halted attempt: ${o}`).join(''),
    );
    expect(total, 'faults were injected').toBeGreaterThan(0);
    // Nobody else touches these weights: a drift halt would be the run taking its own write for drift.
    expect(outcomes.filter((o) => o.includes('changed outside the run'))).toEqual([]);
    for (const service of AWS_SERVICES) expect(proxy.services[service], `${service} went through the proxy`).toBeGreaterThan(0);

    for (const [i, { zone }] of shifts.entries()) {
      const { samples } = samplings[i]!;
      expect(samples.filter((w) => (w.blue ?? 0) + (w.green ?? 0) === 0), 'never all weights 0').toEqual([]);
      expect(backwards(samples), 'the green share never goes back').toEqual([]);
      // Each step held its share for at least its soak, so the samples saw each one.
      expect(samples.map(greenShare)).toEqual(expect.arrayContaining([0, 0.1, 0.5, 1]));
      expect(await zone.weights()).toEqual({ blue: 0, green: 200 });
    }
  }, 5 * MINUTE);
});
