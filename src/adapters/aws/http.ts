// What every AWS client of a run shares: the region, the environment's endpoint (moto in the lab) and the
// deadlines of each call. The SDK's default HTTP handler waits without limit for a connection and an
// answer; a Route 53 or STS endpoint that accepts and never answers would hold a run forever. Each attempt
// (the SDK retries) gets these deadlines; the retries are bounded by each client's maxAttempts.
import type { Environment } from '../../config/types.js';

export const AWS_REQUEST_DEADLINES = {
  /** To open the TCP (and TLS) connection. */
  connectionTimeout: 5_000,
  /** Without a byte of the answer once the request is sent. */
  requestTimeout: 30_000,
} as const;

export interface AwsClientBase {
  region: string;
  requestHandler: { connectionTimeout: number; requestTimeout: number };
  endpoint?: string;
}

/** `region`: the client's own (an EKS cluster's), else the environment's, else us-east-1. */
export function awsClientBase(env: Environment, region?: string): AwsClientBase {
  return {
    region: region ?? env.aws?.region ?? 'us-east-1',
    requestHandler: { ...AWS_REQUEST_DEADLINES },
    ...(env.aws?.endpoint ? { endpoint: env.aws.endpoint } : {}),
  };
}
