// A fault-injecting HTTPS proxy in front of a lab apiserver. It serves with the apiserver's own serving
// certificate (issued by the lab CA for 127.0.0.1), so a kubeconfig that trusts the lab CA only needs
// its `server:` pointed at the proxy. About `rate` of the requests get a fault:
//   unavailable  503 with a Status body, the request never reaches the server
//   lost-reply   the request reaches the server, then 500 is returned: a write that landed but looks failed
//   throttled    429 with Retry-After: 1, not forwarded
//   conflict     409 Conflict on a write, not forwarded
//   reset        the connection is destroyed, before forwarding or (writes) after the server answered
//   slow         forwarded after 1–3 s
// Watches pass through untouched (the test's own watch of both clusters goes direct anyway).
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { kubeConfigFor, labKubeconfigPath, repoRoot, type LabCluster } from './lab.js';

export const FAULTS = ['unavailable', 'lost-reply', 'throttled', 'conflict', 'reset', 'slow'] as const;
export type Fault = (typeof FAULTS)[number];

/** The apiserver's address, as the lab kubeconfig names it. */
function upstreamOf(cluster: LabCluster): { server: string; port: number } {
  const server = kubeConfigFor(cluster).getCurrentCluster()?.server ?? '';
  return { server, port: Number(new URL(server).port) };
}
const runDir = (cluster: LabCluster) => join(repoRoot, '.lab', 'run', cluster);

export interface FaultProxyOptions {
  /** Share of requests that get a fault, 0..1. */
  rate: number;
  /** Share of writes (PATCH, POST, PUT, DELETE) that get a fault; default `rate`. */
  writeRate?: number;
  faults?: readonly Fault[];
  /** Called for each write (not GET/watch) once the server has answered, before the answer is passed on. */
  onWriteAnswered?: (method: string, path: string) => Promise<void>;
}

export interface FaultProxy {
  readonly cluster: LabCluster;
  readonly url: string;
  /** Faults injected so far, by kind. */
  readonly injected: Record<Fault, number>;
  requests: number;
  close(): Promise<void>;
}

const isWrite = (method: string) => !['GET', 'HEAD', 'OPTIONS'].includes(method);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function status(res: ServerResponse, code: number, reason: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `fault proxy: ${reason}`, reason, code });
  res.writeHead(code, { 'content-type': 'application/json', ...headers });
  res.end(body);
}

export async function startFaultProxy(cluster: LabCluster, options: FaultProxyOptions): Promise<FaultProxy> {
  const ca = readFileSync(join(runDir(cluster), 'ca.crt'));
  const upstreamPort = upstreamOf(cluster).port;
  const agent = new https.Agent({ ca, keepAlive: true });
  const faults = options.faults ?? FAULTS;
  const injected = Object.fromEntries(FAULTS.map((f) => [f, 0])) as Record<Fault, number>;
  const proxy: FaultProxy = { cluster, url: '', injected, requests: 0, close: async () => {} };

  const pick = (method: string): Fault | undefined => {
    if (Math.random() >= (isWrite(method) ? (options.writeRate ?? options.rate) : options.rate)) return undefined;
    const usable = faults.filter((f) => (f === 'conflict' || f === 'lost-reply' ? isWrite(method) : true));
    return usable[Math.floor(Math.random() * usable.length)];
  };

  const forward = (req: IncomingMessage, body: Buffer): Promise<{ code: number; headers: IncomingMessage['headers']; data: Buffer }> =>
    new Promise((resolve, reject) => {
      const upstream = https.request(
        { host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: { ...req.headers, host: `127.0.0.1:${upstreamPort}` }, agent },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (c: Buffer) => chunks.push(c));
          answer.on('end', () => resolve({ code: answer.statusCode ?? 502, headers: answer.headers, data: Buffer.concat(chunks) }));
          answer.on('error', reject);
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });

  const passThrough = (req: IncomingMessage, res: ServerResponse): void => {
    const upstream = https.request(
      { host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: { ...req.headers, host: `127.0.0.1:${upstreamPort}` }, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    proxy.requests += 1;
    const method = req.method ?? 'GET';
    if ((req.url ?? '').includes('watch=')) return passThrough(req, res);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const fault = pick(method);
    if (fault) injected[fault] += 1;
    if (fault === 'unavailable') return status(res, 503, 'ServiceUnavailable');
    if (fault === 'throttled') return status(res, 429, 'TooManyRequests', { 'retry-after': '1' });
    if (fault === 'conflict') return status(res, 409, 'Conflict');
    if (fault === 'reset' && (!isWrite(method) || Math.random() < 0.5)) return void req.socket.destroy();
    if (fault === 'slow') await sleep(1_000 + Math.random() * 2_000);
    const answer = await forward(req, body);
    if (isWrite(method)) await options.onWriteAnswered?.(method, req.url ?? '');
    if (fault === 'reset') return void req.socket.destroy();
    if (fault === 'lost-reply') return status(res, 500, 'InternalError');
    const headers = { ...answer.headers };
    delete headers['transfer-encoding'];
    res.writeHead(answer.code, { ...headers, 'content-length': String(answer.data.length) });
    res.end(answer.data);
  };

  const server = https.createServer(
    { cert: readFileSync(join(runDir(cluster), 'apiserver.crt')), key: readFileSync(join(runDir(cluster), 'apiserver.key')) },
    (req, res) => {
      handle(req, res).catch(() => res.destroy());
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(proxy, {
    url: `https://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  });
}

/** A copy of the lab kubeconfig whose clusters are reached through the given proxies. */
export async function proxiedKubeconfig(dir: string, proxies: FaultProxy[]): Promise<string> {
  let text = readFileSync(labKubeconfigPath, 'utf8');
  for (const proxy of proxies) text = text.replace(upstreamOf(proxy.cluster).server, proxy.url);
  const file = join(dir, 'kubeconfig');
  await writeFile(file, text);
  return file;
}
