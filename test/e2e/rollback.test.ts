// Issue 6, on the real lab and moto: `cutover execute` moves two minutely CronJobs to green and shifts 50%
// of the traffic; `cutover rollback` — killed once with SIGKILL after a save and resumed — moves them back
// to blue with the same handoff protocol and restores the weights to their values before the run. Both
// apiservers are watched throughout: never both copies enabled, no tick twice, blue only at the end.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, onTestFinished, test } from 'vitest';
import {
  SuspendWatch,
  batch,
  cutover,
  enabledWhere,
  minutelyCronJob,
  motoDnsLines,
  ranJobs,
  ticksRunTwice,
  type CliResult,
  writeHandoffRunbook,
} from '../support/crash.js';
import { createNamespace, motoCredentialsEnv, uniqueName } from '../support/lab.js';
import { weightedZone } from '../support/moto.js';

const show = (r: CliResult) => `exit ${r.code ?? r.signal}\n${r.stdout}\n${r.stderr}`;

describe('cutover rollback undoes a run (issue 6)', () => {

  test('CronJobs back on blue by the handoff protocol and weights as before the run, resumable after SIGKILL', async () => {
    const sweep = uniqueName('rollback');
    const namespace = uniqueName('rollback');
    await createNamespace('blue', 'rollback', namespace);
    await createNamespace('green', 'rollback', namespace);
    for (const name of ['alpha', 'beta']) {
      await batch('blue').createNamespacedCronJob({ namespace, body: minutelyCronJob(name, sweep, false) });
      await batch('green').createNamespacedCronJob({ namespace, body: minutelyCronJob(name, sweep, true) });
    }
    const { zoneId, name, weights } = await weightedZone('rollback', { blue: 200, green: 0 });
    const dir = await mkdtemp(join(tmpdir(), 'cutover-rollback-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const { runbook } = await writeHandoffRunbook(dir, [namespace], {
      name: 'undo',
      envExtra: motoDnsLines(zoneId, name),
      steps: ['  - preflight: {}', '  - moveCronJobs: {}', '  - shiftTraffic: { percent: 50 }'],
    });
    const env = { ...motoCredentialsEnv };
    const watch = new SuspendWatch({ sweep });
    await watch.start();
    onTestFinished(() => watch.stop());

    const executed = await cutover(['execute', '-f', runbook, '--yes'], { env });
    expect(executed.code, show(executed)).toBe(0);
    const shifted = await weights();
    expect(shifted.green, 'half the traffic on green').toBeGreaterThan(0);
    expect(shifted.green).toBe(shifted.blue);
    expect([...(await enabledWhere(sweep)).values()]).toEqual([['green'], ['green']]);

    // Killed after the third save of the rollback run (inside the weight restore), then resumed.
    const killed = await cutover(['rollback', '-f', runbook, '--yes'], { env: { ...env, CUTOVER_CRASH_AT: '3' }, hook: true });
    expect(killed.signal, show(killed)).toBe('SIGKILL');
    const rolledBack = await cutover(['rollback', '-f', runbook, '--yes', '--steal-lock'], { env });
    expect(rolledBack.code, show(rolledBack)).toBe(0);
    expect(rolledBack.stdout).toMatch(/resuming rollback run undo-rollback-\S+ at step \d/);

    expect(await weights()).toEqual({ blue: 200, green: 0 });
    expect([...(await enabledWhere(sweep)).values()]).toEqual([['blue'], ['blue']]);
    await watch.stop();
    expect(watch.bothEnabled()).toEqual([]);
    for (const key of [`${namespace}/alpha`, `${namespace}/beta`]) {
      // Back on blue only once green was seen suspended again.
      expect(watch.switchedAt('blue', key, false)!).toBeGreaterThan(watch.switchedAt('green', key, true)!);
    }
    expect(ticksRunTwice(await ranJobs(sweep))).toEqual([]);
    // The rollback is a run of its own beside the one it undid, with its own journal.
    const journal = await readFile(join(dir, 'state', 'undo-rollback', 'journal.ndjson'), 'utf8');
    expect(journal).toContain('rollback: Route 53 change');
    expect(journal).toContain('resumed by');
    // status shows both runs, the rollback first and in detail: it says where things are now (issue 18).
    const status = await cutover(['status', '-f', runbook, '--output', 'json'], { env });
    expect(status.code, show(status)).toBe(0);
    const view = JSON.parse(status.stdout) as { run: { runId: string; status: string }; runs: { kind: string; status: string }[] };
    expect(view.run).toMatchObject({ runId: expect.stringMatching(/^undo-rollback-/), status: 'done' });
    expect(view.runs.map((r) => [r.kind, r.status])).toEqual([
      ['rollback', 'done'],
      ['execute', 'done'],
    ]);
  }, 8 * 60_000);
});
