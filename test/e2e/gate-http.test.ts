// The http gate against real local HTTP servers: a healthy one, one that flaps, one that fails, and none.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HaltError } from '../../src/core/errors.js';
import type { GateSpec, GateStep } from '../../src/config/types.js';
import { gate } from '../../src/steps/gate.js';
import { stepRuntime, testEnvironment, testLoaded, testRun, virtualClock } from '../support/step-runtime.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

const servers: http.Server[] = [];

async function serve(handler: Handler): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

function httpGate(url: string, overrides: Partial<Extract<GateSpec, { type: 'http' }>> = {}, timeoutMs = 30_000): GateStep {
  return {
    kind: 'gate',
    name: 'api healthy',
    timeoutMs,
    gate: { type: 'http', url, method: 'GET', headers: {}, expectStatus: 200, successes: 3, intervalMs: 2_000, ...overrides },
  };
}

function runGate(step: GateStep) {
  const clock = virtualClock();
  const run = testRun({ loaded: testLoaded(testEnvironment(), [step]), ports: {}, clock });
  return { run, result: gate(stepRuntime(run, 0)) };
}

describe('http gate', () => {
  let healthy: string;
  let flapping: string;
  let failing: string;
  const hostsSeen: string[] = [];

  beforeAll(async () => {
    healthy = await serve((req, res) => {
      hostsSeen.push(req.headers.host ?? '');
      res.end(`ok host=${req.headers.host}`);
    });
    let n = 0;
    flapping = await serve((_req, res) => {
      res.statusCode = n++ % 2 === 0 ? 200 : 503;
      res.end('ok');
    });
    failing = await serve((_req, res) => {
      res.statusCode = 500;
      res.end('database down');
    });
  });

  it('passes after N consecutive successes and sends the Host override to the ingress', async () => {
    const { run, result } = runGate(httpGate(`${healthy}/healthz`, { headers: { Host: 'api.example.com' }, bodyPattern: '^ok host=api\\.example\\.com$' }));
    await expect(result).resolves.toMatchObject({ status: 'pass', looks: 3, evidence: { consecutive: 3, requests: 3 } });
    expect(hostsSeen.slice(-3)).toEqual(['api.example.com', 'api.example.com', 'api.example.com']);
    expect(run.entries.filter((e) => e.type === 'gate')).toHaveLength(1);
  });

  it('halts at the deadline when the answers flap, never reaching N in a row', async () => {
    const { run, result } = runGate(httpGate(flapping, {}, 20_000));
    await expect(result).rejects.toThrow(HaltError);
    await expect(result).rejects.toThrow(/did not pass within 20s.*consecutive successes/s);
    const evidence = run.entries[0]?.data?.evidence as { consecutive: number; requests: number; recent: { status: number }[] };
    expect(evidence.requests).toBeGreaterThanOrEqual(10);
    expect(evidence.consecutive).toBeLessThanOrEqual(1);
    expect(new Set(evidence.recent.map((p) => p.status))).toEqual(new Set([200, 503]));
  });

  it('halts with the status and body mismatch as evidence when the service fails', async () => {
    const { run, result } = runGate(httpGate(failing, { bodyPattern: 'ok' }, 10_000));
    await expect(result).rejects.toThrow(/status 500, expected 200/);
    expect(run.entries[0]?.data).toMatchObject({ status: 'wait', evidence: { consecutive: 0 } });
  });

  it('records a refused connection as evidence rather than crashing', async () => {
    const closed = await serve(() => undefined);
    const server = servers.pop()!;
    await new Promise((resolve) => server.close(resolve));
    const { result } = runGate(httpGate(closed, {}, 6_000));
    await expect(result).rejects.toThrow(/ECONNREFUSED/);
  });
});
