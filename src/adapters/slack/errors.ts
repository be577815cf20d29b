// Slack answers most failures with HTTP 200 and `{ok:false, error:'code'}`; the codes alone mean little to an
// operator at 3 a.m. These translate them into what to fix, naming the setting or variable involved.
import { WebAPIHTTPError, WebAPIPlatformError, WebAPIRateLimitedError, WebAPIRequestError } from '@slack/web-api';
import { ApiError } from '../../core/errors.js';

/** A failed Slack call; `code` is Slack's error code (`channel_not_found`...) when Slack gave one. */
export class SlackCallError extends ApiError {
  constructor(
    message: string,
    readonly code?: string,
    status?: number,
  ) {
    super(message, status);
    this.name = 'ApiError';
  }
}

/** What a failing call was about, so the message can name the variable or setting to fix. */
export interface CallContext {
  method: string;
  /** Environment variable holding the token the call used. */
  tokenEnv: string;
  channel?: string;
  apiUrl: string;
}

const TOKEN_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'token_revoked',
  'token_expired',
  'account_inactive',
  'not_allowed_token_type',
  'invalid_token',
]);

function scopeAdvice(data: Record<string, unknown>): string {
  const needed = typeof data['needed'] === 'string' ? data['needed'] : 'a scope';
  const provided = typeof data['provided'] === 'string' ? data['provided'] : 'unknown';
  return `the app lacks the OAuth scope ${needed} (it has: ${provided}); add it under OAuth & Permissions and reinstall the app`;
}

const USER_GROUP_MISSING = 'a user group in approvers does not exist (user group IDs start with S)';
const TRIGGER_EXPIRED = 'the button click expired before the reason dialog could open; click Reject again';

/** What to do about a Slack error code, by code. */
const ADVICE: Record<string, (data: Record<string, unknown>, ctx: CallContext) => string> = {
  missing_scope: (data) => scopeAdvice(data),
  channel_not_found: (_data, ctx) =>
    `channel ${ctx.channel ?? '?'} was not found (slack.channel): use the channel ID (C…/G…), and invite the app to a private channel`,
  not_in_channel: (_data, ctx) => `the app is not a member of channel ${ctx.channel ?? '?'}: type /invite @<app name> in the channel`,
  is_archived: (_data, ctx) => `channel ${ctx.channel ?? '?'} is archived`,
  no_such_subteam: () => USER_GROUP_MISSING,
  subteam_not_found: () => USER_GROUP_MISSING,
  ratelimited: () => 'Slack kept rate-limiting the call after every retry',
  invalid_trigger_id: () => TRIGGER_EXPIRED,
  expired_trigger_id: () => TRIGGER_EXPIRED,
};

function platformAdvice(code: string, data: Record<string, unknown>, ctx: CallContext): string {
  if (TOKEN_ERRORS.has(code)) {
    return `Slack refused the token in $${ctx.tokenEnv} (${code}); check the variable holds the right token (bot token xoxb-…, app-level token xapp-… with connections:write)`;
  }
  const advice = Object.hasOwn(ADVICE, code) ? ADVICE[code] : undefined;
  return advice ? advice(data, ctx) : `Slack answered ${code}`;
}

/** Turns any failure of a Slack Web API call into an ApiError whose message is already redacted. */
export function slackApiError(err: unknown, ctx: CallContext, redact: (text: string) => string): ApiError {
  const prefix = `Slack ${ctx.method} failed`;
  if (err instanceof ApiError) return err;
  if (err instanceof WebAPIPlatformError) {
    const data = err.data as unknown as Record<string, unknown>;
    return new SlackCallError(redact(`${prefix}: ${platformAdvice(err.data.error, data, ctx)}`), err.data.error);
  }
  if (err instanceof WebAPIRateLimitedError) {
    return new SlackCallError(`${prefix}: rate limited, Slack asked to retry after ${err.retryAfter}s`, 'ratelimited', 429);
  }
  if (err instanceof WebAPIHTTPError) {
    return new ApiError(redact(`${prefix}: HTTP ${err.statusCode} ${err.statusMessage} from ${ctx.apiUrl}`), err.statusCode);
  }
  if (err instanceof WebAPIRequestError) {
    return new ApiError(redact(`${prefix}: cannot reach ${ctx.apiUrl}: ${err.original.message}`));
  }
  const message = err instanceof Error ? err.message : String(err);
  // The original error is not kept as `cause`: it may carry request headers, and so the token.
  return new ApiError(redact(`${prefix}: ${message}`));
}

/** Slack's error code of a failed call, for callers that recover from one (message_not_found). */
export function platformCode(err: unknown): string | undefined {
  if (err instanceof SlackCallError) return err.code;
  return err instanceof WebAPIPlatformError ? err.data.error : undefined;
}
