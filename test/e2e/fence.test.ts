// Issue 13 on the real lab apiserver (v1.34.4): `cutover fence` installs a ValidatingAdmissionPolicy that
// refuses an enabled copy of a selected CronJob on a cluster that does not own it; mode Warn reports
// without refusing; mode Mutate is refused where the server does not serve MutatingAdmissionPolicy;
// `cutover unfence` removes it, and is refused while a run holds the lock. No minute tick is waited for.
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, ApiException, CustomObjectsApi, type V1CronJob } from '@kubernetes/client-node';
import { afterAll, describe, expect, test } from 'vitest';
import { batch, cutover, showResult, writeHandoffRunbook, type RunbookFiles } from '../support/crash.js';
import { kubectlPath, runTool } from '../support/clients.js';
import { createNamespace, kubeConfigFor, labKubeconfigPath, uniqueName } from '../support/lab.js';

const dirs: string[] = [];
const policies: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  // A test that failed before its unfence leaves its cluster-scoped policy behind: removed here.
  for (const cluster of ['blue', 'green'] as const) {
    const admission = kubeConfigFor(cluster).makeApiClient(AdmissionregistrationV1Api);
    for (const name of policies) {
      await admission.deleteValidatingAdmissionPolicyBinding({ name }).catch(() => undefined);
      await admission.deleteValidatingAdmissionPolicy({ name }).catch(() => undefined);
    }
  }
});

function cronJob(name: string, suspend: boolean, labels: Record<string, string> = {}): V1CronJob {
  return {
    metadata: { name, labels },
    spec: {
      schedule: '0 3 * * *',
      suspend,
      jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox:1.36' }] } } } },
    },
  };
}

async function refusal(send: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await send();
    return undefined;
  } catch (error) {
    if (error instanceof ApiException) return `${error.code} ${String(error.body)}`;
    throw error;
  }
}

async function setup(prefix: string, extra: (ns: string) => string[] = () => []): Promise<{ ns: string; files: RunbookFiles }> {
  const ns = uniqueName(prefix);
  await createNamespace('blue', prefix, ns);
  await createNamespace('green', prefix, ns);
  const dir = await mkdtemp(join(tmpdir(), 'cutover-fence-'));
  dirs.push(dir);
  const name = uniqueName('fence');
  policies.push(`cutover-fence-${name}`);
  const files = await writeHandoffRunbook(dir, [ns], { name, extra: extra(ns) });
  return { ns, files };
}

describe('fence on the lab apiserver', () => {
  test.concurrent('Deny: an enabled copy is refused where not owned, a suspended one admitted; unfence lifts it', async () => {
    const { ns, files } = await setup('fence-deny', (ns) => [`  exclude: [${ns}/left-alone]`]);
    const fenced = await cutover(['fence', '-f', files.runbook, '--on', 'green']);
    expect(fenced.code, showResult(fenced)).toBe(0);
    expect(fenced.stdout).toMatch(/green \(target\): fenced \(mode Deny\)/);
    expect(fenced.stdout).toMatch(/default fenced/);

    const green = batch('green');
    const refused = await refusal(() => green.createNamespacedCronJob({ namespace: ns, body: cronJob('invoices', false) }));
    expect(refused).toMatch(/^403 .*cutover fence: CronJob .*\/invoices is not owned by this cluster/);
    // The runbook leaves an excluded CronJob where it is: so does the fence.
    await green.createNamespacedCronJob({ namespace: ns, body: cronJob('left-alone', false) });
    // A suspended copy is what building green needs: admitted.
    await green.createNamespacedCronJob({ namespace: ns, body: cronJob('invoices', true) });
    const patched = await refusal(() =>
      green.patchNamespacedCronJob({ namespace: ns, name: 'invoices', body: [{ op: 'replace', path: '/spec/suspend', value: false }] }),
    );
    expect(patched).toMatch(/^403 .*not owned by this cluster/);

    // Blue is the source: fenced with every CronJob owned by default, its copies run as before.
    const blueFence = await cutover(['fence', '-f', files.runbook, '--on', 'blue']);
    expect(blueFence.code, showResult(blueFence)).toBe(0);
    await batch('blue').createNamespacedCronJob({ namespace: ns, body: cronJob('invoices', false) });

    // Preflight's view, through plan: both fenced, nothing to warn about.
    const plan = await cutover(['plan', '-f', files.runbook]);
    expect(plan.stdout, showResult(plan)).toMatch(/blue \(source\): fenced \(mode Deny\)/);
    expect(plan.stderr).not.toMatch(/warning: fence/);

    for (const cluster of ['green', 'blue']) {
      const removed = await cutover(['unfence', '-f', files.runbook, '--on', cluster]);
      expect(removed.code, showResult(removed)).toBe(0);
      expect(removed.stdout).toMatch(/removed ValidatingAdmissionPolicyBinding\/cutover-fence-fence-[0-9a-f]+, ValidatingAdmissionPolicy/);
    }
    // Admission policies take effect through an informer: the removal shows within moments.
    let last: string | undefined = 'not tried';
    for (let i = 0; i < 40 && last !== undefined; i++) {
      last = await refusal(() => green.patchNamespacedCronJob({ namespace: ns, name: 'invoices', body: [{ op: 'replace', path: '/spec/suspend', value: false }] }));
      if (last !== undefined) await new Promise((r) => setTimeout(r, 250));
    }
    expect(last).toBeUndefined();
    const planAfter = await cutover(['plan', '-f', files.runbook]);
    expect(planAfter.stderr).toMatch(/warning: fence: green has no fence/);
    expect(planAfter.stderr).toMatch(/warning: fence: blue has no fence/);
  });

  test.concurrent('Warn: the write goes through with a warning, and plan warns about the copy enabled where not owned', async () => {
    const { ns, files } = await setup('fence-warn');
    const fenced = await cutover(['fence', '-f', files.runbook, '--on', 'green', '--mode', 'Warn']);
    expect(fenced.code, showResult(fenced)).toBe(0);
    expect(fenced.stdout).toMatch(/fenced \(mode Warn\)/);
    expect(fenced.stderr).toMatch(/mode Warn: it reports/);
    await batch('blue').createNamespacedCronJob({ namespace: ns, body: cronJob('report', false) });
    let created = false;
    for (let i = 0; i < 40 && !created; i++) {
      const refused = await refusal(() => batch('green').createNamespacedCronJob({ namespace: ns, body: cronJob('report', false) }));
      created = refused === undefined;
      if (!created) await new Promise((r) => setTimeout(r, 250));
    }
    expect(created).toBe(true);
    // What the operator of a deploy sees: the write succeeds, with the fence's warning. In mode Warn the
    // fence cannot prove itself in force by a refusal, so the first applies may come before it is.
    let applied = { code: -1, stdout: '', stderr: '' };
    let name = '';
    for (let i = 0; i < 30 && !/Warning: /.test(applied.stderr); i++) {
      name = `warned-${i}`;
      const manifest = join(files.dir, `${name}.yaml`);
      await writeFile(manifest, JSON.stringify({ apiVersion: 'batch/v1', kind: 'CronJob', ...cronJob(name, false) }));
      applied = await runTool(await kubectlPath(), ['--kubeconfig', labKubeconfigPath, '--context', 'lab-green', 'apply', '-n', ns, '-f', manifest]);
      expect(applied.code, applied.stderr).toBe(0);
      if (!/Warning: /.test(applied.stderr)) await new Promise((r) => setTimeout(r, 1_000));
    }
    expect(applied.stderr).toMatch(new RegExp(`Warning: .*cutover fence: CronJob ${ns}/${name} is not owned by this cluster`));
    expect((await batch('green').readNamespacedCronJob({ namespace: ns, name })).spec?.suspend).toBe(false);
    const plan = await cutover(['plan', '-f', files.runbook]);
    expect(plan.stderr, showResult(plan)).toMatch(new RegExp(`warning: fence: ${ns}/report is enabled on green, which does not own it`));
    const removed = await cutover(['unfence', '-f', files.runbook, '--on', 'green']);
    expect(removed.code, showResult(removed)).toBe(0);
  });

  test.concurrent('Mutate is refused with a clear message where the server does not serve MutatingAdmissionPolicy', async () => {
    const { files } = await setup('fence-mutate');
    const result = await cutover(['fence', '-f', files.runbook, '--on', 'green', '--mode', 'Mutate']);
    expect(result.code, showResult(result)).toBe(1);
    expect(result.stderr).toMatch(/does not serve admissionregistration\.k8s\.io\/v1beta1 MutatingAdmissionPolicy/);
    const plan = await cutover(['plan', '-f', files.runbook]);
    expect(plan.stdout).toMatch(/green \(target\): not fenced/);
  });

  test.concurrent('a namespace that does not exist yet is refused with what to do; unfence is refused while a run holds the lock', async () => {
    const { files } = await setup('fence-lock');
    const other = await mkdtemp(join(tmpdir(), 'cutover-fence-'));
    dirs.push(other);
    const missing = await writeHandoffRunbook(other, ['no-such-namespace-fence'], { name: uniqueName('fence') });
    const refused = await cutover(['fence', '-f', missing.runbook, '--on', 'green']);
    expect(refused.code, showResult(refused)).toBe(1);
    expect(refused.stderr).toMatch(/namespace no-such-namespace-fence does not exist on cluster green.*\n.*kubectl create namespace/);

    const fenced = await cutover(['fence', '-f', files.runbook, '--on', 'green']);
    expect(fenced.code, showResult(fenced)).toBe(0);
    // A live run's lock, as `cutover execute` writes it in the local state folder.
    const state = join(files.dir, 'state');
    await mkdir(state, { recursive: true });
    const lockFiles = await lockFileCandidates(state, files);
    for (const file of lockFiles) {
      await mkdir(join(file, '..'), { recursive: true });
      await writeFile(
        file,
        JSON.stringify({ holder: 'someone@host', since: new Date().toISOString(), expiresAt: new Date(Date.now() + 60_000).toISOString(), host: hostname(), pid: process.pid }),
      );
    }
    const held = await cutover(['unfence', '-f', files.runbook, '--on', 'green']);
    expect(held.code, showResult(held)).toBe(1);
    expect(held.stderr).toMatch(/holds the lock/);
    for (const file of lockFiles) await rm(file, { force: true });
    const removed = await cutover(['unfence', '-f', files.runbook, '--on', 'green']);
    expect(removed.code, showResult(removed)).toBe(0);
    const custom = kubeConfigFor('green').makeApiClient(CustomObjectsApi);
    // The record stays: it is the history of which cluster owns what.
    const record = (await custom.getNamespacedCustomObject({ group: 'cutover.dev', version: 'v1', namespace: await nsOf(files), plural: 'fencerecords', name: 'cutover-fence' })) as {
      spec: { default: string };
    };
    expect(record.spec.default).toBe('fenced');
  });
});

async function nsOf(files: RunbookFiles): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(files.runbook, 'utf8');
  return /namespaces: \[(.*)\]/.exec(text)![1]!;
}

/** Where the local state store keeps a runbook's lock file. */
async function lockFileCandidates(state: string, files: RunbookFiles): Promise<string[]> {
  const { readFile } = await import('node:fs/promises');
  const name = /^name: (.*)$/m.exec(await readFile(files.runbook, 'utf8'))![1]!;
  return [join(state, name, 'lock')];
}
