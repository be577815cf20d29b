// One Slack connection setup per environment: tokens read from the variables the environment names, a
// WebClient pointed at `slack.apiUrl` (the real API by default), a redacting logger, and `call`, which
// turns every failure into an ApiError that says what to fix.
import { type LogLevel, type RetryOptions, WebClient, WebClientEvent } from '@slack/web-api';
import type { SlackConfig } from '../../config/types.js';
import { InputError } from '../../core/errors.js';
import { type CallContext, slackApiError } from './errors.js';
import { createRedactor, type LogSink, logLevelFrom, RedactingLogger, stderrSink } from './redact.js';

export const SLACK_API_URL = 'https://slack.com/api/';

/** Knobs for tests and embedding; a real run uses the defaults. */
export interface SlackClientOptions {
  /** Where the token variables are read from (default process.env). */
  env?: Record<string, string | undefined>;
  logSink?: LogSink;
  /** Default: `$CUTOVER_SLACK_LOG`, else warn. */
  logLevel?: `${LogLevel}`;
  /** Retries of a failed or rate-limited call (Retry-After is always honoured first). */
  retry?: RetryOptions;
  /** Upper bound of one HTTP request, so a hung connection cannot outlive a deadline. */
  requestTimeoutMs?: number;
  /** Socket Mode heartbeat: a missing pong after this long counts as a dropped connection. */
  pingTimeoutMs?: number;
  /** First delay before reconnecting a dropped socket; doubles up to 30 s. */
  reconnectDelayMs?: number;
}

/** About a minute of retries: enough for a rate-limit window, short of hiding an outage from the operator. */
const DEFAULT_RETRY: RetryOptions = { retries: 6, factor: 2, minTimeout: 500, maxTimeout: 20_000, randomize: true };

export interface SlackTokens {
  bot: string;
  app: string;
}

/** Reads both tokens; a missing variable is named, its value never shown. */
export function readSlackTokens(slack: SlackConfig, env: Record<string, string | undefined>): SlackTokens {
  const missing = [slack.botTokenEnv, slack.appTokenEnv].filter((name) => !env[name]?.trim());
  if (missing.length > 0) {
    throw new InputError(
      `Slack approvals need the environment variable${missing.length > 1 ? 's' : ''} ${missing.map((m) => `$${m}`).join(' and ')} ` +
        `(slack.botTokenEnv / slack.appTokenEnv): export the bot token (xoxb-…) and the app-level token (xapp-…)`,
    );
  }
  return { bot: env[slack.botTokenEnv]!.trim(), app: env[slack.appTokenEnv]!.trim() };
}

export function apiUrlOf(slack: SlackConfig): string {
  const url = slack.apiUrl ?? SLACK_API_URL;
  return url.endsWith('/') ? url : `${url}/`;
}

/** A Web API client bound to one token, with error translation and redaction built in. */
export class SlackApi {
  readonly web: WebClient;
  readonly logger: RedactingLogger;
  readonly redact: (text: string) => string;
  private appWeb: WebClient | undefined;

  constructor(
    readonly slack: SlackConfig,
    readonly tokens: SlackTokens,
    readonly options: SlackClientOptions = {},
  ) {
    this.redact = createRedactor([tokens.bot, tokens.app]);
    const level = logLevelFrom(options.logLevel ?? (options.env ?? process.env)['CUTOVER_SLACK_LOG']);
    this.logger = new RedactingLogger(this.redact, options.logSink ?? stderrSink, level);
    this.web = this.client(tokens.bot);
  }

  private client(token: string): WebClient {
    const web = new WebClient(token, {
      slackApiUrl: apiUrlOf(this.slack),
      logger: this.logger,
      retryConfig: this.options.retry ?? DEFAULT_RETRY,
      timeout: this.options.requestTimeoutMs ?? 30_000,
    });
    // The client waits out Retry-After by itself; the operator should still know why nothing moves.
    web.on(WebClientEvent.RATE_LIMITED, (seconds: number, info: { url?: string }) => {
      this.logger.warn(`Slack rate limit on ${methodOf(info.url)}: retrying in ${seconds}s`);
    });
    return web;
  }

  get apiUrl(): string {
    return apiUrlOf(this.slack);
  }

  /** Calls a Web API method with the bot token; failures become ApiError with advice. */
  call<T extends object = Record<string, unknown>>(method: string, args: Record<string, unknown>): Promise<T> {
    return this.send<T>(this.web, method, args);
  }

  /** The few methods that take the app-level token (apps.connections.open). */
  callWithAppToken<T extends object = Record<string, unknown>>(method: string, args: Record<string, unknown>): Promise<T> {
    this.appWeb ??= this.client(this.tokens.app);
    return this.send<T>(this.appWeb, method, args);
  }

  private async send<T>(web: WebClient, method: string, args: Record<string, unknown>): Promise<T> {
    try {
      return (await web.apiCall(method, args)) as unknown as T;
    } catch (err) {
      throw slackApiError(err, this.context(method, args), this.redact);
    }
  }

  context(method: string, args: Record<string, unknown> = {}): CallContext {
    const channel = typeof args['channel'] === 'string' ? args['channel'] : undefined;
    const tokenEnv = method === 'apps.connections.open' ? this.slack.appTokenEnv : this.slack.botTokenEnv;
    return { method, tokenEnv, apiUrl: this.apiUrl, ...(channel ? { channel } : {}) };
  }
}

function methodOf(url: string | undefined): string {
  return url?.split('/').pop() ?? 'a Slack method';
}
