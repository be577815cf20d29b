// Turns what client-node throws into ApiErrors an operator can act on: which cluster, which verb on which
// resource, the HTTP status, what the server said, and — for 401/403 — which permission is missing.
import { ApiException } from '@kubernetes/client-node';
import { ApiError } from '../../core/errors.js';

/** One API call, described the way RBAC and an operator think of it. */
export interface Operation {
  cluster: string;
  /** API server URL, for the unreachable message. */
  server: string;
  /** RBAC verb: get, list, patch. */
  verb: string;
  /** RBAC resource, with subresource: cronjobs, cronjobs/status, jobs, deployments; or a path like /version. */
  resource: string;
  /** API group for the grant hint ('' = core). */
  group?: string;
  namespace?: string;
  name?: string;
}

const NETWORK_UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);
/** Transient: a read may simply be tried again. DNS under load (EAI_AGAIN) is one of the traps seen in practice. */
const NETWORK_TRANSIENT = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ECONNABORTED', 'UND_ERR_SOCKET']);

interface SystemErrorLike {
  name?: string;
  code?: string;
  type?: string;
  message?: string;
}

function systemCode(error: unknown): string | undefined {
  const e = error as SystemErrorLike | undefined;
  return typeof e?.code === 'string' ? e.code : undefined;
}

function isAbort(error: unknown): boolean {
  return (error as SystemErrorLike | undefined)?.name === 'AbortError';
}

/** Reads (GET/LIST) are retried on these; writes never are, the engine re-reads instead. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof ApiException) return error.code === 429 || error.code >= 500;
  if (isAbort(error)) return true;
  const code = systemCode(error);
  return code !== undefined && NETWORK_TRANSIENT.has(code);
}

/** Seconds from a Retry-After header, when the server sent one (429 and some 503s). */
export function retryAfterMs(error: unknown): number | undefined {
  if (!(error instanceof ApiException)) return undefined;
  const headers = (error.headers ?? {}) as Record<string, string | undefined>;
  const value = headers['retry-after'] ?? headers['Retry-After'];
  const seconds = value === undefined ? NaN : Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1_000 : undefined;
}

/** The message inside a Kubernetes Status body (client-node hands the body over as text). */
export function serverMessage(body: unknown): string | undefined {
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.trim().slice(0, 500) || undefined;
    }
  }
  const message = (parsed as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' && message !== '' ? message : undefined;
}

function target(op: Operation): string {
  if (op.namespace && op.name) return `${op.resource} ${op.namespace}/${op.name}`;
  if (op.namespace) return `${op.resource} in ${op.namespace}`;
  return op.resource;
}

function scope(op: Operation): string {
  return op.namespace ? `in ${op.namespace} ` : '';
}

function grant(op: Operation): string {
  const group = op.group === undefined ? '' : ` (API group "${op.group}")`;
  const where = op.namespace ? ` in namespace ${op.namespace}` : '';
  return `grant ${op.verb} on ${op.resource}${group}${where} to the identity cutover uses`;
}

function forbidden(op: Operation, error: ApiException<unknown>): ApiError {
  const said = serverMessage(error.body);
  const object = op.name ? ` (${op.namespace}/${op.name})` : '';
  return new ApiError(
    `cannot ${op.verb} ${op.resource} ${scope(op)}on cluster ${op.cluster}${object}: forbidden (HTTP 403) — ${grant(op)}` +
      (said ? `\n  server: ${said}` : ''),
    403,
    error,
  );
}

function unauthorized(op: Operation, error: ApiException<unknown>): ApiError {
  return new ApiError(
    `cluster ${op.cluster} rejected the credentials for ${op.verb} ${target(op)}: unauthorized (HTTP 401) — ` +
      'the token is missing, expired or unknown to the cluster; check the kubeconfig user, or the EKS access entry of your AWS identity',
    401,
    error,
  );
}

function fromApiException(op: Operation, error: ApiException<unknown>): ApiError {
  if (error.code === 403) return forbidden(op, error);
  if (error.code === 401) return unauthorized(op, error);
  const said = serverMessage(error.body) ?? 'no message';
  return new ApiError(
    `cluster ${op.cluster}: ${op.verb} ${target(op)} failed with HTTP ${error.code}: ${said}`,
    error.code,
    error,
  );
}

function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // node-fetch prefixes "request to <url> failed, reason: "; the URL is already in our message.
  return message.replace(/^request to \S+ failed, reason: /, '');
}

/** Wraps anything a client-node call threw into an ApiError naming the cluster and operation. */
export function toApiError(op: Operation, error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof ApiException) return fromApiException(op, error);
  const code = systemCode(error);
  if (code !== undefined && (NETWORK_UNREACHABLE.has(code) || NETWORK_TRANSIENT.has(code))) {
    return new ApiError(`cluster ${op.cluster} (${op.server}) unreachable: ${reason(error)}`, undefined, error);
  }
  if (isAbort(error)) {
    return new ApiError(`cluster ${op.cluster} (${op.server}) did not answer ${op.verb} ${target(op)} in time`, undefined, error);
  }
  if (code !== undefined && /CERT|SSL|TLS|SELF_SIGNED/.test(code)) {
    return new ApiError(
      `cluster ${op.cluster} (${op.server}): TLS verification failed (${code}): ${reason(error)} — check the cluster CA in the kubeconfig or EKS`,
      undefined,
      error,
    );
  }
  return new ApiError(`cluster ${op.cluster}: ${op.verb} ${target(op)} failed: ${reason(error)}`, undefined, error);
}
