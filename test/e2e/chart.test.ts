// The Helm chart deploy/chart/cutover (issue 19): `helm lint` and `helm template` with the pinned helm, then
// a real install on the lab with blue as the management cluster, and the Job's container run exactly as
// the installed pod spec gives it: its args, working folder and env, its mounted ConfigMap and projected
// ServiceAccount token written into a temp folder standing for the mounts. The run must complete a
// cutover with its state and lock in the management cluster, reaching it with only the chart's RBAC.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BatchV1Api, CoordinationV1Api, CoreV1Api, type V1Container, type V1CronJob, type V1PodSpec, type V1ServiceAccountTokenProjection, type V1Volume, type V1VolumeProjection } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { IN_CLUSTER_ROOT_ENV } from '../../src/adapters/k8s/client.js';
import { chartDir, chartExampleValues, helm } from '../support/helm.js';
import { createNamespace, kubeConfigFor, labKubeconfigPath, repoRoot, uniqueName, waitFor } from '../support/lab.js';

type Doc = { kind: string; metadata: { name: string; annotations?: Record<string, string> }; [key: string]: unknown };

async function template(args: string[]): Promise<Doc[]> {
  const result = await helm(['template', 'cutover', chartDir, '--namespace', 'cutover', ...args]);
  expect(result.code, result.stderr).toBe(0);
  return parseAllDocuments(result.stdout)
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null);
}

const byKind = (docs: Doc[], kind: string): Doc => {
  const doc = docs.find((d) => d.kind === kind);
  if (!doc) throw new Error(`no ${kind} rendered; kinds: ${docs.map((d) => d.kind).join(', ')}`);
  return doc;
};
const podSpecOfJob = (job: Doc): V1PodSpec => (job as unknown as { spec: { template: { spec: V1PodSpec } } }).spec.template.spec;

describe('helm lint and helm template', () => {
  test('helm lint --strict is clean with a complete release', async () => {
    const result = await helm(['lint', chartDir, '--strict', '--namespace', 'cutover', '-f', chartExampleValues]);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    // helm lint only logs a template's `fail` and `required`: no such line may appear.
    expect(result.stderr).not.toMatch(/level=(WARN|ERROR)|funcMap fail/);
  });

  test('an install without the runbook is refused with what to pass', async () => {
    const result = await helm(['template', 'cutover', chartDir]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('runbook: pass the runbook file with --set-file runbook=');
  });

  test('a misspelt value or a Slack user that is not a member ID is refused by the values schema', async () => {
    const result = await helm(['template', 'cutover', chartDir, '-n', 'cutover', '-f', chartExampleValues, '--set', 'runBook=x', '--set', 'operator.slackUser=jane']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("additional properties 'runBook' not allowed");
    expect(result.stderr).toContain("at '/operator/slackUser': 'jane' does not match pattern");
  });

  test('a runbook that approves via terminal is refused: a pod has none, the run would halt there', async () => {
    const values = parseYaml(await readFile(chartExampleValues, 'utf8')) as { runbook: string };
    const dir = await mkdtemp(join(tmpdir(), 'cutover-chart-values-'));
    const runbook = join(dir, 'runbook.yaml');
    await writeFile(runbook, values.runbook.replace('via: slack', 'via: terminal'));
    const result = await helm(['template', 'cutover', chartDir, '-n', 'cutover', '-f', chartExampleValues, '--set-file', `runbook=${runbook}`]);
    await rm(dir, { recursive: true, force: true });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('runbook: steps.1 approves via terminal, and a pod has no terminal');
  });

  test('an environment keeping its runs outside the release namespace is refused', async () => {
    const result = await helm(['template', 'cutover', chartDir, '--namespace', 'ops', '-f', chartExampleValues]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('state.kubernetes.namespace is "cutover" but the release namespace is "ops"');
  });

  test('the Job runs `execute` non-root on a read-only root, with the files, token and Slack secret mounted', async () => {
    const docs = await template(['-f', chartExampleValues]);
    const job = byKind(docs, 'Job');
    expect(job.metadata.name).toBe('cutover-1');
    const pod = podSpecOfJob(job);
    const container = pod.containers[0]!;
    expect(container.command).toBeUndefined(); // the image's entrypoint: node /app/bin/cutover.js
    expect(container.args).toEqual(['execute', '-f', 'runbook.yaml', '--env', 'environment.yaml', '--yes']);
    expect(container.workingDir).toBe('/etc/cutover');
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
    expect(pod.serviceAccountName).toBe('cutover');
    expect(container.env).toContainEqual({
      name: 'SLACK_BOT_TOKEN',
      valueFrom: { secretKeyRef: { name: 'cutover-slack', key: 'SLACK_BOT_TOKEN' } },
    });
    expect(container.env).toContainEqual({ name: 'CUTOVER_SLACK_USER', value: 'U0JANE' });
    expect(container.volumeMounts?.map((m) => m.mountPath).sort()).toEqual(['/etc/cutover', '/tmp', '/var/run/secrets/kubernetes.io/serviceaccount']);
    const files = byKind(docs, 'ConfigMap') as unknown as { data: Record<string, string> };
    const values = parseYaml(await readFile(chartExampleValues, 'utf8')) as { runbook: string; environment: string };
    expect(files.data['runbook.yaml']).toBe(values.runbook);
    expect(files.data['environment.yaml']).toBe(values.environment);
  });

  test('IRSA: the ServiceAccount carries the role annotation for the AWS SDK default chain', async () => {
    const sa = byKind(await template(['-f', chartExampleValues]), 'ServiceAccount');
    expect(sa.metadata.annotations).toEqual({ 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/cutover' });
  });

  test('the Role grants exactly the state rules of deploy/rbac/cutover-state.role.yaml', async () => {
    const role = byKind(await template(['-f', chartExampleValues]), 'Role') as unknown as { rules: unknown };
    const reference = parseYaml(await readFile(join(repoRoot, 'deploy/rbac/cutover-state.role.yaml'), 'utf8')) as { rules: unknown };
    expect(role.rules).toEqual(reference.rules);
  });

  test('the rehearsal CronJob is created suspended and runs `rehearse`', async () => {
    const cronJob = byKind(await template(['-f', chartExampleValues]), 'CronJob') as unknown as V1CronJob;
    expect(cronJob.spec?.suspend).toBe(true);
    expect(cronJob.spec?.jobTemplate.spec?.template.spec?.containers[0]?.args).toEqual(['rehearse', '-f', 'runbook.yaml', '--env', 'environment.yaml']);
  });
});

// ------------------------------------------------------------------------------------------- on the lab

/** The environment and runbook a team would pass with --set-file: workload clusters blue and green. */
function releaseFiles(stateNamespace: string, workloadNamespace: string, runbook: string): { environment: string; runbook: string } {
  const kubeconfig = JSON.stringify(labKubeconfigPath);
  return {
    environment: [
      'apiVersion: cutover.dev/v1',
      'kind: Environment',
      'name: management-e2e',
      'clusters:',
      `  blue: { kubeconfig: { context: lab-blue, path: ${kubeconfig} } }`,
      `  green: { kubeconfig: { context: lab-green, path: ${kubeconfig} } }`,
      `state: { kubernetes: { namespace: ${stateNamespace} } }`,
      '',
    ].join('\n'),
    runbook: [
      'apiVersion: cutover.dev/v1',
      'kind: Runbook',
      `name: ${runbook}`,
      'environment: environment.yaml',
      'from: blue',
      'to: green',
      'cronjobs:',
      `  namespaces: [${workloadNamespace}]`,
      'steps:',
      '  - preflight: {}',
      '  - moveCronJobs: {}',
      '',
    ].join('\n'),
  };
}

/** A daily CronJob: no tick falls inside the test, so the handoff has no Job to drain. */
const dailyCronJob = (name: string, suspend: boolean): V1CronJob => ({
  metadata: { name },
  spec: {
    schedule: '17 3 * * *',
    suspend,
    jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'work', image: 'busybox' }] } } } },
  },
});

/**
 * Writes what the kubelet would mount for `volume` into `dir`: a ConfigMap's keys, a projected
 * ServiceAccount token (minted with the TokenRequest API for the pod's ServiceAccount), CA and namespace.
 */
async function materialize(volume: V1Volume, dir: string, pod: V1PodSpec, namespace: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const at: Mount = { core: kubeConfigFor('blue').makeApiClient(CoreV1Api), dir, pod, namespace };
  if (volume.configMap) return configMapFiles(at, volume.configMap);
  if (volume.emptyDir) return;
  if (!volume.projected) throw new Error(`no stand-in for volume ${volume.name}`);
  for (const source of volume.projected.sources ?? []) await projectedFiles(at, source);
}

/** Where a volume is written: the folder, for which pod, in which namespace. */
interface Mount {
  core: CoreV1Api;
  dir: string;
  pod: V1PodSpec;
  namespace: string;
}

async function configMapFiles(at: Mount, { name = '', items }: { name?: string; items?: { key: string; path: string }[] }): Promise<void> {
  const { core, namespace } = at;
  // kube-root-ca.crt is published by kube-controller-manager shortly after the namespace is created.
  const configMap = await waitFor(`ConfigMap ${namespace}/${name}`, () => core.readNamespacedConfigMap({ name, namespace }).catch(() => undefined), { timeoutMs: 30_000 });
  const data = configMap.data ?? {};
  const entries = items ? items.map((i) => [i.path, data[i.key] ?? ''] as const) : Object.entries(data);
  for (const [path, text] of entries) await writeFile(join(at.dir, path), text);
}

async function projectedFiles(at: Mount, source: V1VolumeProjection): Promise<void> {
  if (source.serviceAccountToken) return tokenFile(at, source.serviceAccountToken);
  if (source.configMap) return configMapFiles(at, source.configMap);
  if (!source.downwardAPI) throw new Error(`no stand-in for projected source ${JSON.stringify(source)}`);
  for (const item of source.downwardAPI.items ?? []) {
    if (item.fieldRef?.fieldPath !== 'metadata.namespace') throw new Error(`no stand-in for downward API field ${item.fieldRef?.fieldPath}`);
    await writeFile(join(at.dir, item.path), at.namespace);
  }
}

/** A projected ServiceAccount token, minted with the TokenRequest API for the pod's ServiceAccount. */
async function tokenFile(at: Mount, t: V1ServiceAccountTokenProjection): Promise<void> {
  const request = await at.core.createNamespacedServiceAccountToken({
    name: at.pod.serviceAccountName!,
    namespace: at.namespace,
    body: { spec: { audiences: t.audience ? [t.audience] : [], expirationSeconds: t.expirationSeconds ?? 3600 } },
  });
  await writeFile(join(at.dir, t.path), request.status?.token ?? '');
}

/** Every volume the container mounts, written under `mounts`. */
async function mountVolumes(spec: V1PodSpec, namespace: string, mounts: string): Promise<void> {
  for (const mount of spec.containers[0]!.volumeMounts ?? []) {
    const volume = spec.volumes?.find((v) => v.name === mount.name);
    if (!volume) throw new Error(`volumeMount ${mount.name} names no volume`);
    await materialize(volume, join(mounts, mount.mountPath), spec, namespace);
  }
}

/** The container's environment as the kubelet gives it: its env values, the API server address, the mounts. */
function containerEnv(container: V1Container, mounts: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.valueFrom) throw new Error(`env ${e.name} comes from ${JSON.stringify(e.valueFrom)}: no stand-in in this test`);
    env[e.name] = e.value ?? '';
  }
  const server = new URL(kubeConfigFor('blue').getCurrentCluster()!.server);
  return {
    ...env,
    KUBERNETES_SERVICE_HOST: server.hostname,
    KUBERNETES_SERVICE_PORT: server.port || '443',
    [IN_CLUSTER_ROOT_ENV]: mounts,
    HOME: join(mounts, env.HOME ?? '/tmp'),
    PATH: dirname(process.execPath),
  };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Holders of the run's Lease seen while the process ran. */
  leaseHolders: Set<string>;
}

describe('installed on the lab, blue as the management cluster', () => {
  const runbookName = uniqueName('mgmt');
  const release = 'cutover';
  let stateNs: string;
  let workloadNs: string;
  let root: string;
  let pod: V1PodSpec;
  let run: Run;
  let rehearsal: Run;
  let rehearsalLeftBlue: boolean | undefined;

  beforeAll(async () => {
    stateNs = await createNamespace('blue', 'chart-state');
    workloadNs = await createNamespace('blue', 'chart-work');
    await createNamespace('green', 'chart-work', workloadNs);
    await kubeConfigFor('blue').makeApiClient(BatchV1Api).createNamespacedCronJob({ namespace: workloadNs, body: dailyCronJob('nightly-report', false) });
    await kubeConfigFor('green').makeApiClient(BatchV1Api).createNamespacedCronJob({ namespace: workloadNs, body: dailyCronJob('nightly-report', true) });

    root = await mkdtemp(join(tmpdir(), 'cutover-chart-'));
    const files = releaseFiles(stateNs, workloadNs, runbookName);
    await writeFile(join(root, 'runbook.yaml'), files.runbook);
    await writeFile(join(root, 'environment.yaml'), files.environment);
    const installed = await helm(
      ['install', release, chartDir, '--namespace', stateNs, '--set', 'rehearsal.enabled=true', '--set-file', `runbook=${join(root, 'runbook.yaml')}`, '--set-file', `environment=${join(root, 'environment.yaml')}`],
      { context: 'lab-blue' },
    );
    expect(installed.code, installed.stderr).toBe(0);

    const batch = kubeConfigFor('blue').makeApiClient(BatchV1Api);
    // The rehearsal first (it changes nothing), then the cutover.
    const cronJob = await batch.readNamespacedCronJob({ name: `${release}-rehearse`, namespace: stateNs });
    rehearsal = await runContainer(cronJob.spec!.jobTemplate.spec!.template.spec!, stateNs, join(root, 'rehearsal-mounts'));
    rehearsalLeftBlue = (await batch.readNamespacedCronJob({ name: 'nightly-report', namespace: workloadNs })).spec?.suspend;
    const job = await batch.readNamespacedJob({ name: `${release}-1`, namespace: stateNs });
    pod = job.spec!.template.spec!;
    run = await runContainer(pod, stateNs, join(root, 'mounts'));
  });

  afterAll(async () => {
    await helm(['uninstall', release, '--namespace', stateNs], { context: 'lab-blue' });
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** The container's process, as the pod spec gives it, on this machine: node + the image's entrypoint script. */
  async function runContainer(spec: V1PodSpec, namespace: string, mounts: string): Promise<Run> {
    const container = spec.containers[0]!;
    await mountVolumes(spec, namespace, mounts);
    const env = containerEnv(container, mounts);
    const child = spawn(process.execPath, [join(repoRoot, 'bin/cutover.js'), ...(container.args ?? [])], {
      cwd: join(mounts, container.workingDir ?? '/'),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const result: Run = { code: null, stdout: '', stderr: '', leaseHolders: new Set() };
    child.stdout.on('data', (d: Buffer) => (result.stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (result.stderr += d.toString()));
    const exited = new Promise<void>((done) => child.on('close', (code) => ((result.code = code), done())));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    const coordination = kubeConfigFor('blue').makeApiClient(CoordinationV1Api);
    let running = true;
    void exited.then(() => (running = false));
    while (running) {
      const lease = await coordination.readNamespacedLease({ name: `cutover-${runbookName}`, namespace }).catch(() => undefined);
      if (lease?.spec?.holderIdentity) result.leaseHolders.add(lease.spec.holderIdentity);
      await new Promise((r) => setTimeout(r, 100));
    }
    await exited;
    clearTimeout(timer);
    return result;
  }

  test('the rehearsal CronJob\'s command simulates the runbook on the live clusters and changes nothing', () => {
    expect(rehearsal.code, `${rehearsal.stdout}\n${rehearsal.stderr}`).toBe(0);
    expect(rehearsal.stdout).toMatch(/^Double runs: 0$/m);
    expect(rehearsal.leaseHolders.size).toBe(0);
    expect(rehearsalLeftBlue).toBe(false);
  });

  test('the Job command completes the cutover: source suspended, target enabled', async () => {
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const blue = await kubeConfigFor('blue').makeApiClient(BatchV1Api).readNamespacedCronJob({ name: 'nightly-report', namespace: workloadNs });
    const green = await kubeConfigFor('green').makeApiClient(BatchV1Api).readNamespacedCronJob({ name: 'nightly-report', namespace: workloadNs });
    expect([blue.spec?.suspend, green.spec?.suspend]).toEqual([true, false]);
  });

  test('the run state is in ConfigMaps of the release namespace on the management cluster, marked done', async () => {
    const core = kubeConfigFor('blue').makeApiClient(CoreV1Api);
    const snapshot = await core.readNamespacedConfigMap({ name: `cutover-${runbookName}`, namespace: stateNs });
    const persisted = JSON.parse(snapshot.data?.['snapshot.json'] ?? '{}') as { status?: string; runbook?: string };
    expect(persisted).toMatchObject({ status: 'done', runbook: runbookName });
    const journal = await core.readNamespacedConfigMap({ name: `cutover-${runbookName}-journal-0`, namespace: stateNs });
    expect(journal.data?.['journal.ndjson']).toContain('nightly-report');
  });

  test('the run held the Lease in the management cluster while it ran, and released it', async () => {
    expect(run.leaseHolders.size).toBe(1);
    const coordination = kubeConfigFor('blue').makeApiClient(CoordinationV1Api);
    await expect(coordination.readNamespacedLease({ name: `cutover-${runbookName}`, namespace: stateNs })).rejects.toMatchObject({ code: 404 });
  });

  test('progress came as plain lines, no terminal codes', () => {
    expect(run.stdout + run.stderr).not.toContain('\u001b[');
    expect(run.stdout).toMatch(/nightly-report/);
  });

  test('helm upgrade --reuse-values replaces the finished Job with the next revision\'s, same command', async () => {
    const upgraded = await helm(['upgrade', release, chartDir, '--namespace', stateNs, '--reuse-values'], { context: 'lab-blue' });
    expect(upgraded.code, upgraded.stderr).toBe(0);
    const batch = kubeConfigFor('blue').makeApiClient(BatchV1Api);
    const jobs = await batch.listNamespacedJob({ namespace: stateNs, labelSelector: 'app.kubernetes.io/component=execute' });
    const live = jobs.items.filter((j) => !j.metadata?.deletionTimestamp).map((j) => j.metadata?.name);
    expect(live).toEqual([`${release}-2`]);
    const next = (await batch.readNamespacedJob({ name: `${release}-2`, namespace: stateNs })).spec!.template.spec!;
    expect(next.containers[0]?.args).toEqual(pod.containers[0]?.args);
  });

  test('the token the pod gets reaches nothing but the chart Role grants: no ConfigMaps of another namespace', async () => {
    const token = await readFile(join(root, 'mounts/var/run/secrets/kubernetes.io/serviceaccount/token'), 'utf8');
    const server = kubeConfigFor('blue').getCurrentCluster()!.server;
    const ca = await readFile(join(root, 'mounts/var/run/secrets/kubernetes.io/serviceaccount/ca.crt'));
    const status = await new Promise<number | undefined>((done, fail) => {
      const req = https.get(`${server}/api/v1/namespaces/${workloadNs}/configmaps`, { ca, headers: { Authorization: `Bearer ${token}` } }, (res) => {
        res.resume();
        done(res.statusCode);
      });
      req.on('error', fail);
    });
    expect(status).toBe(403);
  });
});
