// The same 10 → 50 → 100 shift, run by the engine (executeRun, in-memory state) against moto: the steps
// get the engine's StepRuntime, deadlines and persistence, and each still writes exactly one batch.
import { Route53Client } from '@aws-sdk/client-route-53';
import { describe, expect, it } from 'vitest';
import { createDnsPort } from '../../src/adapters/aws/route53.js';
import { MemoryStateStore } from '../../src/engine/memory-store.js';
import { executeRun } from '../../src/engine/run.js';
import type { LoadedRunbook, Step } from '../../src/config/types.js';
import { awsClientConfig, motoEndpoint } from '../support/lab.js';
import { weightedZone } from '../support/moto.js';
import { emptyPlan, recordingReporter, testEnvironment, testLoaded, virtualClock } from '../support/step-runtime.js';

/** A fresh zone with blue at weight 1 and green at 0, and an environment that shifts it. */
async function shiftableZone(prefix: string) {
  const { zoneId, name, weights } = await weightedZone(prefix, { blue: 1, green: 0 });
  const env = testEnvironment({
    aws: { region: 'us-east-1', endpoint: motoEndpoint },
    dns: { hostedZoneId: zoneId, maxRequestsPerSecond: 2, records: [{ name, type: 'A', setIdentifiers: { blue: 'blue', green: 'green' } }] },
  });
  return { env, weights };
}

/** A Route 53 client that counts ChangeResourceRecordSets calls. */
function countingClient() {
  const client = new Route53Client(awsClientConfig());
  const counter = { batches: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'ChangeResourceRecordSetsCommand') counter.batches++;
      return next(args);
    },
    { step: 'initialize', name: 'countBatches' },
  );
  return { client, counter };
}

/** Runs the runbook through the engine on a virtual clock, in-memory state, DNS through `client`. */
async function runWithDns(loaded: LoadedRunbook, client: Route53Client) {
  const clock = virtualClock();
  const store = new MemoryStateStore(() => clock.now());
  const result = await executeRun({
    loaded,
    plan: emptyPlan(loaded, clock.now()),
    ports: { clusters: {}, approvals: {}, workloads: {}, dns: createDnsPort(loaded.environment, { client, clock }) },
    clock,
    reporter: recordingReporter(),
    startedBy: 'tester',
    autoApprove: false,
    store,
  });
  return { result, store };
}

describe('shiftTraffic steps run by the engine', () => {
  it('reaches 100% in three batches and journals each change', async () => {
    const { env, weights } = await shiftableZone('engine');
    const steps: Step[] = [10, 50, 100].map((percent) => ({ kind: 'shiftTraffic', percent, soakMs: 60_000 }));
    const loaded = testLoaded(env, steps);
    const { client, counter } = countingClient();
    const { result, store } = await runWithDns(loaded, client);
    expect(result.status).toBe('done');
    expect(counter.batches).toBe(3);
    // Blue had weight 1: the shift keeps the pair's total where it can express the share (10% of 1 cannot: 9/1).
    expect(await weights()).toEqual({ blue: 0, green: 10 });
    const writes = (await store.readJournal()).filter((e) => e.type === 'write');
    expect(writes.map((e) => e.message)).toEqual([
      expect.stringMatching(/blue=9 green=1$/),
      expect.stringMatching(/blue=5 green=5$/),
      expect.stringMatching(/blue=0 green=10$/),
    ]);
  });

  it('with onFailure: rollback, a failed gate after two shifts puts the weights back as they were before the run', async () => {
    const { env, weights } = await shiftableZone('rollback');
    const steps: Step[] = [
      { kind: 'shiftTraffic', percent: 10, soakMs: 60_000 },
      { kind: 'shiftTraffic', percent: 50, soakMs: 60_000 },
      { kind: 'gate', name: 'smoke', gate: { type: 'command', command: 'false', args: [], env: {}, timeoutMs: 10_000 }, timeoutMs: 60_000 },
    ];
    const loaded = testLoaded(env, steps, { onFailure: 'rollback' });
    const { client, counter } = countingClient();
    const { result, store } = await runWithDns(loaded, client);
    expect(result.status).toBe('halted');
    expect(result.message).toContain('gate smoke failed');
    // Two shifts and one restoring batch.
    expect(counter.batches).toBe(3);
    expect(await weights()).toEqual({ blue: 1, green: 0 });
    const writes = (await store.readJournal()).filter((e) => e.type === 'write').map((e) => e.message);
    expect(writes.at(-1)).toBe('rollback: weights restored to their values before the run');
  });
});
