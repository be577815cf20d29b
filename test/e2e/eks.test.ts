import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeEksCluster, mintEksToken, tokenUrl } from '../../src/adapters/aws/eks.js';
import { callerIdentity, verifyAccount } from '../../src/adapters/aws/sts.js';
import { createClusterPort } from '../../src/adapters/k8s/cluster.js';
import type { Environment } from '../../src/config/types.js';
import { ApiError, HaltError } from '../../src/core/errors.js';
import { labAccountId, labEnvironmentPath, labRegion, motoEndpoint, repoRoot, useMotoCredentials } from '../support/lab.js';

function environment(aws: Environment['aws'], clusters: Environment['clusters'] = {}): Environment {
  return { apiVersion: 'cutover.dev/v1', kind: 'Environment', name: 'eks-e2e', aws, clusters, allowNonInteractiveApproval: false };
}

const lab = environment({ region: labRegion, endpoint: motoEndpoint });

// The adapters use the SDK's default credential chain, as they do for operators; here it finds moto's keys.
useMotoCredentials();

describe('DescribeCluster against moto', () => {
  it.each(['blue', 'green'])('finds the lab cluster %s with its endpoint and CA', async (name) => {
    const access = await describeEksCluster(lab, name, labRegion);
    expect(access.status).toBe('ACTIVE');
    expect(access.endpoint).toMatch(/^https:\/\//);
    expect(access.certificateAuthorityData.length).toBeGreaterThan(0);
  });

  it('says which cluster and region it could not find', async () => {
    const failure = describeEksCluster(lab, 'purple', labRegion);
    await expect(failure).rejects.toBeInstanceOf(ApiError);
    await expect(failure).rejects.toMatchObject({ status: 404 });
    await expect(failure).rejects.toThrow('EKS cluster purple not found in us-east-1');
  });

  it('an EKS cluster port surfaces the DescribeCluster failure on first use', async () => {
    const env = environment({ region: labRegion, endpoint: motoEndpoint }, { purple: { eks: { name: 'purple', region: labRegion } } });
    const purple = createClusterPort('purple', { eks: { name: 'purple', region: labRegion } }, env, labEnvironmentPath);
    await expect(purple.version()).rejects.toThrow('EKS cluster purple not found in us-east-1');
  });
});

/** botocore's SigV4 query presigner — what `aws eks get-token` builds on — for the same inputs. */
function botocorePresign(input: { url: string; cluster: string; region: string; date: string }): { url: string } {
  const script = [
    'import json, sys, datetime',
    'import botocore.auth as auth',
    'from botocore.awsrequest import AWSRequest',
    'from botocore.credentials import Credentials',
    'a = json.load(sys.stdin)',
    "auth.get_current_datetime = lambda *x, **k: datetime.datetime.strptime(a['date'], '%Y%m%dT%H%M%SZ')",
    "r = AWSRequest(method='GET', url=a['url'], headers={'x-k8s-aws-id': a['cluster']})",
    "auth.SigV4QueryAuth(Credentials('testing', 'testing'), 'sts', a['region'], expires=60).add_auth(r)",
    "print(json.dumps({'url': r.url}))",
  ].join('\n');
  const python = join(repoRoot, '.lab', 'venv', 'bin', 'python');
  const run = spawnSync(python, ['-c', script], { input: JSON.stringify(input), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`botocore presign failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as { url: string };
}

describe('EKS token', () => {
  it('signs exactly what botocore signs for the same request, header included', async () => {
    const now = new Date('2025-03-02T08:05:00Z');
    const minted = await mintEksToken({
      clusterName: 'green',
      region: 'eu-west-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      now,
    });
    const reference = new URL(
      botocorePresign({
        url: 'https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15',
        cluster: 'green',
        region: 'eu-west-1',
        date: '20250302T080500Z',
      }).url,
    );
    const ours = new URL(tokenUrl(minted.token));
    expect(ours.host).toBe(reference.host);
    for (const key of ['Action', 'Version', 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders']) {
      expect(ours.searchParams.get(key), key).toBe(reference.searchParams.get(key));
    }
    expect(ours.searchParams.get('X-Amz-Signature')).toBe(reference.searchParams.get('X-Amz-Signature'));
  });

  it('mints with the default credential chain', async () => {
    const minted = await mintEksToken({ clusterName: 'blue', region: labRegion });
    const url = new URL(tokenUrl(minted.token));
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(/^testing\/\d{8}\/us-east-1\/sts\/aws4_request$/);
  });
});

describe('STS caller identity and the account pin', () => {
  it('reads the account of the credentials', async () => {
    const identity = await callerIdentity(lab);
    expect(identity.account).toBe(labAccountId);
    expect(identity.arn).toContain(labAccountId);
  });

  it('passes when the pinned account matches', async () => {
    const pinned = environment({ region: labRegion, endpoint: motoEndpoint, accountId: labAccountId });
    expect((await verifyAccount(pinned))?.account).toBe(labAccountId);
  });

  it('refuses another account, naming both', async () => {
    const pinned = environment({ region: labRegion, endpoint: motoEndpoint, accountId: '210987654321' });
    const failure = verifyAccount(pinned);
    await expect(failure).rejects.toBeInstanceOf(HaltError);
    await expect(failure).rejects.toThrow(
      `AWS credentials belong to account ${labAccountId}`,
    );
    await expect(failure).rejects.toThrow('pins aws.accountId 210987654321');
  });

  it('an EKS cluster of a mismatched environment is refused before DescribeCluster', async () => {
    const env = environment(
      { region: labRegion, endpoint: motoEndpoint, accountId: '210987654321' },
      { blue: { eks: { name: 'blue', region: labRegion } } },
    );
    const blue = createClusterPort('blue', { eks: { name: 'blue', region: labRegion } }, env, labEnvironmentPath);
    await expect(blue.listCronJobs({ namespaces: ['billing'] })).rejects.toThrow('pins aws.accountId 210987654321');
  });
});
