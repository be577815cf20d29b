// Fault-injecting proxies in front of the lab's servers: an HTTPS proxy per apiserver, and a plain-HTTP one
// in front of moto (Route 53, CloudWatch, STS). About `rate` of the requests get a fault:
//   unavailable  503, the request never reaches the server
//   lost-reply   a write reaches the server, then 500 is returned: a write that landed but looks failed
//   throttled    429 with Retry-After: 1 (Route 53 also its own 400 Throttling), not forwarded
//   conflict     a write is refused as conflicting (409 from an apiserver, 400 PriorRequestNotComplete
//                from Route 53), not forwarded
//   reset        the connection is destroyed, before forwarding or (writes) after the server answered
//   slow         forwarded after 1–3 s
// Each refusal is written in the wire format of the server it stands in for (a Kubernetes Status, an AWS
// REST-XML, awsQuery or JSON 1.0 error), so the real clients parse and classify it as they would the
// server's own. The apiserver proxy passes watches through untouched (the test's own watch of both clusters
// goes direct anyway).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import http, { type ClientRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { kubeConfigFor, labKubeconfigPath, motoEndpoint, repoRoot, type LabCluster } from './lab.js';

export const FAULTS = ['unavailable', 'lost-reply', 'throttled', 'conflict', 'reset', 'slow'] as const;
export type Fault = (typeof FAULTS)[number];
/** The faults answered with an error of the upstream's own kind. */
type Refusal = Extract<Fault, 'unavailable' | 'lost-reply' | 'throttled' | 'conflict'>;

export interface FaultProxyOptions {
  /** Share of requests that get a fault, 0..1. */
  rate: number;
  /** Share of writes that get a fault; default `rate`. */
  writeRate?: number;
  faults?: readonly Fault[];
  /** Called for each write once the server has answered, before the answer is passed on. */
  onWriteAnswered?: (method: string, path: string) => Promise<void>;
}

/** What every fault proxy counts. */
export interface FaultCounts {
  readonly url: string;
  /** Faults injected so far, by kind. */
  readonly injected: Record<Fault, number>;
  requests: number;
  close(): Promise<void>;
}

export interface FaultProxy extends FaultCounts {
  readonly cluster: LabCluster;
}

/** How one upstream speaks: which requests write, which pass as a stream, how a refusal is written. */
interface Dialect {
  isWrite(req: IncomingMessage): boolean;
  /** Passed through untouched and uncounted as faults (long-lived streams such as watches). */
  streams(req: IncomingMessage): boolean;
  refuse(res: ServerResponse, req: IncomingMessage, fault: Refusal): void;
}

/** Sends `req` (its method, path and headers) to the upstream; `body` is written by the caller. */
type Forward = (req: IncomingMessage, onAnswer: (answer: IncomingMessage) => void) => ClientRequest;

interface Answer {
  code: number;
  headers: IncomingMessage['headers'];
  data: Buffer;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const oneIn = <T>(items: readonly T[]): T | undefined => items[Math.floor(Math.random() * items.length)];

function collect(send: Forward, req: IncomingMessage, body: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const upstream = send(req, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => resolve({ code: answer.statusCode ?? 502, headers: answer.headers, data: Buffer.concat(chunks) }));
      answer.on('error', reject);
    });
    upstream.on('error', reject);
    upstream.end(body);
  });
}

function passThrough(send: Forward, req: IncomingMessage, res: ServerResponse): void {
  const upstream = send(req, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', () => res.destroy());
  res.on('close', () => upstream.destroy());
  req.pipe(upstream);
}

function relay(res: ServerResponse, answer: Answer): void {
  const headers = { ...answer.headers };
  delete headers['transfer-encoding'];
  res.writeHead(answer.code, { ...headers, 'content-length': String(answer.data.length) });
  res.end(answer.data);
}

/** The request handler shared by every fault proxy: picks a fault per request, counts it, acts it out. */
function faultHandler(counts: FaultCounts, options: FaultProxyOptions, dialect: Dialect, send: Forward) {
  const faults = options.faults ?? FAULTS;
  const pick = (write: boolean): Fault | undefined => {
    if (Math.random() >= (write ? (options.writeRate ?? options.rate) : options.rate)) return undefined;
    return oneIn(faults.filter((f) => write || (f !== 'conflict' && f !== 'lost-reply')));
  };
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    counts.requests += 1;
    if (dialect.streams(req)) return passThrough(send, req, res);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const write = dialect.isWrite(req);
    const fault = pick(write);
    if (fault) counts.injected[fault] += 1;
    if (fault === 'unavailable' || fault === 'throttled' || fault === 'conflict') return dialect.refuse(res, req, fault);
    if (fault === 'reset' && (!write || Math.random() < 0.5)) return void req.socket.destroy();
    if (fault === 'slow') await sleep(1_000 + Math.random() * 2_000);
    const answer = await collect(send, req, Buffer.concat(chunks));
    if (write) await options.onWriteAnswered?.(req.method ?? '', req.url ?? '');
    if (fault === 'reset') return void req.socket.destroy();
    if (fault === 'lost-reply') return dialect.refuse(res, req, fault);
    relay(res, answer);
  };
}

/** Serves `handler` on a free local port and fills in the proxy's url and close. */
async function listen<T extends FaultCounts>(
  proxy: T,
  server: Server,
  scheme: 'http' | 'https',
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  release: () => void,
): Promise<T> {
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handler(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(proxy, {
    url: `${scheme}://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      release();
    },
  });
}

const noFaults = (): Record<Fault, number> => Object.fromEntries(FAULTS.map((f) => [f, 0])) as Record<Fault, number>;

/** Faults injected by all of `proxies`, by kind, and a line for the test log. */
export function injectedBy(proxies: FaultCounts[]): { total: number; counts: Record<Fault, number>; summary: string } {
  const counts = noFaults();
  for (const proxy of proxies) for (const f of FAULTS) counts[f] += proxy.injected[f];
  const total = FAULTS.reduce((n, f) => n + counts[f], 0);
  const requests = proxies.reduce((n, p) => n + p.requests, 0);
  return { total, counts, summary: `${requests} requests, ${total} faults injected: ${FAULTS.map((f) => `${f}=${counts[f]}`).join(' ')}` };
}

// ---------------------------------------------------------------------------------------------------------
// Kubernetes apiservers

/** The apiserver's address, as the lab kubeconfig names it. */
function upstreamOf(cluster: LabCluster): { server: string; port: number } {
  const server = kubeConfigFor(cluster).getCurrentCluster()?.server ?? '';
  return { server, port: Number(new URL(server).port) };
}
const runDir = (cluster: LabCluster) => join(repoRoot, '.lab', 'run', cluster);

const KUBE_REFUSALS: Record<Refusal, { code: number; reason: string; headers?: Record<string, string> }> = {
  unavailable: { code: 503, reason: 'ServiceUnavailable' },
  'lost-reply': { code: 500, reason: 'InternalError' },
  throttled: { code: 429, reason: 'TooManyRequests', headers: { 'retry-after': '1' } },
  conflict: { code: 409, reason: 'Conflict' },
};

const kubernetesDialect: Dialect = {
  isWrite: (req) => !['GET', 'HEAD', 'OPTIONS'].includes(req.method ?? 'GET'),
  streams: (req) => (req.url ?? '').includes('watch='),
  refuse(res, _req, fault) {
    const { code, reason, headers } = KUBE_REFUSALS[fault];
    const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `fault proxy: ${reason}`, reason, code });
    res.writeHead(code, { 'content-type': 'application/json', ...headers });
    res.end(body);
  },
};

/**
 * A proxy in front of a lab apiserver. It serves with the apiserver's own serving certificate (issued by
 * the lab CA for 127.0.0.1), so a kubeconfig that trusts the lab CA only needs its `server:` pointed at it.
 */
export async function startFaultProxy(cluster: LabCluster, options: FaultProxyOptions): Promise<FaultProxy> {
  const ca = readFileSync(join(runDir(cluster), 'ca.crt'));
  const port = upstreamOf(cluster).port;
  const agent = new https.Agent({ ca, keepAlive: true });
  const send: Forward = (req, onAnswer) =>
    https.request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: { ...req.headers, host: `127.0.0.1:${port}` }, agent }, onAnswer);
  const proxy: FaultProxy = { cluster, url: '', injected: noFaults(), requests: 0, close: async () => {} };
  const server = https.createServer({ cert: readFileSync(join(runDir(cluster), 'apiserver.crt')), key: readFileSync(join(runDir(cluster), 'apiserver.key')) });
  return listen(proxy, server, 'https', faultHandler(proxy, options, kubernetesDialect, send), () => agent.destroy());
}

/** A copy of the lab kubeconfig whose clusters are reached through the given proxies. */
export async function proxiedKubeconfig(dir: string, proxies: FaultProxy[]): Promise<string> {
  let text = readFileSync(labKubeconfigPath, 'utf8');
  for (const proxy of proxies) text = text.replace(upstreamOf(proxy.cluster).server, proxy.url);
  const file = join(dir, 'kubeconfig');
  await writeFile(file, text);
  return file;
}

// ---------------------------------------------------------------------------------------------------------
// moto: Route 53 (REST-XML), CloudWatch (AWS JSON 1.0, query-compatible), STS (awsQuery)

export const AWS_SERVICES = ['route53', 'cloudwatch', 'sts'] as const;
export type AwsService = (typeof AWS_SERVICES)[number];

export interface MotoFaultProxy extends FaultCounts {
  /** Requests by service. */
  readonly services: Record<AwsService, number>;
}

/** Route 53 is the only REST API of the three; CloudWatch's JSON calls name their operation in a header. */
function serviceOf(req: IncomingMessage): AwsService {
  if ((req.url ?? '').startsWith('/2013-04-01/')) return 'route53';
  return req.headers['x-amz-target'] !== undefined ? 'cloudwatch' : 'sts';
}

interface AwsError {
  status: number;
  code: string;
  type: 'Sender' | 'Receiver';
  message: string;
  headers?: Record<string, string>;
}

const THROTTLED: AwsError = { status: 429, code: 'Throttling', type: 'Sender', message: 'Rate exceeded', headers: { 'retry-after': '1' } };

/** The error each service answers for a fault; Route 53 throttles with 400 as often as with 429. */
function awsError(service: AwsService, fault: Refusal): AwsError {
  switch (fault) {
    case 'unavailable':
      return { status: 503, code: 'ServiceUnavailable', type: 'Receiver', message: 'Service is unavailable, try again later' };
    case 'lost-reply':
      return { status: 500, code: 'InternalFailure', type: 'Receiver', message: 'The request processing has failed because of an unknown error' };
    case 'throttled':
      return service === 'route53' && Math.random() < 0.5 ? { ...THROTTLED, status: 400, headers: {} } : THROTTLED;
    case 'conflict':
      return {
        status: 400,
        code: 'PriorRequestNotComplete',
        type: 'Sender',
        message: 'The request was rejected because Route 53 was still processing a prior request.',
      };
  }
}

const XMLNS: Record<Exclude<AwsService, 'cloudwatch'>, string> = {
  route53: 'https://route53.amazonaws.com/doc/2013-04-01/',
  sts: 'https://sts.amazonaws.com/doc/2011-06-15/',
};

/** The body and headers of `error` as `service` writes it. */
function awsErrorBody(service: AwsService, error: AwsError, requestId: string): { type: string; body: string; headers: Record<string, string> } {
  if (service === 'cloudwatch') {
    // JSON 1.0 with the query-compatible header, from which the SDK takes the error's code.
    return {
      type: 'application/x-amz-json-1.0',
      body: JSON.stringify({ __type: error.code, message: error.message }),
      headers: { 'x-amzn-query-error': `${error.code};${error.type}` },
    };
  }
  const body =
    `<?xml version="1.0"?>\n<ErrorResponse xmlns="${XMLNS[service]}"><Error><Type>${error.type}</Type><Code>${error.code}</Code>` +
    `<Message>${error.message}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
  return { type: 'text/xml', body, headers: {} };
}

const awsDialect: Dialect = {
  // Route 53 writes by POST (ChangeResourceRecordSets); CloudWatch and STS POST their reads.
  isWrite: (req) => req.method === 'POST' && serviceOf(req) === 'route53',
  streams: () => false,
  refuse(res, req, fault) {
    const service = serviceOf(req);
    const error = awsError(service, fault);
    const requestId = randomUUID();
    const { type, body, headers } = awsErrorBody(service, error, requestId);
    res.writeHead(error.status, { 'content-type': type, 'x-amzn-requestid': requestId, ...error.headers, ...headers });
    res.end(body);
  },
};

/**
 * A proxy in front of moto. Requests go on as signed (moto reads the service from the signature's scope,
 * and does not check the Host the client signed).
 */
export async function startMotoFaultProxy(options: FaultProxyOptions): Promise<MotoFaultProxy> {
  const upstream = new URL(motoEndpoint);
  const agent = new http.Agent({ keepAlive: true });
  const services = Object.fromEntries(AWS_SERVICES.map((s) => [s, 0])) as Record<AwsService, number>;
  const send: Forward = (req, onAnswer) =>
    http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent }, onAnswer);
  const proxy: MotoFaultProxy = { url: '', injected: noFaults(), requests: 0, services, close: async () => {} };
  const handle = faultHandler(proxy, options, awsDialect, send);
  const counted = (req: IncomingMessage, res: ServerResponse) => {
    services[serviceOf(req)] += 1;
    return handle(req, res);
  };
  return listen(proxy, http.createServer(), 'http', counted, () => agent.destroy());
}
