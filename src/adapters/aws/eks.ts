// EKS access without the aws CLI: DescribeCluster for the API endpoint and CA, and the bearer token the
// cluster's authenticator accepts — a presigned STS GetCallerIdentity URL, as aws-iam-authenticator mints it.
import { DescribeClusterCommand, EKSClient, ResourceNotFoundException, type Cluster, type EKSClientConfig } from '@aws-sdk/client-eks';
import { STSClient } from '@aws-sdk/client-sts';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, HttpRequest as SignedRequest } from '@smithy/types';
import { ApiError } from '../../core/errors.js';
import type { Environment } from '../../config/types.js';
import { awsClientBase } from './http.js';

export const TOKEN_PREFIX = 'k8s-aws-v1.';
/** The header that binds a token to one cluster; it must stay signed, never move into the query. */
export const CLUSTER_ID_HEADER = 'x-k8s-aws-id';
/** What aws-iam-authenticator puts in X-Amz-Expires; the cluster ignores it and allows 15 min from X-Amz-Date. */
export const PRESIGN_EXPIRES_SECONDS = 60;
export const TOKEN_VALIDITY_MS = 15 * 60_000;
/** Tokens are reused for 10 of their 15 minutes so a slow request never carries an expired one. */
export const TOKEN_REUSE_MS = 10 * 60_000;

export interface EksClusterAccess {
  name: string;
  region: string;
  /** API server URL, e.g. https://ABC.gr7.us-east-1.eks.amazonaws.com */
  endpoint: string;
  /** Base64 PEM bundle of the cluster CA, as DescribeCluster returns it. */
  certificateAuthorityData: string;
  status: string;
}

type Credentials = AwsCredentialIdentity | AwsCredentialIdentityProvider;

export interface EksToken {
  token: string;
  /** The presigned URL inside the token (for diagnostics and tests). */
  url: string;
  signedAt: Date;
  expiresAt: Date;
}

export interface MintTokenOptions {
  clusterName: string;
  region: string;
  /** Defaults to the SDK's default provider chain (env, shared config/SSO, web identity, IMDS...). */
  credentials?: Credentials;
  /**
   * STS endpoint the URL points at. Real clusters only accept the regional (or global) AWS host, so this is
   * for rehearsals against a local STS.
   */
  stsEndpoint?: string;
  now?: Date;
}

function awsRegion(env: Environment, region?: string): string {
  return region ?? env.aws?.region ?? 'us-east-1';
}

export function eksClientConfig(env: Environment, region: string): EKSClientConfig {
  return awsClientBase(env, region);
}

function eksClient(env: Environment, region: string): EKSClient {
  return new EKSClient(eksClientConfig(env, region));
}

/** The SDK's memoised default credential chain, shared with what the SDK clients themselves use. */
export function defaultCredentials(region: string): AwsCredentialIdentityProvider {
  return new STSClient({ region }).config.credentials;
}

function describeFailure(name: string, region: string, error: unknown): ApiError {
  if (error instanceof ResourceNotFoundException) {
    return new ApiError(
      `EKS cluster ${name} not found in ${region}: check clusters.*.eks.name/region and the AWS account of your credentials`,
      404,
      error,
    );
  }
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new ApiError(`eks:DescribeCluster ${name} in ${region} failed: ${detail}`, status, error);
}

/** What DescribeCluster returned, checked: only an ACTIVE cluster with an endpoint and a CA is usable. */
export function toClusterAccess(name: string, region: string, cluster: Cluster | undefined): EksClusterAccess {
  const status = cluster?.status ?? 'UNKNOWN';
  if (status !== 'ACTIVE') {
    throw new ApiError(
      `EKS cluster ${name} in ${region} is ${status}, not ACTIVE: wait until it is ACTIVE before a cutover touches it`,
    );
  }
  const endpoint = cluster?.endpoint;
  const ca = cluster?.certificateAuthority?.data;
  if (!endpoint || !ca) {
    throw new ApiError(`EKS cluster ${name} in ${region} reports no API endpoint or certificate authority`);
  }
  return { name, region, endpoint, certificateAuthorityData: ca, status };
}

/** Reads the endpoint and CA of an EKS cluster; refuses clusters that are not ACTIVE. */
export async function describeEksCluster(env: Environment, name: string, region?: string): Promise<EksClusterAccess> {
  const where = awsRegion(env, region);
  const client = eksClient(env, where);
  try {
    const { cluster } = await client.send(new DescribeClusterCommand({ name }));
    return toClusterAccess(name, where, cluster);
  } catch (error) {
    throw error instanceof ApiError ? error : describeFailure(name, where, error);
  } finally {
    client.destroy();
  }
}

/** RFC 3986 encoding, as SigV4 canonicalises query values. */
function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function stsTarget(region: string, stsEndpoint?: string): URL {
  return new URL(stsEndpoint ?? `https://sts.${region}.amazonaws.com`);
}

/** The unsigned GetCallerIdentity request the token wraps. */
export function callerIdentityRequest(clusterName: string, target: URL): HttpRequest {
  return new HttpRequest({
    method: 'GET',
    protocol: target.protocol,
    hostname: target.hostname,
    ...(target.port ? { port: Number(target.port) } : {}),
    path: '/',
    query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    headers: { host: target.host, [CLUSTER_ID_HEADER]: clusterName },
  });
}

function formatUrl(request: SignedRequest): string {
  const query = Object.entries(request.query ?? {})
    .flatMap(([key, value]) => (Array.isArray(value) ? value : [value ?? '']).map((v) => [key, v] as const))
    .map(([key, value]) => `${encodeRfc3986(key)}=${encodeRfc3986(value)}`)
    .join('&');
  const port = request.port ? `:${request.port}` : '';
  return `${request.protocol}//${request.hostname}${port}${request.path}?${query}`;
}

/** Mints a fresh bearer token for one EKS cluster. */
export async function mintEksToken(options: MintTokenOptions): Promise<EksToken> {
  const signedAt = options.now ?? new Date();
  const signer = new SignatureV4({
    credentials: options.credentials ?? defaultCredentials(options.region),
    region: options.region,
    service: 'sts',
    sha256: Sha256,
  });
  const request = callerIdentityRequest(options.clusterName, stsTarget(options.region, options.stsEndpoint));
  const presigned = await signer.presign(request, {
    expiresIn: PRESIGN_EXPIRES_SECONDS,
    signingDate: signedAt,
    // Not x-amz-*, so it would stay a header anyway; spelled out because hoisting it breaks the token.
    unhoistableHeaders: new Set([CLUSTER_ID_HEADER]),
  });
  const url = formatUrl(presigned);
  return {
    token: TOKEN_PREFIX + Buffer.from(url, 'utf8').toString('base64url'),
    url,
    signedAt,
    expiresAt: new Date(signedAt.getTime() + TOKEN_VALIDITY_MS),
  };
}

/** Decodes a token back to its presigned URL (diagnostics and tests). */
export function tokenUrl(token: string): string {
  if (!token.startsWith(TOKEN_PREFIX)) throw new Error(`not an EKS token: expected prefix ${TOKEN_PREFIX}`);
  return Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8');
}

/**
 * A token per request, reused while it has more than 5 of its 15 minutes left. Concurrent requests share
 * one signing.
 */
export function createTokenSource(
  options: Omit<MintTokenOptions, 'now'>,
  now: () => Date = () => new Date(),
): () => Promise<string> {
  // One provider for the source's lifetime: the SDK memoises resolved credentials and refreshes them itself.
  const credentials = options.credentials ?? defaultCredentials(options.region);
  let current: { startedAt: number; token: Promise<EksToken> } | undefined;
  return async () => {
    const at = now();
    if (!current || at.getTime() - current.startedAt >= TOKEN_REUSE_MS) {
      const minting = { startedAt: at.getTime(), token: mintEksToken({ ...options, credentials, now: at }) };
      current = minting;
      // A failed signing (no credentials yet) must not be cached: the next request tries again.
      minting.token.catch(() => {
        if (current === minting) current = undefined;
      });
    }
    return (await current.token).token;
  };
}
