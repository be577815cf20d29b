// One run of a runbook at a time. The lock interface is shaped like a Kubernetes Lease (holder, since,
// expiry, renew) so a Lease-backed lock can stand in for the local lock file.
//
// The local lock is a file created with O_EXCL: creation either succeeds or names the current holder.
// A lock is stale when its process is dead on this host, or when its holder stopped renewing it past its
// expiry (another host, a frozen process). A holder whose process is provably gone (same host, no such
// pid) is taken over without asking; a lock that merely expired is taken only when the operator asks
// (`--steal-lock`): a frozen process or another host may still act, and the operator is the one who knows.
import { open, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { currentUser } from '../core/identity.js';
import { HaltError, LockedError } from '../core/errors.js';
import { errno, readIfExists, writeFileAtomic } from './files.js';

export interface LockHolder {
  /** Who holds the run: `user@host` for the lock file, the holderIdentity of a Lease. */
  holder: string;
  /** The operator the holding run records (`CUTOVER_USER`), when it was set. */
  operator?: string;
  since: string;
  /** The holder renews before this; past it, the lock may be stolen. */
  expiresAt: string;
  host?: string;
  pid?: number;
}

export interface LockRequest {
  /** Take over a stale lock (dead holder process or past its expiry). A live lock is never taken. */
  steal: boolean;
  /** The operator the run records (`CUTOVER_USER`), named to whoever finds the lock held. */
  operator?: string;
  ttlMs?: number;
}

export interface RunLock {
  readonly holder: LockHolder;
  /** Pushes the expiry forward; throws HaltError when someone else took the lock meanwhile. */
  renew(): Promise<void>;
  /** Gives the lock up; a lock someone else has taken over is left to them. */
  release(): Promise<void>;
}

export const DEFAULT_LOCK_TTL_MS = 120_000;

export interface FileLockOptions {
  now?: () => Date;
  /** Whether a process of this host still runs; tests stand in for a process that died. */
  isProcessAlive?: (pid: number) => boolean;
  host?: string;
  user?: string;
  pid?: number;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Locks that never expire (the in-memory store's) say nothing about expiry. */
const NEVER = Date.UTC(10_000, 0, 1);

export function describeHolder(holder: LockHolder): string {
  const who = holder.operator ? `${holder.operator} (${holder.holder})` : holder.holder;
  // A Lease identity (`user@host/pid/nonce`) names its pid already.
  const pid = holder.pid !== undefined && !holder.holder.includes(`/${holder.pid}/`) ? ` (pid ${holder.pid})` : '';
  const expires = Date.parse(holder.expiresAt) < NEVER ? ` (expires ${holder.expiresAt})` : '';
  return `${who}${pid} since ${holder.since}${expires}`;
}

/** The holder ran on this host and its process no longer exists: no run can be acting under the lock. */
export function holderIsGone(holder: LockHolder, host: string, isAlive: (pid: number) => boolean): boolean {
  return holder.host === host && holder.pid !== undefined && holder.pid !== process.pid && !isAlive(holder.pid);
}

/** Whether a held lock may be taken: its holder is provably gone, or it is stale and the operator asked. */
export function mayTakeOver(stale: string | undefined, gone: boolean, steal: boolean): boolean {
  return gone || (stale !== undefined && steal);
}

/** Why the lock may be taken over, or undefined while its holder is alive and renewing. */
export function staleReason(holder: LockHolder, now: Date, host: string, isAlive: (pid: number) => boolean): string | undefined {
  if (now.getTime() > Date.parse(holder.expiresAt)) return `it expired at ${holder.expiresAt}`;
  if (holder.host === host && holder.pid !== undefined && !isAlive(holder.pid)) {
    return `process ${holder.pid} is no longer running on ${host}`;
  }
  return undefined;
}

/**
 * Refuses at once when `holder` holds the lock and may not be taken over, so a second run says so before
 * it plans or prints anything. The lock is still taken for real (and may still be refused) when the run starts.
 */
export function refuseIfLocked(holder: LockHolder, steal: boolean, now = new Date(), host = hostname(), isAlive = processAlive): void {
  const stale = staleReason(holder, now, host, isAlive);
  if (!mayTakeOver(stale, holderIsGone(holder, host, isAlive), steal)) throw lockRefusal(holder, stale, steal);
}

export function lockRefusal(holder: LockHolder, stale: string | undefined, stealAsked: boolean): LockedError {
  const next = stale
    ? `The lock looks stale (${stale}). If that run is really gone, take the lock over with --steal-lock.`
    : stealAsked
      ? 'Its holder is alive and renewing the lock, so it cannot be stolen: wait for that run to finish or stop it.'
      : 'Wait for that run to finish or stop it.';
  return new LockedError(`run locked by ${describeHolder(holder)}`, next);
}

async function writeNew(file: string, holder: LockHolder): Promise<void> {
  const handle = await open(file, 'wx');
  try {
    await handle.writeFile(`${JSON.stringify(holder)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The holder named in the lock file; a torn file (crash while creating it) reads as expired at its mtime. */
export async function readFileLock(file: string): Promise<LockHolder | undefined> {
  const text = await readIfExists(file);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as LockHolder;
  } catch {
    const modified = (await stat(file)).mtime.toISOString();
    return { holder: 'unknown (unreadable lock file)', since: modified, expiresAt: modified };
  }
}

const sameHolder = (a: LockHolder | undefined, b: LockHolder): boolean =>
  a !== undefined && a.holder === b.holder && a.pid === b.pid && a.since === b.since;

class FileLock implements RunLock {
  constructor(
    private readonly file: string,
    public holder: LockHolder,
    private readonly ttlMs: number,
    private readonly now: () => Date,
  ) {}

  async renew(): Promise<void> {
    const current = await readFileLock(this.file);
    if (!sameHolder(current, this.holder)) {
      throw new HaltError(
        current ? `lost the run lock: it is now held by ${describeHolder(current)}` : 'lost the run lock: the lock file was removed',
        'Another cutover may be running this runbook: check `cutover status` before going on.',
      );
    }
    const renewed = { ...this.holder, expiresAt: new Date(this.now().getTime() + this.ttlMs).toISOString() };
    await writeFileAtomic(this.file, `${JSON.stringify(renewed)}\n`);
    this.holder = renewed;
  }

  async release(): Promise<void> {
    // Only our own lock is removed: after a steal, the file belongs to the run that stole it.
    if (sameHolder(await readFileLock(this.file), this.holder)) await unlink(this.file);
  }
}

/** Creates the lock file, or takes over a stale one when `steal` is asked; otherwise refuses with the holder. */
export async function acquireFileLock(file: string, request: LockRequest, options: FileLockOptions = {}): Promise<RunLock> {
  const now = options.now ?? (() => new Date());
  const host = options.host ?? hostname();
  const ttlMs = request.ttlMs ?? DEFAULT_LOCK_TTL_MS;
  const holder = newHolder(options, host, now(), ttlMs, request.operator);
  if (await tryCreate(file, holder)) return new FileLock(file, holder, ttlMs, now);

  const current = await readFileLock(file);
  if (!current) return acquireFileLock(file, request, options); // released between our two reads
  const isAlive = options.isProcessAlive ?? processAlive;
  const stale = staleReason(current, now(), host, isAlive);
  if (!mayTakeOver(stale, holderIsGone(current, host, isAlive), request.steal)) throw lockRefusal(current, stale, request.steal);

  await unlink(file).catch((error: unknown) => {
    if (errno(error) !== 'ENOENT') throw error;
  });
  // O_EXCL again: if another stealer was faster, it holds the lock now and we refuse.
  if (await tryCreate(file, holder)) return new FileLock(file, holder, ttlMs, now);
  const winner = await readFileLock(file);
  throw lockRefusal(winner ?? current, undefined, true);
}

function newHolder(options: FileLockOptions, host: string, since: Date, ttlMs: number, operator?: string): LockHolder {
  return {
    holder: `${options.user ?? currentUser()}@${host}`,
    ...(operator && operator !== `${options.user ?? currentUser()}@${host}` ? { operator } : {}),
    host,
    pid: options.pid ?? process.pid,
    since: since.toISOString(),
    expiresAt: new Date(since.getTime() + ttlMs).toISOString(),
  };
}

async function tryCreate(file: string, holder: LockHolder): Promise<boolean> {
  try {
    await writeNew(file, holder);
    return true;
  } catch (error) {
    if (errno(error) === 'EEXIST') return false;
    throw error;
  }
}
