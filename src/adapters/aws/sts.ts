// Who the AWS credentials belong to, and the `aws.accountId` pin: a run refuses to touch an account other
// than the one the environment file names (a wrong profile must not shift another account's traffic).
import { GetCallerIdentityCommand, STSClient, type STSClientConfig } from '@aws-sdk/client-sts';
import { ApiError, HaltError } from '../../core/errors.js';
import type { Environment } from '../../config/types.js';
import { awsClientBase } from './http.js';

export interface CallerIdentity {
  account: string;
  arn: string;
  userId: string;
}

export function stsClientConfig(env: Environment): STSClientConfig {
  return awsClientBase(env);
}

function stsClient(env: Environment): STSClient {
  return new STSClient(stsClientConfig(env));
}

export async function callerIdentity(env: Environment): Promise<CallerIdentity> {
  const client = stsClient(env);
  try {
    const out = await client.send(new GetCallerIdentityCommand({}));
    if (!out.Account) throw new ApiError('sts:GetCallerIdentity returned no account');
    return { account: out.Account, arn: out.Arn ?? '', userId: out.UserId ?? '' };
  } catch (error) {
    if (error instanceof ApiError) throw error;
    const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new ApiError(
      `sts:GetCallerIdentity failed, so the AWS account of environment ${env.name} cannot be confirmed: ${detail}`,
      status,
      error,
    );
  } finally {
    client.destroy();
  }
}

/** Pure comparison, apart so the refusal message is tested without a server. */
export function accountMismatch(env: Environment, identity: CallerIdentity): HaltError | undefined {
  const pinned = env.aws?.accountId;
  if (pinned === undefined || pinned === identity.account) return undefined;
  return new HaltError(
    `AWS credentials belong to account ${identity.account} (${identity.arn}), but environment ${env.name} pins aws.accountId ${pinned}: refusing to touch account ${identity.account}`,
    `Switch to credentials for account ${pinned} (AWS_PROFILE, SSO login), or fix aws.accountId in the environment file.`,
  );
}

/** Confirms the credentials belong to the pinned account (no-op without a pin). */
export async function verifyAccount(env: Environment): Promise<CallerIdentity | undefined> {
  if (env.aws?.accountId === undefined) return undefined;
  const identity = await callerIdentity(env);
  const mismatch = accountMismatch(env, identity);
  if (mismatch) throw mismatch;
  return identity;
}

const checks = new WeakMap<Environment, Promise<CallerIdentity | undefined>>();

/**
 * verifyAccount once per loaded environment. A refusal is remembered; a failed call is not, so a transient
 * STS error does not poison the run.
 */
export function ensureAccount(env: Environment): Promise<CallerIdentity | undefined> {
  let check = checks.get(env);
  if (!check) {
    check = verifyAccount(env);
    checks.set(env, check);
    check.catch((error: unknown) => {
      if (!(error instanceof HaltError)) checks.delete(env);
    });
  }
  return check;
}
