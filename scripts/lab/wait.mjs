// Health probes and bounded waits. Every wait has an absolute deadline and, when it fails, says which log
// to read; a process that exits while we wait fails the wait at once instead of running out the clock.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { rel } from './layout.mjs';

export class LabError extends Error {
  name = 'LabError';
}

/**
 * GET `url`; resolves (never rejects) with the status and body, or the connection error.
 * @param {{ ca?: Buffer, insecure?: boolean, timeoutMs?: number }} [opts]
 * @returns {Promise<{ status?: number, body?: string, error?: string }>}
 */
export function probe(url, opts = {}) {
  const lib = url.startsWith('https:') ? https : http;
  const tls = url.startsWith('https:') ? { ca: opts.ca, rejectUnauthorized: !opts.insecure } : {};
  return new Promise((resolve) => {
    const req = lib.get(url, { ...tls, timeout: opts.timeoutMs ?? 3_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode, body }));
      res.on('error', (err) => resolve({ error: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => resolve({ error: err.message }));
  });
}

export const describeProbe = (r) => (r.error ? r.error : `HTTP ${r.status} ${String(r.body ?? '').trim().slice(0, 200)}`);

function logTail(log, lines = 15) {
  try {
    const text = readFileSync(log, 'utf8').trimEnd().split('\n');
    return text.slice(-lines).map((l) => `    ${l}`).join('\n');
  } catch {
    return '    (no log written)';
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `check` until it returns true or the deadline passes.
 * @param {{ what: string, timeoutMs: number, log: string, alive?: () => boolean, check: () => Promise<{ ok: boolean, detail: string }> }} w
 */
export async function waitUntil(w) {
  const deadline = Date.now() + w.timeoutMs;
  let last = 'not checked yet';
  while (Date.now() < deadline) {
    if (w.alive && !w.alive()) {
      throw new LabError(`${w.what} exited during startup; see ${rel(w.log)}:\n${logTail(w.log)}`);
    }
    const r = await w.check();
    if (r.ok) return;
    last = r.detail;
    await sleep(500);
  }
  throw new LabError(
    `${w.what} not ready after ${Math.round(w.timeoutMs / 1000)}s (last check: ${last}); see ${rel(w.log)}:\n${logTail(w.log)}`,
  );
}

/** True when the log file contains `text` (a program that prints a line once it is serving). */
export function logContains(log, text) {
  try {
    return readFileSync(log, 'utf8').includes(text);
  } catch {
    return false;
  }
}
