// lab up / down / status.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { makeClusterCredentials } from './certs.mjs';
import { clusterComponents } from './components.mjs';
import { componentKubeconfigs, writeLabKubeconfig } from './kubeconfig.mjs';
import { MOTO_PORT, buildScript, clusterFiles, clusters, kubeconfigPath, labDir, rel, root, runDir } from './layout.mjs';
import { ensureVenv, motoComponent, registerEksClusters } from './moto.mjs';
import { findStrays, inStopOrder, isRunning, readRecords, startDaemon, stopRecord } from './procs.mjs';
import { allHealthy, inspect } from './state.mjs';
import { LabError, waitUntil } from './wait.mjs';

const log = (msg) => console.log(`lab: ${msg}`);

function requireTool(cmd, args, hint) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  if (r.error) throw new LabError(`${cmd} not found on PATH: ${hint}`);
}

/** Builds (or finds cached) binaries; returns their folder. Build progress goes to our stderr. */
function buildBinaries() {
  requireTool('go', ['version'], 'the lab builds Kubernetes from Go modules and needs Go 1.24 or newer');
  const r = spawnSync('bash', [buildScript], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (r.status !== 0) throw new LabError(`building the lab binaries failed (exit ${r.status}); see the output above`);
  const bin = r.stdout.trim().split('\n').pop() ?? '';
  if (!existsSync(join(bin, 'kube-apiserver'))) throw new LabError(`build printed no binary folder (got "${bin}")`);
  return bin;
}

function portFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function labPorts() {
  const ports = clusters.flatMap((c) => [
    [c.etcdClient, `${c.name} etcd client`],
    [c.etcdPeer, `${c.name} etcd peer`],
    [c.apiserver, `${c.name} kube-apiserver`],
    [c.controllerManager, `${c.name} kube-controller-manager`],
  ]);
  return [...ports, [MOTO_PORT, 'moto_server']];
}

async function checkPorts() {
  const busy = [];
  for (const [port, what] of labPorts()) if (!(await portFree(port))) busy.push(`127.0.0.1:${port} (${what})`);
  if (busy.length > 0) {
    throw new LabError(
      `port(s) already in use by another program: ${busy.join(', ')}.\n` +
        `  Find the owner with \`ss -ltnp | grep -E ':(${busy.map((b) => b.split(':')[1]?.split(' ')[0]).join('|')})\\b'\` and stop it; the lab's ports are fixed (scripts/lab/layout.mjs, docs/lab.md).`,
    );
  }
}

/** Stops every lab process, recorded (and still ours) or stray, clients before the servers they use. */
async function stopAll(reason) {
  const records = readRecords();
  const live = records.filter(isRunning);
  const strays = findStrays(records);
  if (live.length + strays.length > 0) log(`${reason}: stopping ${live.length + strays.length} process(es)`);
  for (const r of inStopOrder([...records, ...strays])) {
    const outcome = await stopRecord(r);
    if (outcome !== 'gone') log(`  ${r.id} (pid ${r.pid}) ${outcome}`);
  }
  return live.length + strays.length;
}

async function startComponent(component) {
  const record = startDaemon(component.id, component.argv, component.log);
  await waitUntil({ what: component.what, timeoutMs: component.timeoutMs, log: component.log, alive: () => isRunning(record), check: component.check });
  log(`  ${component.what} ready (pid ${record.pid})`);
}

async function startCluster(bin, cluster) {
  for (const component of clusterComponents(bin, cluster)) await startComponent(component);
}

function prepareRunDir() {
  rmSync(runDir, { recursive: true, force: true });
  const tokens = {};
  for (const c of clusters) {
    const f = clusterFiles(c.name);
    mkdirSync(f.controllerCertDir, { recursive: true });
    tokens[c.name] = makeClusterCredentials(c.name);
    componentKubeconfigs(c, tokens[c.name]);
  }
  writeLabKubeconfig(kubeconfigPath, clusters, tokens);
}

const lockPath = join(labDir, 'lab.lock');

/**
 * Runs `fn` holding .lab/lab.lock, so two `up`/`down` at once (two terminals, a test run) cannot start
 * the same processes twice. A lock left by a dead process is taken over.
 */
function takeLock() {
  mkdirSync(labDir, { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
      return;
    } catch (err) {
      if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'EEXIST') throw err;
    }
    const holder = Number(readFileSync(lockPath, 'utf8'));
    if (holder && existsSync(`/proc/${holder}`)) {
      throw new LabError(`another lab command (pid ${holder}) is running; wait for it to finish (lock ${rel(lockPath)})`);
    }
    rmSync(lockPath, { force: true });
  }
  throw new LabError(`could not take ${rel(lockPath)}`);
}

async function withLock(fn) {
  takeLock();
  try {
    return await fn();
  } finally {
    rmSync(lockPath, { force: true });
  }
}

export const up = () => withLock(upUnlocked);
export const down = () => withLock(downUnlocked);

async function upUnlocked() {
  const before = await inspect();
  if (before.some((s) => s.record) && allHealthy(before)) {
    await registerEksClusters(clusters.map((c) => c.name));
    log(`already up and healthy (kubeconfig ${rel(kubeconfigPath)}); nothing to do`);
    return 0;
  }
  requireTool('openssl', ['version'], 'the lab makes its certificates with openssl (apt-get install openssl)');
  const bin = buildBinaries();
  ensureVenv();
  await stopAll('found processes of an earlier lab that is not healthy');
  await checkPorts();
  const started = Date.now();
  prepareRunDir();
  log(`starting clusters ${clusters.map((c) => c.name).join(', ')} and moto_server (logs in ${rel(runDir)}/)`);
  try {
    await Promise.all([...clusters.map((c) => startCluster(bin, c)), startComponent(motoComponent())]);
    await registerEksClusters(clusters.map((c) => c.name));
  } catch (err) {
    await stopAll('startup failed');
    throw err;
  }
  log(`up in ${Math.round((Date.now() - started) / 1000)}s; kubeconfig ${rel(kubeconfigPath)} (contexts ${clusters.map((c) => `lab-${c.name}`).join(', ')}), moto http://127.0.0.1:${MOTO_PORT}`);
  return 0;
}

async function downUnlocked() {
  const stopped = await stopAll('stopping the lab');
  log(stopped > 0 ? `down (logs kept in ${rel(runDir)}/)` : 'not running; nothing to stop');
  return 0;
}

export async function status() {
  const states = await inspect();
  const strays = findStrays(readRecords());
  for (const s of states) {
    const pid = s.running ? `pid ${s.record?.pid}` : '-';
    const port = s.component.port ? `127.0.0.1:${s.component.port}` : '';
    console.log(`${s.component.what.padEnd(32)} ${pid.padEnd(10)} ${port.padEnd(16)} ${s.detail}`);
  }
  for (const s of strays) console.log(`${s.id.padEnd(32)} pid ${s.pid} not recorded in a pid file (\`npm run lab:down\` stops it)`);
  const healthy = allHealthy(states);
  const anyRunning = states.some((s) => s.running) || strays.length > 0;
  console.log(healthy ? `lab: up (kubeconfig ${rel(kubeconfigPath)})` : anyRunning ? 'lab: DEGRADED (`npm run lab:up` restarts it)' : 'lab: down');
  return healthy ? 0 : 1;
}
