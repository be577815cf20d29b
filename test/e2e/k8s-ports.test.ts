import { describe, expect, it } from 'vitest';
import { createPorts } from '../../src/adapters/index.js';
import { loadRunbook } from '../../src/config/load.js';
import type { LoadedRunbook, Step } from '../../src/config/types.js';
import { HaltError } from '../../src/core/errors.js';
import { LAB_KUBE_VERSION, labAccountId, labRunbookPath, useMotoCredentials } from '../support/lab.js';

useMotoCredentials();

/** The lab runbook with an alarms gate and a health-check gate, whose ports reach AWS (moto). */
function withAwsGates(loaded: LoadedRunbook): LoadedRunbook {
  const gates: Step[] = [
    { kind: 'gate', gate: { type: 'cloudwatchAlarms', names: ['x'], insufficientData: 'fail' }, timeoutMs: 60_000 },
    { kind: 'gate', gate: { type: 'route53HealthChecks', ids: ['abc'] }, timeoutMs: 60_000 },
  ];
  return { ...loaded, runbook: { ...loaded.runbook, steps: [...loaded.runbook.steps, ...gates] } };
}

describe('createPorts for the lab runbook', () => {
  it('wires a cluster and a workloads port per environment cluster, reachable through the kubeconfig', async () => {
    const loaded = await loadRunbook(labRunbookPath);
    const ports = await createPorts(loaded);
    expect(Object.keys(ports.clusters).sort()).toEqual(['blue', 'green']);
    expect(Object.keys(ports.workloads).sort()).toEqual(['blue', 'green']);
    expect(await ports.clusters.blue!.version()).toBe(LAB_KUBE_VERSION);
    expect(await ports.clusters.green!.version()).toBe(LAB_KUBE_VERSION);
    expect(await ports.workloads.green!.workloads(['kube-system'])).toEqual(expect.any(Array));
    expect(ports.approvals.terminal).toBeDefined();
    // config/lab.yaml has neither dns nor slack, and workflows/lab.yaml no alarm or health-check gate.
    expect(ports.dns).toBeUndefined();
    expect(ports.alarms).toBeUndefined();
    expect(ports.healthChecks).toBeUndefined();
    expect(ports.approvals.slack).toBeUndefined();
  });

  it('lets AWS calls through when the credentials belong to the pinned account', async () => {
    const loaded = withAwsGates(await loadRunbook(labRunbookPath));
    expect(loaded.environment.aws?.accountId).toBe(labAccountId);
    const ports = await createPorts(loaded);
    await expect(ports.alarms!.alarmStates({ names: ['cutover-e2e-no-such-alarm'] })).resolves.toEqual([]);
  });

  it('refuses every AWS call when the credentials belong to another account', async () => {
    const loaded = withAwsGates(await loadRunbook(labRunbookPath));
    loaded.environment.aws = { ...loaded.environment.aws!, accountId: '210987654321' };
    const ports = await createPorts(loaded);
    const alarms = ports.alarms!.alarmStates({ names: ['x'] });
    await expect(alarms).rejects.toBeInstanceOf(HaltError);
    await expect(alarms).rejects.toThrow(`AWS credentials belong to account ${labAccountId}`);
    await expect(ports.healthChecks!.healthCheckStatus('abc')).rejects.toThrow('pins aws.accountId 210987654321');
  });
});
