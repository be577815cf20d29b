// A pod's AWS identity (issue 19): cutover sets no credentials of its own, so the AWS SDK's default chain
// finds what EKS Pod Identity gives a pod: AWS_CONTAINER_CREDENTIALS_FULL_URI, answered by the node's
// agent to requests carrying the token of AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE. The agent is stood in
// for by a local HTTP server answering the container-credentials document; the SDK allows loopback URIs.
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { defaultCredentials, mintEksToken } from '../../src/adapters/aws/eks.js';

const saved = { ...process.env };
let dir: string;
let server: Server;
const seen: (string | undefined)[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cutover-pod-identity-'));
  server = createServer((req, res) => {
    seen.push(req.headers.authorization);
    if (req.headers.authorization !== 'pod-identity-token') {
      res.writeHead(401).end();
      return;
    }
    const expiration = new Date(Date.now() + 3_600_000).toISOString();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ AccessKeyId: 'ASIAPODIDENTITY', SecretAccessKey: 'secret', Token: 'session-token', AccountId: '123456789012', Expiration: expiration }));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  await writeFile(join(dir, 'eks-pod-identity-token'), 'pod-identity-token');
  // Nothing else the chain could find first: no keys, no profile, no web identity.
  for (const key of Object.keys(process.env)) if (key.startsWith('AWS_')) delete process.env[key];
  process.env.AWS_CONFIG_FILE = join(dir, 'no-config');
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'no-credentials');
  process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/credentials`;
  process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = join(dir, 'eks-pod-identity-token');
});

afterEach(async () => {
  process.env = { ...saved };
  seen.length = 0;
  await new Promise((done) => server.close(done));
  await rm(dir, { recursive: true, force: true });
});

test('the default chain takes EKS Pod Identity credentials, sending the mounted token', async () => {
  const credentials = await defaultCredentials('eu-west-1')();
  expect(credentials).toMatchObject({ accessKeyId: 'ASIAPODIDENTITY', sessionToken: 'session-token' });
  expect(seen).toEqual(['pod-identity-token']);
});

test('the EKS token cutover mints for a workload cluster is signed with them', async () => {
  const { token } = await mintEksToken({ clusterName: 'prod-1-34', region: 'eu-west-1', now: new Date('2026-12-03T18:00:00Z') });
  const url = new URL(Buffer.from(token.replace(/^k8s-aws-v1\./, ''), 'base64url').toString());
  expect(url.searchParams.get('X-Amz-Credential')).toMatch(/^ASIAPODIDENTITY\/20261203\/eu-west-1\/sts\/aws4_request$/);
  expect(url.searchParams.get('X-Amz-Security-Token')).toBe('session-token');
});
