// The Socket Mode connection an approval wait listens on. Every envelope is acknowledged (Slack re-sends
// or shows an error to the clicker otherwise); interactive ones go to the handler, whose verdict can shape
// the ack (a dialog's validation errors). Reconnects are done here rather than by the client's built-in
// loop, whose failures surface as unhandled rejections: a dropped socket is reopened with backoff until
// the wait ends, and a refused token ends the wait with a clear error instead of retrying forever.
import { SocketModeClient } from '@slack/socket-mode';
import { WebAPIPlatformError } from '@slack/web-api';
import { ApiError } from '../../core/errors.js';
import type { SlackApi } from './client.js';
import { slackApiError } from './errors.js';

/** What to answer Slack with at once, and what to do after (serialised with earlier follow-ups). */
export interface InteractionResult {
  ack?: Record<string, unknown>;
  followUp?: () => Promise<void>;
}

export type InteractionHandler = (payload: Record<string, unknown>) => InteractionResult;

interface Envelope {
  ack: (response?: Record<string, unknown>) => Promise<void>;
  type: string;
  body: unknown;
}

const HELLO_TIMEOUT_MS = 30_000;
const MAX_RECONNECT_DELAY_MS = 30_000;
/** Platform errors that no reconnect can cure: the app-level token itself is refused. */
const FATAL = new Set(['invalid_auth', 'not_authed', 'not_allowed_token_type', 'token_revoked', 'account_inactive']);

export class InteractionSocket {
  private readonly client: SocketModeClient;
  private closing = false;
  private reconnecting = false;
  private connecting = false;
  /** The app-level token was refused: reconnecting cannot help. */
  private refused = false;
  private chain: Promise<void> = Promise.resolve();
  private reconnection: Promise<void> = Promise.resolve();
  private readonly wake = new AbortController();

  constructor(
    private readonly api: SlackApi,
    private readonly handler: InteractionHandler,
    /** Called when the connection is lost for good or a follow-up failed: ends the wait with that error. */
    private readonly fail: (err: Error) => void,
  ) {
    const { options } = api;
    this.client = new SocketModeClient({
      appToken: api.tokens.app,
      logger: api.logger,
      autoReconnectEnabled: false,
      clientPingTimeout: options.pingTimeoutMs ?? 5_000,
      clientOptions: {
        slackApiUrl: api.apiUrl,
        retryConfig: options.retry ?? { retries: 3, factor: 2, minTimeout: 500, maxTimeout: 5_000 },
        timeout: options.requestTimeoutMs ?? 30_000,
      },
    });
    this.client.on('slack_event', (envelope: Envelope) => this.receive(envelope));
    this.client.on('disconnected', () => this.onDisconnected());
  }

  /** Connects (apps.connections.open with the app-level token, then the WebSocket) and waits for `hello`. */
  async open(): Promise<void> {
    await this.connectOnce();
  }

  /** Closes the socket and waits for follow-ups already started, so nothing runs after the wait returns. */
  async close(): Promise<void> {
    this.closing = true;
    this.wake.abort();
    // A reconnect in flight may still open a socket; let it finish so the disconnect below closes that one.
    await this.reconnection;
    await this.client.disconnect();
    await this.chain;
  }

  private async connectOnce(): Promise<void> {
    // A failed attempt also emits `disconnected`; `connecting` keeps that from starting a second loop.
    this.connecting = true;
    let timer: NodeJS.Timeout | undefined;
    const helloTimeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), HELLO_TIMEOUT_MS);
    });
    try {
      const started = this.client.start().then(() => 'hello' as const);
      if ((await Promise.race([started, helloTimeout])) === 'timeout') {
        started.catch(() => undefined); // settled by the disconnect below; the timeout is what is reported
        await this.client.disconnect();
        throw new ApiError('Slack Socket Mode: the server sent no hello within 30s');
      }
    } catch (err) {
      if (err instanceof WebAPIPlatformError && FATAL.has(err.data.error)) this.refused = true;
      throw slackApiError(err ?? new Error('the WebSocket closed before hello'), this.api.context('apps.connections.open'), this.api.redact);
    } finally {
      clearTimeout(timer);
      this.connecting = false;
    }
  }

  private receive(envelope: Envelope): void {
    const payload = envelope.type === 'interactive' && isRecord(envelope.body) ? envelope.body : undefined;
    let result: InteractionResult = {};
    try {
      if (payload) result = this.handler(payload);
    } catch (err) {
      // Thrown inside the client's message event, it would surface nowhere; it ends the wait instead.
      this.fail(asError(err));
    }
    envelope.ack(result.ack).catch((err: unknown) => {
      // The socket dropped between delivery and ack: Slack tells the clicker, who can click again.
      this.api.logger.warn(`could not acknowledge a Slack ${envelope.type} envelope: ${String(err)}`);
    });
    const followUp = result.followUp;
    if (followUp) this.chain = this.chain.then(followUp).catch((err: unknown) => this.fail(asError(err)));
  }

  private onDisconnected(): void {
    if (this.closing || this.reconnecting || this.connecting) return;
    this.reconnecting = true;
    this.reconnection = this.reconnect().then(
      () => {
        this.reconnecting = false;
      },
      (err: unknown) => {
        this.reconnecting = false;
        this.fail(asError(err));
      },
    );
  }

  private async reconnect(): Promise<void> {
    let delay = this.api.options.reconnectDelayMs ?? 1_000;
    while (!this.closing) {
      this.api.logger.warn(`Slack Socket Mode connection lost; reconnecting in ${delay}ms`);
      await pause(delay, this.wake.signal);
      if (this.closing) return;
      try {
        await this.connectOnce();
        this.api.logger.info('Slack Socket Mode reconnected');
        return;
      } catch (err) {
        if (this.refused) throw err;
        delay = Math.min(delay * 2, MAX_RECONNECT_DELAY_MS);
      }
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
