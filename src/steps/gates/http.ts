// `gate: http`: N consecutive answers with the expected status (and body pattern) from a URL, one look per
// interval. Uses node:http/https rather than fetch: fetch forbids setting Host, and teams hit the target
// cluster's ingress directly with the public Host name to test it before it takes traffic.
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { GateSpec } from '../../config/types.js';
import type { JsonValue } from '../types.js';
import { pass, wait, type GateCheck, type Verdict } from './types.js';

type HttpSpec = Extract<GateSpec, { type: 'http' }>;

/** What one request saw. */
export interface Probe {
  at: string;
  status?: number;
  /** Undefined when no body pattern is asked for. */
  bodyMatched?: boolean;
  error?: string;
  ms: number;
}

const MAX_BODY = 1024 * 1024;
const REQUEST_TIMEOUT_MS = 30_000;
/** The look at the deadline still gets a fair chance to answer: the gate may end this much late. */
const MIN_REQUEST_TIMEOUT_MS = 2_000;
const HISTORY = 10;

/** Whether one probe counts as a success, and why not. */
export function judgeProbe(spec: Pick<HttpSpec, 'expectStatus' | 'bodyPattern'>, probe: Probe): { ok: boolean; reason: string } {
  if (probe.error !== undefined) return { ok: false, reason: probe.error };
  if (probe.status !== spec.expectStatus) return { ok: false, reason: `status ${probe.status}, expected ${spec.expectStatus}` };
  if (probe.bodyMatched === false) return { ok: false, reason: `body does not match /${spec.bodyPattern}/` };
  return { ok: true, reason: `status ${probe.status}${spec.bodyPattern ? ', body matches' : ''}` };
}

/** The verdict after the latest probe: consecutive successes so far, reset by any failure. */
export function judgeStreak(spec: Pick<HttpSpec, 'expectStatus' | 'bodyPattern' | 'successes' | 'url'>, history: Probe[]): Verdict {
  let streak = 0;
  for (let i = history.length - 1; i >= 0 && judgeProbe(spec, history[i]!).ok; i--) streak++;
  const latest = history[history.length - 1];
  const reason = latest ? judgeProbe(spec, latest).reason : 'no request yet';
  const evidence: Record<string, JsonValue> = {
    url: spec.url,
    consecutive: streak,
    required: spec.successes,
    requests: history.length,
    recent: history.slice(-HISTORY).map((p) => ({ ...p }) as Record<string, JsonValue>),
  };
  const summary = `${spec.url}: ${streak}/${spec.successes} consecutive successes (last: ${reason})`;
  return streak >= spec.successes ? pass(summary, evidence) : wait(summary, evidence);
}

export function httpCheck(spec: HttpSpec, now: () => Date): GateCheck {
  const history: Probe[] = [];
  const pattern = spec.bodyPattern !== undefined ? new RegExp(spec.bodyPattern) : undefined;
  return {
    intervalMs: spec.intervalMs,
    async check(until, signal) {
      const timeoutMs = Math.min(REQUEST_TIMEOUT_MS, Math.max(MIN_REQUEST_TIMEOUT_MS, until.getTime() - now().getTime()));
      history.push(await probe(spec, pattern, timeoutMs, signal, now));
      return judgeStreak(spec, history);
    },
  };
}

/** One request; never throws for what the server did (refused, timed out, reset): that is the gate's evidence. */
export async function probe(spec: HttpSpec, pattern: RegExp | undefined, timeoutMs: number, signal: AbortSignal, now: () => Date): Promise<Probe> {
  const started = now();
  const at = started.toISOString();
  const elapsed = (): number => now().getTime() - started.getTime();
  try {
    const { status, body } = await request(spec, timeoutMs, signal);
    const result: Probe = { at, status, ms: elapsed() };
    if (pattern) result.bodyMatched = pattern.test(body);
    return result;
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    return { at, error: describeError(error), ms: elapsed() };
  }
}

function describeError(error: unknown): string {
  const e = error as { code?: string; message?: string };
  return e.code ? `${e.code}: ${e.message ?? ''}`.trim() : (e.message ?? String(error));
}

function request(spec: HttpSpec, timeoutMs: number, signal: AbortSignal): Promise<{ status: number; body: string }> {
  const url = new URL(spec.url);
  const secure = url.protocol === 'https:';
  const options: https.RequestOptions = { method: spec.method, headers: spec.headers, signal, timeout: timeoutMs };
  const host = hostHeader(spec.headers);
  // With a Host override the certificate to check is the one of that name, so SNI must carry it too.
  if (secure && host && isIP(host) === 0) options.servername = host;
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(url, options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < MAX_BODY) chunks.push(chunk);
        size += chunk.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs}ms`), { code: 'TIMEOUT' })));
    req.on('error', reject);
    req.end();
  });
}

/** The Host header's name without port, whatever the case of the header's key. */
function hostHeader(headers: Record<string, string>): string | undefined {
  const entry = Object.entries(headers).find(([key]) => key.toLowerCase() === 'host');
  return entry?.[1].replace(/:\d+$/, '');
}
