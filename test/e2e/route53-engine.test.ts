// The same 10 → 50 → 100 shift, run by the engine (executeRun, in-memory state) against moto: the steps
// get the engine's StepRuntime, deadlines and persistence, and each still writes exactly one batch.
import { ChangeResourceRecordSetsCommand, CreateHostedZoneCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { describe, expect, it } from 'vitest';
import { createDnsPort } from '../../src/adapters/aws/route53.js';
import { MemoryStateStore } from '../../src/engine/memory-store.js';
import { executeRun } from '../../src/engine/run.js';
import type { Step } from '../../src/config/types.js';
import { awsClientConfig, motoEndpoint, uniqueName } from '../support/lab.js';
import { emptyPlan, recordingReporter, testEnvironment, testLoaded, virtualClock } from '../support/step-runtime.js';

describe('shiftTraffic steps run by the engine', () => {
  it('reaches 100% in three batches and journals each change', async () => {
    const setup = new Route53Client(awsClientConfig());
    const domain = `${uniqueName('engine')}.example.com.`;
    const zone = await setup.send(new CreateHostedZoneCommand({ Name: domain, CallerReference: uniqueName('ref') }));
    const zoneId = zone.HostedZone!.Id!.replace('/hostedzone/', '');
    const name = `api.${domain}`;
    await setup.send(new ChangeResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      ChangeBatch: {
        Changes: [
          { Action: 'CREATE', ResourceRecordSet: { Name: name, Type: 'A', SetIdentifier: 'blue', Weight: 1, TTL: 30, ResourceRecords: [{ Value: '192.0.2.1' }] } },
          { Action: 'CREATE', ResourceRecordSet: { Name: name, Type: 'A', SetIdentifier: 'green', Weight: 0, TTL: 30, ResourceRecords: [{ Value: '192.0.2.2' }] } },
        ],
      },
    }));
    const env = testEnvironment({
      aws: { region: 'us-east-1', endpoint: motoEndpoint },
      dns: { hostedZoneId: zoneId, maxRequestsPerSecond: 2, records: [{ name, type: 'A', setIdentifiers: { blue: 'blue', green: 'green' } }] },
    });
    const steps: Step[] = [10, 50, 100].map((percent) => ({ kind: 'shiftTraffic', percent, soakMs: 60_000 }));
    const loaded = testLoaded(env, steps);
    const client = new Route53Client(awsClientConfig());
    let batches = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'ChangeResourceRecordSetsCommand') batches++;
        return next(args);
      },
      { step: 'initialize', name: 'countBatches' },
    );
    const clock = virtualClock();
    const store = new MemoryStateStore(() => clock.now());
    const result = await executeRun({
      loaded,
      plan: emptyPlan(loaded, clock.now()),
      ports: { clusters: {}, approvals: {}, workloads: {}, dns: createDnsPort(env, { client, clock }) },
      clock,
      reporter: recordingReporter(),
      startedBy: 'tester',
      autoApprove: false,
      store,
    });
    expect(result.status).toBe('done');
    expect(batches).toBe(3);
    const listed = await setup.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: name, StartRecordType: 'A' }));
    // Blue had weight 1: the shift keeps the pair's total where it can express the share (10% of 1 cannot: 9/1).
    expect(listed.ResourceRecordSets?.filter((r) => r.Name === name).map((r) => [r.SetIdentifier, r.Weight])).toEqual([['blue', 0], ['green', 10]]);
    const writes = (await store.readJournal()).filter((e) => e.type === 'write');
    expect(writes.map((e) => e.message)).toEqual([
      expect.stringMatching(/blue=9 green=1$/),
      expect.stringMatching(/blue=5 green=5$/),
      expect.stringMatching(/blue=0 green=10$/),
    ]);
  });
});
