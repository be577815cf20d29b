// Lab processes: started detached (they outlive `npm run lab:up`), each recorded in a pid file together with
// its exact command line. A pid alone is not proof: after a crash or reboot the number may belong to some
// other program, so a process counts as ours only while /proc/<pid>/cmdline still matches the record.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { labDir, pidDir, venvDir } from './layout.mjs';

/** @typedef {{ id: string, pid: number, argv: string[], log: string }} ProcRecord */

function readCmdline(pid) {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((part, i, all) => part !== '' || i < all.length - 1);
  } catch {
    return undefined;
  }
}

function isZombie(pid) {
  try {
    // The state letter follows the parenthesised command name, which may itself contain spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

/** True while the recorded process still runs the recorded command line. */
export function isRunning(record) {
  const argv = readCmdline(record.pid);
  if (!argv || isZombie(record.pid)) return false;
  return argv.length === record.argv.length && argv.every((arg, i) => arg === record.argv[i]);
}

/** @returns {ProcRecord[]} */
export function readRecords() {
  if (!existsSync(pidDir)) return [];
  return readdirSync(pidDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .flatMap((f) => {
      try {
        return [JSON.parse(readFileSync(join(pidDir, f), 'utf8'))];
      } catch {
        return [];
      }
    });
}

function removeRecord(id) {
  rmSync(join(pidDir, `${id}.json`), { force: true });
}

/**
 * Starts `argv` detached in its own process group with stdout and stderr appended to `log`, and records it.
 * @returns {ProcRecord}
 */
export function startDaemon(id, argv, log, env = process.env) {
  mkdirSync(pidDir, { recursive: true });
  const fd = openSync(log, 'a');
  try {
    const [cmd, ...args] = argv;
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env });
    if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
    // Reap the child if it dies while this script still runs, so a crash shows as "not running" at once.
    child.on('error', () => {});
    child.unref();
    const record = { id, pid: child.pid, argv, log };
    writeFileSync(join(pidDir, `${id}.json`), JSON.stringify(record, null, 2) + '\n');
    return record;
  } finally {
    closeSync(fd);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitGone(pid, isOurs, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isOurs()) return true;
    await sleep(100);
  }
  return !isOurs();
}

/** Stops one process by pid: SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
export async function stopProcess(pid, isOurs, graceMs = 15_000) {
  if (!isOurs()) return 'gone';
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'gone';
  }
  if (await waitGone(pid, isOurs, graceMs)) return 'stopped';
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return 'stopped';
  }
  if (await waitGone(pid, isOurs, 5_000)) return 'killed';
  throw new Error(`process ${pid} survived SIGKILL`);
}

/** Stops a recorded process (if it is still ours) and removes its pid file. */
export async function stopRecord(record) {
  const outcome = await stopProcess(record.pid, () => isRunning(record));
  removeRecord(record.id);
  return outcome;
}

/**
 * Lab processes of THIS checkout that no pid file accounts for (pid files lost, or a crashed `up`):
 * programs started from .lab/bin/ or the lab venv's moto_server. Matching on these paths never touches
 * another checkout's lab or anything else on the machine.
 */
export function findStrays(known) {
  const knownPids = new Set(known.map((r) => r.pid));
  const binDir = join(labDir, 'bin') + '/';
  const moto = join(venvDir, 'bin', 'moto_server');
  const strays = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid || knownPids.has(pid)) continue;
    const argv = readCmdline(pid);
    if (!argv || argv.length === 0 || isZombie(pid)) continue;
    const program = argv.slice(0, 2).includes(moto) ? 'moto_server' : (argv[0] ?? '').startsWith(binDir) ? basename(argv[0] ?? '') : '';
    if (program) strays.push({ id: `stray ${program}`, pid, argv, log: '' });
  }
  return strays;
}

const STOP_ORDER = ['podcompleter', 'kube-controller-manager', 'kube-apiserver', 'etcd', 'moto'];

/**
 * Records sorted so that clients stop before the servers they talk to: an apiserver whose etcd is gone
 * hangs in shutdown until it is killed.
 */
export function inStopOrder(records) {
  const rank = (r) => {
    const i = STOP_ORDER.findIndex((name) => r.id.includes(name));
    return i === -1 ? STOP_ORDER.length : i;
  };
  return [...records].sort((a, b) => rank(a) - rank(b));
}
