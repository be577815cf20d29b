// Weighted traffic shifting against moto's Route 53: a 3-step shift (10 → 50 → 100) of an alias A group
// with a health check, beside a third "canary" record that is never written but counts in the shares.
import {
  ChangeResourceRecordSetsCommand,
  CreateHealthCheckCommand,
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDnsPort, createHealthChecksPort } from '../../src/adapters/aws/route53.js';
import { TokenBucket } from '../../src/adapters/aws/throttle.js';
import { InputError } from '../../src/core/errors.js';
import type { Environment, ShiftTrafficStep, Step } from '../../src/config/types.js';
import { applyWeights, planShift } from '../../src/plan/weights.js';
import { gate } from '../../src/steps/gate.js';
import { shiftTraffic } from '../../src/steps/shift-traffic.js';
import { awsClientConfig, motoEndpoint, uniqueName } from '../support/lab.js';
import { stepRuntime, testEnvironment, testLoaded, testRun, virtualClock } from '../support/step-runtime.js';

/** A Route 53 client that counts every command it sends, by name. */
function countingClient(): { client: Route53Client; calls: string[] } {
  const client = new Route53Client(awsClientConfig());
  const calls: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push(context.commandName ?? 'unknown');
      return next(args);
    },
    { step: 'initialize', name: 'countCalls' },
  );
  return { client, calls };
}

const setup = new Route53Client(awsClientConfig());

async function createZone(prefix: string): Promise<{ zoneId: string; domain: string }> {
  const domain = `${uniqueName(prefix)}.example.com.`;
  const zone = await setup.send(new CreateHostedZoneCommand({ Name: domain, CallerReference: uniqueName('ref') }));
  return { zoneId: zone.HostedZone!.Id!.replace('/hostedzone/', ''), domain };
}

async function createRecords(zoneId: string, records: ResourceRecordSet[]): Promise<void> {
  await setup.send(new ChangeResourceRecordSetsCommand({
    HostedZoneId: zoneId,
    ChangeBatch: { Changes: records.map((r) => ({ Action: 'CREATE' as const, ResourceRecordSet: r })) },
  }));
}

/** Every record of the zone exactly as Route 53 lists it. */
async function listZone(zoneId: string): Promise<ResourceRecordSet[]> {
  const out = await setup.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
  return out.ResourceRecordSets ?? [];
}

function environment(zoneId: string, name: string): Environment {
  return testEnvironment({
    aws: { region: 'us-east-1', endpoint: motoEndpoint },
    dns: { hostedZoneId: zoneId, maxRequestsPerSecond: 2, records: [{ name, type: 'A', setIdentifiers: { blue: 'blue', green: 'green' } }] },
  });
}

const shift = (percent: number): ShiftTrafficStep => ({ kind: 'shiftTraffic', percent, soakMs: 120_000 });

describe('a 3-step shift of an alias A group in moto', () => {
  let zoneId: string;
  let api: string;
  let healthCheckId: string;
  let original: ResourceRecordSet[];

  beforeAll(async () => {
    ({ zoneId, domain: api } = await createZone('shift'));
    api = `api.${api}`;
    const hc = await setup.send(new CreateHealthCheckCommand({
      CallerReference: uniqueName('hc'),
      HealthCheckConfig: { Type: 'HTTPS', FullyQualifiedDomainName: 'blue-lb.example.net', Port: 443, ResourcePath: '/healthz' },
    }));
    healthCheckId = hc.HealthCheck!.Id!;
    await createRecords(zoneId, [
      {
        Name: api, Type: 'A', SetIdentifier: 'blue', Weight: 100, HealthCheckId: healthCheckId,
        AliasTarget: { HostedZoneId: 'Z35SXDOTRQ7X7K', DNSName: 'blue-lb-123.us-east-1.elb.amazonaws.com.', EvaluateTargetHealth: true },
      },
      {
        Name: api, Type: 'A', SetIdentifier: 'green', Weight: 0,
        AliasTarget: { HostedZoneId: 'Z35SXDOTRQ7X7K', DNSName: 'green-lb-456.us-east-1.elb.amazonaws.com.', EvaluateTargetHealth: false },
      },
      { Name: api, Type: 'A', SetIdentifier: 'canary', Weight: 10, TTL: 60, ResourceRecords: [{ Value: '192.0.2.10' }] },
      { Name: `www.${api}`, Type: 'A', TTL: 300, ResourceRecords: [{ Value: '192.0.2.20' }] },
    ]);
    original = await listZone(zoneId);
  });

  it('plans the effective share of every record, the canary included, step after step', async () => {
    const env = environment(zoneId, api);
    const group = env.dns!.records[0]!;
    let records = await createDnsPort(env, { client: countingClient().client }).readGroup(api, 'A');
    const plans = [];
    for (const percent of [10, 50, 100]) {
      const planned = planShift(records, group, 'blue', 'green', percent);
      plans.push(planned);
      records = applyWeights(records, planned.weights);
    }
    const shown = (shares: { setIdentifier: string; weight: number; percent: number }[]): string[] =>
      shares.map((s) => `${s.setIdentifier}=${s.weight} (${s.percent}%)`).sort();
    expect(plans.map((p) => shown(p.after))).toEqual([
      ['blue=90 (81.82%)', 'canary=10 (9.09%)', 'green=10 (9.09%)'],
      ['blue=50 (45.45%)', 'canary=10 (9.09%)', 'green=50 (45.45%)'],
      ['blue=0 (0%)', 'canary=10 (9.09%)', 'green=100 (90.91%)'],
    ]);
    expect(shown(plans[0]!.before)).toEqual(['blue=100 (90.91%)', 'canary=10 (9.09%)', 'green=0 (0%)']);
  });

  it('writes one ChangeResourceRecordSets per step and keeps every record byte-for-byte but Weight', async () => {
    const env = environment(zoneId, api);
    const { client, calls } = countingClient();
    const clock = virtualClock();
    const dns = createDnsPort(env, { client, clock, throttle: new TokenBucket(2, clock) });
    const steps: Step[] = [shift(10), shift(50), shift(100)];
    const run = testRun({ loaded: testLoaded(env, steps), ports: { dns }, clock });
    const expectedWeights = [
      { blue: 90, green: 10, canary: 10 },
      { blue: 50, green: 50, canary: 10 },
      { blue: 0, green: 100, canary: 10 },
    ];
    for (const [index, weights] of expectedWeights.entries()) {
      const output = await shiftTraffic(stepRuntime(run, index));
      run.outputs[index] = output ?? undefined;
      expect(calls.filter((c) => c === 'ChangeResourceRecordSetsCommand')).toHaveLength(index + 1);
      const now = await listZone(zoneId);
      // Only the Weight of blue and green changed; the alias targets, the health check id,
      // EvaluateTargetHealth, the canary and the unrelated record are exactly as created.
      expect(JSON.stringify(now)).toBe(
        JSON.stringify(original.map((r) => (r.Name === api && r.SetIdentifier ? { ...r, Weight: weights[r.SetIdentifier as keyof typeof weights] } : r))),
      );
      expect(now.find((r) => r.SetIdentifier === 'blue')?.HealthCheckId).toBe(healthCheckId);
    }
    expect(run.outputs[2]?.preRunWeights).toEqual({ [`${api}|A`]: { blue: 100, green: 0, canary: 10 } });
    const writes = run.entries.filter((e) => e.type === 'write');
    expect(writes).toHaveLength(3);
    expect(writes.every((e) => typeof e.data?.changeId === 'string')).toBe(true);
    // Resuming the last step: the weights are already there, so nothing is written again.
    await shiftTraffic(stepRuntime(run, 2, { status: 'running', deadlines: {}, data: { ...run.outputs[2] } }));
    expect(calls.filter((c) => c === 'ChangeResourceRecordSetsCommand')).toHaveLength(3);
  });

  it('passes a route53HealthChecks gate on the record\'s health check', async () => {
    const env = environment(zoneId, api);
    const clock = virtualClock();
    const steps: Step[] = [{ kind: 'gate', gate: { type: 'route53HealthChecks', ids: [healthCheckId] }, timeoutMs: 60_000 }];
    const run = testRun({ loaded: testLoaded(env, steps), ports: { healthChecks: createHealthChecksPort(env, { client: countingClient().client, clock }) }, clock });
    await expect(gate(stepRuntime(run, 0))).resolves.toMatchObject({ status: 'pass', evidence: { healthChecks: { [healthCheckId]: expect.stringMatching(/^(\d+)\/\1 checkers healthy$/) } } });
  });
});

describe('paging against moto', () => {
  it('reads a weighted group one record per page, or refuses to loop, but never pages forever', async () => {
    const { zoneId, domain } = await createZone('paging');
    const name = `api.${domain}`;
    await createRecords(zoneId, ['a', 'b', 'c'].map((id, i) => ({ Name: name, Type: 'A' as const, SetIdentifier: id, Weight: i + 1, TTL: 60, ResourceRecords: [{ Value: `192.0.2.${i + 1}` }] })));
    const env = environment(zoneId, name);
    const { client, calls } = countingClient();
    const read = createDnsPort(env, { client, clock: virtualClock(), pageSize: 1 }).readGroup(name, 'A');
    // Real Route 53 answers NextRecordIdentifier and honours StartRecordIdentifier; moto 5.2 does neither,
    // so there the next page would start at the group's first record again.
    const outcome = await read.then((records) => records.map((r) => r.setIdentifier).sort(), (error: Error) => error.message);
    expect([['a', 'b', 'c'], expect.stringMatching(/refusing to loop/)]).toContainEqual(outcome);
    expect(calls.filter((c) => c === 'ListResourceRecordSetsCommand').length).toBeLessThanOrEqual(3);
  });
});

describe('refusals against moto', () => {
  it('refuses a group whose record is not weighted, writing nothing', async () => {
    const { zoneId, domain } = await createZone('plain');
    const name = `api.${domain}`;
    await createRecords(zoneId, [{ Name: name, Type: 'A', TTL: 60, ResourceRecords: [{ Value: '192.0.2.1' }] }]);
    const env = environment(zoneId, name);
    const { client, calls } = countingClient();
    const clock = virtualClock();
    const run = testRun({ loaded: testLoaded(env, [shift(10)]), ports: { dns: createDnsPort(env, { client, clock }) }, clock });
    const attempt = shiftTraffic(stepRuntime(run, 0));
    await expect(attempt).rejects.toThrow(InputError);
    await expect(attempt).rejects.toThrow(/not a weighted record/);
    expect(calls).not.toContain('ChangeResourceRecordSetsCommand');
  });

  it('refuses a group without the target SetIdentifier (the 5+5 group of another team), writing nothing', async () => {
    const { zoneId, domain } = await createZone('noid');
    const name = `api.${domain}`;
    await createRecords(zoneId, [
      { Name: name, Type: 'A', SetIdentifier: 'blue', Weight: 5, TTL: 60, ResourceRecords: [{ Value: '192.0.2.1' }] },
      { Name: name, Type: 'A', SetIdentifier: 'old-green', Weight: 5, TTL: 60, ResourceRecords: [{ Value: '192.0.2.2' }] },
    ]);
    const env = environment(zoneId, name);
    const { client, calls } = countingClient();
    const clock = virtualClock();
    const run = testRun({ loaded: testLoaded(env, [shift(5)]), ports: { dns: createDnsPort(env, { client, clock }) }, clock });
    await expect(shiftTraffic(stepRuntime(run, 0))).rejects.toThrow(/no record with SetIdentifier "green"/);
    expect(calls).not.toContain('ChangeResourceRecordSetsCommand');
  });
});
