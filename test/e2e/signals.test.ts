// Issue 6, on the real lab: SIGINT or SIGTERM while `cutover execute` waits for a running Job to drain.
// The run stops at a recorded point (status aborted), exits 1 saying how to resume, holds no lock, and
// `cutover execute` again completes the handoff: green only, never both enabled.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, onTestFinished, test } from 'vitest';
import { SuspendWatch, batch, cutover, enabledWhere, minutelyCronJob, ranJobs, writeHandoffRunbook } from '../support/crash.js';
import { createNamespace, uniqueName, waitFor } from '../support/lab.js';

async function journalText(stateDir: string): Promise<string> {
  return readFile(join(stateDir, 'journal.ndjson'), 'utf8').catch(() => '');
}

async function interruptDuringDrain(signal: 'SIGINT' | 'SIGTERM'): Promise<void> {
  const sweep = uniqueName(`signal-${signal.toLowerCase()}`);
  const namespace = uniqueName('signals');
  await createNamespace('blue', 'signals', namespace);
  await createNamespace('green', 'signals', namespace);
  // `long` keeps a Job running for 70 s: the handoff must wait for it (drain).
  await batch('blue').createNamespacedCronJob({ namespace, body: minutelyCronJob('long', sweep, false, 70) });
  await batch('green').createNamespacedCronJob({ namespace, body: minutelyCronJob('long', sweep, true, 70) });
  const watch = new SuspendWatch({ sweep });
  await watch.start();
  onTestFinished(() => watch.stop());
  await waitFor('a running Job of `long` on blue', async () => ((await ranJobs(sweep)).length > 0 ? true : undefined), {
    timeoutMs: 90_000,
    intervalMs: 1_000,
  });

  const dir = await mkdtemp(join(tmpdir(), 'cutover-signals-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  const { runbook } = await writeHandoffRunbook(dir, [namespace], { name: 'signals' });
  const stateDir = join(dir, 'state', 'signals');

  let sentAt = 0;
  const stopped = await cutover(['execute', '-f', runbook, '--yes'], {
    started: (child) => {
      void waitFor('the drain wait in the journal', async () => ((await journalText(stateDir)).includes('to finish on blue') ? true : undefined), {
        timeoutMs: 120_000,
        intervalMs: 200,
      }).then(() => {
        sentAt = Date.now();
        child.kill(signal);
      });
    },
  });
  const output = `${stopped.stdout}\n${stopped.stderr}`;
  expect(sentAt, output).toBeGreaterThan(0);
  expect(stopped.code, output).toBe(1);
  expect(output).toContain(`${signal}: stopping at the next safe point`);
  expect(stopped.stderr).toMatch(/halted: run \S+ stopped: stopped during step 2 \(.*\); the run can be resumed/);
  expect(stopped.stderr).toContain(`Run \`cutover execute -f ${runbook}\` again to resume`);

  const persisted = JSON.parse(await readFile(join(stateDir, 'snapshot.json'), 'utf8')) as { status: string };
  expect(persisted.status).toBe('aborted');
  await expect(readFile(join(stateDir, 'lock'), 'utf8'), 'the lock is released').rejects.toThrow();
  // Stopped mid-handoff: the source is suspended (confirmed before the drain), the target not yet resumed.
  expect((await enabledWhere(sweep)).get(`${namespace}/long`)).toEqual([]);

  const resumed = await cutover(['execute', '-f', runbook, '--yes']);
  expect(resumed.code, `${resumed.stdout}\n${resumed.stderr}`).toBe(0);
  expect(resumed.stdout).toMatch(/resuming run \S+ at step 2/);
  expect((await enabledWhere(sweep)).get(`${namespace}/long`)).toEqual(['green']);
  await watch.stop();
  expect(watch.bothEnabled()).toEqual([]);
  expect((await journalText(stateDir)).split('\n').some((l) => l.includes('"type":"run"') && l.includes('resumed by'))).toBe(true);
}

describe('an interrupted execute stops at a resumable point (issue 6)', () => {

  // Side by side (each in namespaces of its own): both wait for a minute tick to have a Job to drain.
  test('SIGINT or SIGTERM during the drain wait: exit 1, how to resume, aborted run, and the re-run completes', async () => {
    await Promise.all([interruptDuringDrain('SIGINT'), interruptDuringDrain('SIGTERM')]);
  }, 6 * 60_000);
});
