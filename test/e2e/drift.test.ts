// Issue 6, on the real lab: after moveCronJobs, while a later step runs (a 30 s command gate), the source
// copy of a moved CronJob is enabled again, as a helm upgrade or an Argo CD / Flux sync would do it.
//   onDrift: resuspend (default)  the run suspends it again within seconds, journals `drift`, completes;
//   onDrift: halt                 it is suspended again too, the run halts at once naming the CronJob and
//                                 journals `drift`; execute then resumes and completes.
// The drift is made away from minute boundaries, so no tick falls inside it: no tick runs twice.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { describe, expect, onTestFinished, test } from 'vitest';
import {
  MINUTE,
  batch,
  cutover,
  enabledWhere,
  minutelyCronJob,
  motoDnsLines,
  ranJobs,
  sleep,
  ticksRunTwice,
  writeHandoffRunbook,
  type CliResult,
} from '../support/crash.js';
import { createNamespace, motoCredentialsEnv, uniqueName, waitFor } from '../support/lab.js';
import { weightedZone } from '../support/moto.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const show = (r: CliResult) => `exit ${r.code ?? r.signal}\n${r.stdout}\n${r.stderr}`;

async function journal(stateDir: string): Promise<{ type: string; step?: number; message: string }[]> {
  const text = await readFile(join(stateDir, 'journal.ndjson'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { type: string; step?: number; message: string });
}

async function setup(policy: 'resuspend' | 'halt') {
  const sweep = uniqueName(`drift-${policy}`);
  const namespace = uniqueName('drift');
  await createNamespace('blue', 'drift', namespace);
  await createNamespace('green', 'drift', namespace);
  await batch('blue').createNamespacedCronJob({ namespace, body: minutelyCronJob('synced', sweep, false) });
  await batch('green').createNamespacedCronJob({ namespace, body: minutelyCronJob('synced', sweep, true) });
  const dir = await mkdtemp(join(tmpdir(), 'cutover-drift-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  const { runbook } = await writeHandoffRunbook(dir, [namespace], {
    name: 'drift',
    extra: policy === 'halt' ? ['  onDrift: halt'] : [],
    steps: ['  - preflight: {}', '  - moveCronJobs: {}', '  - gate: { timeout: 2m, command: { command: sh, args: ["-c", "exec sleep 30"] } }'],
  });
  return { sweep, namespace, runbook, stateDir: join(dir, 'state', 'drift'), key: `${namespace}/synced` };
}

async function stepStarted(stateDir: string, step: number): Promise<void> {
  await waitFor(`step ${step + 1} to start`, async () => ((await journal(stateDir)).some((e) => e.type === 'transition' && e.step === step) ? true : undefined), {
    timeoutMs: 3 * MINUTE,
    intervalMs: 200,
  });
}

/** Once the gate runs, and at a time no tick is near, a "sync" sets suspend: false on blue. */
async function reenableDuringGate(stateDir: string, namespace: string): Promise<number> {
  await stepStarted(stateDir, 2);
  const second = (Date.now() % MINUTE) / 1000;
  if (second < 3 || second > 40) await sleep(MINUTE - (Date.now() % MINUTE) + 3_000);
  await batch('blue').patchNamespacedCronJob({ name: 'synced', namespace, body: { spec: { suspend: false } } }, mergePatch);
  return Date.now();
}

describe('drift during a run (issue 6)', () => {

  test('a moved CronJob enabled again on the source: suspended again (resuspend) or the run halts (halt)', async () => {
    const resuspend = await setup('resuspend');
    const halt = await setup('halt');

    const resuspended = (async () => {
      const run = cutover(['execute', '-f', resuspend.runbook, '--yes']);
      const at = await reenableDuringGate(resuspend.stateDir, resuspend.namespace);
      const suspendedAgain = await waitFor(
        'blue suspended again by the run',
        async () => ((await enabledWhere(resuspend.sweep)).get(resuspend.key)?.includes('blue') ? undefined : Date.now()),
        { timeoutMs: 30_000, intervalMs: 250 },
      );
      const result = await run;
      expect(result.code, show(result)).toBe(0);
      expect(suspendedAgain - at).toBeLessThan(15_000);
      expect((await enabledWhere(resuspend.sweep)).get(resuspend.key)).toEqual(['green']);
      const drift = (await journal(resuspend.stateDir)).filter((e) => e.type === 'drift');
      expect(drift.map((e) => e.message)).toEqual([`${resuspend.key}: enabled again on blue; suspended it again`]);
      expect(drift[0]!.step).toBe(2);
    })();

    const halted = (async () => {
      const run = cutover(['execute', '-f', halt.runbook, '--yes']);
      const at = await reenableDuringGate(halt.stateDir, halt.namespace);
      const result = await run;
      expect(result.code, show(result)).toBe(1);
      expect(Date.now() - at, 'halted without waiting for the gate to end').toBeLessThan(20_000);
      expect(result.stderr).toContain(`${halt.key} was enabled again on the source cluster blue`);
      expect(result.stderr).toContain('cronjobs.onDrift: halt');
      // Halted with the source suspended again: not both copies running while the operator looks.
      expect((await enabledWhere(halt.sweep)).get(halt.key)).toEqual(['green']);
      const drift = (await journal(halt.stateDir)).filter((e) => e.type === 'drift');
      expect(drift.map((e) => e.message)).toEqual([expect.stringContaining('suspended it again and halting (onDrift: halt)')]);
      const resumed = await cutover(['execute', '-f', halt.runbook, '--yes']);
      expect(resumed.code, show(resumed)).toBe(0);
      expect((await enabledWhere(halt.sweep)).get(halt.key)).toEqual(['green']);
    })();

    await Promise.all([resuspended, halted]);
    for (const { sweep } of [resuspend, halt]) expect(ticksRunTwice(await ranJobs(sweep))).toEqual([]);
  }, 8 * MINUTE);

  test('weights changed outside the run during a later step: the run halts, journals drift, and leaves them as found', async () => {
    const { zoneId, name, weights, setWeights } = await weightedZone('drift', { blue: 100, green: 0 });
    const namespace = uniqueName('drift-dns');
    await createNamespace('blue', 'drift', namespace);
    await createNamespace('green', 'drift', namespace);
    const dir = await mkdtemp(join(tmpdir(), 'cutover-drift-dns-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const { runbook } = await writeHandoffRunbook(dir, [namespace], {
      name: 'drift',
      envExtra: motoDnsLines(zoneId, name),
      steps: ['  - preflight: {}', '  - shiftTraffic: { percent: 50 }', '  - gate: { timeout: 2m, command: { command: sh, args: ["-c", "exec sleep 30"] } }'],
    });
    const stateDir = join(dir, 'state', 'drift');
    const env = { ...motoCredentialsEnv };

    const run = cutover(['execute', '-f', runbook, '--yes'], { env });
    await stepStarted(stateDir, 2);
    const shifted = await weights();
    expect(shifted.green).toBeGreaterThan(0);
    // Someone moves traffic by hand while the gate runs.
    await setWeights({ blue: 7, green: 3 });
    const changedAt = Date.now();
    const result = await run;
    expect(result.code, show(result)).toBe(1);
    expect(Date.now() - changedAt, 'halted without waiting for the gate to end').toBeLessThan(20_000);
    expect(result.stderr).toContain(`the weights of ${name} A were changed outside the run: blue=7 green=3`);
    const drift = (await journal(stateDir)).filter((e) => e.type === 'drift');
    expect(drift.map((e) => e.message)).toEqual([expect.stringContaining('weights changed outside the run')]);
    expect(await weights(), 'left as the operator set them').toEqual({ blue: 7, green: 3 });
  }, 5 * MINUTE);
});
