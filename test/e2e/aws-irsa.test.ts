// IRSA (issue 19): a pod whose ServiceAccount names an IAM role gets AWS_ROLE_ARN and
// AWS_WEB_IDENTITY_TOKEN_FILE, and nothing else. cutover sets no credentials of its own, so the SDK's
// default chain exchanges that token with STS (AssumeRoleWithWebIdentity, here moto's STS) and every
// cutover client acts as the assumed role: the account pin, DescribeCluster and the EKS token.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { describeEksCluster, mintEksToken } from '../../src/adapters/aws/eks.js';
import { callerIdentity } from '../../src/adapters/aws/sts.js';
import type { Environment } from '../../src/config/types.js';
import { labAccountId, labRegion, motoEndpoint } from '../support/lab.js';

const env: Environment = {
  apiVersion: 'cutover.dev/v1',
  kind: 'Environment',
  name: 'irsa-e2e',
  aws: { region: labRegion, endpoint: motoEndpoint, accountId: labAccountId },
  clusters: {},
  allowNonInteractiveApproval: false,
};
const role = `arn:aws:iam::${labAccountId}:role/cutover-irsa`;
const saved = { ...process.env };
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cutover-irsa-'));
  // What the EKS pod identity webhook projects: a ServiceAccount token for audience sts.amazonaws.com.
  await writeFile(join(dir, 'token'), 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6Y3V0b3ZlcjpjdXRvdmVyIn0.c2ln');
  for (const key of Object.keys(process.env)) if (key.startsWith('AWS_')) delete process.env[key];
  Object.assign(process.env, {
    AWS_CONFIG_FILE: join(dir, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
    AWS_ROLE_ARN: role,
    AWS_WEB_IDENTITY_TOKEN_FILE: join(dir, 'token'),
    AWS_ROLE_SESSION_NAME: 'cutover-job',
    // Only the SDK's own STS call for the exchange needs pointing at moto; on EKS it is the real STS.
    AWS_ENDPOINT_URL_STS: motoEndpoint,
  });
});

afterAll(async () => {
  process.env = { ...saved };
  await rm(dir, { recursive: true, force: true });
});

test('cutover acts as the assumed role: the account pin holds and DescribeCluster answers', async () => {
  const identity = await callerIdentity(env);
  expect(identity.account).toBe(labAccountId);
  expect(identity.arn).toMatch(/:assumed-role\/cutover-irsa\/cutover-job$/);
  const blue = await describeEksCluster(env, 'blue', labRegion);
  expect(blue.status).toBe('ACTIVE');
});

test('the EKS token is signed with the role session credentials', async () => {
  const { url } = await mintEksToken({ clusterName: 'blue', region: labRegion });
  const signed = new URL(url);
  expect(signed.searchParams.get('X-Amz-Credential')).toMatch(/^ASIA/);
  expect(signed.searchParams.get('X-Amz-Security-Token')).toBeTruthy();
});
