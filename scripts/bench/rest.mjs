// A minimal Kubernetes REST client for the bench's own calls: JSON over one keep-alive HTTPS agent per
// cluster, so making thousands of CronJobs (and the API floor round) costs the apiserver only the requests
// themselves, not a TLS handshake each. Credentials and CA come from the lab kubeconfig.
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

export class RestError extends Error {
  constructor(method, path, status, body) {
    super(`${method} ${path}: HTTP ${status} ${body.slice(0, 300)}`);
    this.status = status;
  }
}

const endpoints = new Map();

function endpoint(kubeconfig, context) {
  const key = `${kubeconfig}#${context}`;
  let found = endpoints.get(key);
  if (!found) {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    kc.setCurrentContext(context);
    const cluster = kc.getCurrentCluster();
    const token = kc.getCurrentUser()?.token;
    if (!cluster?.caData || !token) throw new Error(`context ${context} of ${kubeconfig} has no CA data or no token`);
    found = {
      server: new URL(cluster.server),
      token,
      agent: new https.Agent({ ca: Buffer.from(cluster.caData, 'base64'), keepAlive: true, maxSockets: 64 }),
    };
    endpoints.set(key, found);
  }
  return found;
}

/** One request; resolves with the parsed JSON body (or text for non-JSON), rejects with RestError on a non-2xx. */
export function request(kubeconfig, context, method, path, { body, contentType = 'application/json', timeoutMs = 60_000 } = {}) {
  const { server, token, agent } = endpoint(kubeconfig, context);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: server.hostname,
        port: server.port,
        method,
        path,
        agent,
        timeout: timeoutMs,
        headers: {
          Authorization: `Bearer ${token}`,
          Accept: 'application/json',
          ...(payload ? { 'Content-Type': contentType, 'Content-Length': payload.length } : {}),
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 0) >= 300) return reject(new RestError(method, path, res.statusCode, text));
          const json = (res.headers['content-type'] ?? '').includes('json');
          resolve(json && text !== '' ? JSON.parse(text) : text);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

export const MERGE_PATCH = 'application/merge-patch+json';
