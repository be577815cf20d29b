import { describe, expect, it } from 'vitest';
import { createTokenSource, mintEksToken, tokenUrl, TOKEN_PREFIX } from '../../src/adapters/aws/eks.js';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const signingDate = new Date('2025-03-02T08:05:00Z');

async function mint(extra: { sessionToken?: string; stsEndpoint?: string } = {}) {
  return mintEksToken({
    clusterName: 'green',
    region: 'eu-west-1',
    credentials: { ...credentials, ...(extra.sessionToken ? { sessionToken: extra.sessionToken } : {}) },
    ...(extra.stsEndpoint ? { stsEndpoint: extra.stsEndpoint } : {}),
    now: signingDate,
  });
}

describe('EKS bearer token', () => {
  it('is k8s-aws-v1. followed by unpadded base64url', async () => {
    const { token } = await mint({ sessionToken: 'FwoGZXIvYXdzE+/x==' });
    expect(token.startsWith(TOKEN_PREFIX)).toBe(true);
    const body = token.slice(TOKEN_PREFIX.length);
    expect(body).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(body).not.toContain('=');
  });

  it('wraps a presigned GetCallerIdentity URL on the regional STS host', async () => {
    const url = new URL(tokenUrl((await mint()).token));
    expect(url.protocol).toBe('https:');
    expect(url.host).toBe('sts.eu-west-1.amazonaws.com');
    expect(url.pathname).toBe('/');
    expect(url.searchParams.get('Action')).toBe('GetCallerIdentity');
    expect(url.searchParams.get('Version')).toBe('2011-06-15');
    expect(url.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(url.searchParams.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20250302/eu-west-1/sts/aws4_request');
    expect(url.searchParams.get('X-Amz-Date')).toBe('20250302T080500Z');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('keeps x-k8s-aws-id a signed header next to host, never a query parameter', async () => {
    const url = new URL(tokenUrl((await mint()).token));
    const signed = (url.searchParams.get('X-Amz-SignedHeaders') ?? '').split(';');
    expect(signed).toContain('host');
    expect(signed).toContain('x-k8s-aws-id');
    expect([...url.searchParams.keys()].map((k) => k.toLowerCase())).not.toContain('x-k8s-aws-id');
  });

  it('asks for X-Amz-Expires=60 like aws-iam-authenticator, and is valid 15 minutes from signing', async () => {
    const minted = await mint();
    expect(new URL(minted.url).searchParams.get('X-Amz-Expires')).toBe('60');
    expect(minted.expiresAt.getTime() - signingDate.getTime()).toBe(15 * 60_000);
  });

  it('carries the session token of temporary credentials in the query', async () => {
    const url = new URL(tokenUrl((await mint({ sessionToken: 'FwoGZXIvYXdzE+/x==' })).token));
    expect(url.searchParams.get('X-Amz-Security-Token')).toBe('FwoGZXIvYXdzE+/x==');
  });

  it('binds the signature to the cluster name', async () => {
    const green = await mint();
    const blue = await mintEksToken({ clusterName: 'blue', region: 'eu-west-1', credentials, now: signingDate });
    expect(new URL(green.url).searchParams.get('X-Amz-Signature')).not.toBe(
      new URL(blue.url).searchParams.get('X-Amz-Signature'),
    );
  });

  it('can point at another STS endpoint, keeping its port in the signed host', async () => {
    const url = new URL(tokenUrl((await mint({ stsEndpoint: 'http://127.0.0.1:15000' })).token));
    expect(url.host).toBe('127.0.0.1:15000');
    expect(url.protocol).toBe('http:');
  });
});

describe('token source', () => {
  it('reuses a token for 10 minutes and mints a new one after', async () => {
    let now = new Date('2025-03-02T08:00:00Z');
    const next = createTokenSource({ clusterName: 'green', region: 'eu-west-1', credentials }, () => now);
    const first = await next();
    now = new Date('2025-03-02T08:09:59Z');
    expect(await next()).toBe(first);
    now = new Date('2025-03-02T08:10:00Z');
    const second = await next();
    expect(second).not.toBe(first);
    expect(new URL(tokenUrl(second)).searchParams.get('X-Amz-Date')).toBe('20250302T081000Z');
  });

  it('does not cache a failed signing', async () => {
    let calls = 0;
    const flaky = async () => {
      calls += 1;
      if (calls === 1) throw new Error('no credentials yet');
      return credentials;
    };
    const next = createTokenSource({ clusterName: 'green', region: 'eu-west-1', credentials: flaky });
    await expect(next()).rejects.toThrow('no credentials yet');
    expect((await next()).startsWith(TOKEN_PREFIX)).toBe(true);
  });
});
