import { describe, expect, it } from 'vitest';
import { toClusterAccess } from '../../src/adapters/aws/eks.js';
import { accountMismatch } from '../../src/adapters/aws/sts.js';
import type { Environment } from '../../src/config/types.js';
import { ApiError, HaltError } from '../../src/core/errors.js';

const active = {
  name: 'green',
  status: 'ACTIVE' as const,
  endpoint: 'https://ABC.gr7.eu-west-1.eks.amazonaws.com',
  certificateAuthority: { data: 'LS0tLS1CRUdJTg==' },
};

describe('DescribeCluster result', () => {
  it('gives endpoint and CA of an ACTIVE cluster', () => {
    expect(toClusterAccess('green', 'eu-west-1', active)).toEqual({
      name: 'green',
      region: 'eu-west-1',
      endpoint: active.endpoint,
      certificateAuthorityData: 'LS0tLS1CRUdJTg==',
      status: 'ACTIVE',
    });
  });

  it.each(['CREATING', 'UPDATING', 'DELETING', 'FAILED', 'PENDING'] as const)('refuses a cluster that is %s', (status) => {
    expect(() => toClusterAccess('green', 'eu-west-1', { ...active, status })).toThrow(
      `EKS cluster green in eu-west-1 is ${status}, not ACTIVE`,
    );
  });

  it('refuses an ACTIVE cluster without endpoint or CA', () => {
    expect(() => toClusterAccess('green', 'eu-west-1', { ...active, endpoint: undefined })).toThrow(ApiError);
    expect(() => toClusterAccess('green', 'eu-west-1', { ...active, certificateAuthority: {} })).toThrow('no API endpoint or certificate authority');
  });
});

describe('account pin', () => {
  const env = (accountId?: string): Environment => ({
    apiVersion: 'cutover.dev/v1',
    kind: 'Environment',
    name: 'prod',
    aws: { region: 'eu-west-1', ...(accountId ? { accountId } : {}) },
    clusters: {},
    allowNonInteractiveApproval: false,
  });
  const identity = { account: '111122223333', arn: 'arn:aws:sts::111122223333:assumed-role/sre/alice', userId: 'AROA:alice' };

  it('accepts the pinned account, and anything without a pin', () => {
    expect(accountMismatch(env('111122223333'), identity)).toBeUndefined();
    expect(accountMismatch(env(), identity)).toBeUndefined();
  });

  it('refuses another account with a message naming both and what to do', () => {
    const refusal = accountMismatch(env('444455556666'), identity);
    expect(refusal).toBeInstanceOf(HaltError);
    expect(refusal?.message).toContain('AWS credentials belong to account 111122223333 (arn:aws:sts::111122223333:assumed-role/sre/alice)');
    expect(refusal?.message).toContain('environment prod pins aws.accountId 444455556666');
    expect(refusal?.next).toContain('Switch to credentials for account 444455556666');
  });
});
