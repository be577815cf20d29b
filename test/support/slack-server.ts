// A local Slack for tests: Slack has no emulator, so this speaks its wire protocol closely enough for the
// real @slack/web-api and @slack/socket-mode clients to be pointed at it (`slackApiUrl`). Web API: POST
// /api/<method> with a form-encoded or JSON body, the token as `Authorization: Bearer` (or a `token` form
// field), HTTP 200 with `{ok:false, error}` for failures, 429 + Retry-After when rate limited, and the
// `x-oauth-scopes` header on every answer. Socket Mode: apps.connections.open (app-level token only) hands
// out a one-time ws:// URL; the socket says `hello`, delivers `interactive` envelopes and expects each one
// acknowledged with its envelope_id. Tests click buttons, submit dialogs and drop the socket through it.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

export interface FakeChannel {
  id: string;
  name: string;
  isPrivate?: boolean;
  isArchived?: boolean;
  /** Whether the app's bot user is in the channel (default true). */
  isMember?: boolean;
}

export interface SlackServerOptions {
  botToken: string;
  appToken: string;
  /** Scopes granted to the bot token (the x-oauth-scopes header). */
  scopes?: string[];
  channels?: FakeChannel[];
  /** User-group ID → member user IDs. */
  usergroups?: Record<string, string[]>;
}

export interface ApiCall {
  method: string;
  args: Record<string, unknown>;
  /** `form` or `json`, as the client sent it. */
  encoding: 'form' | 'json';
  status: number;
  error?: string;
}

export interface StoredMessage {
  channel: string;
  ts: string;
  text?: string;
  blocks: Record<string, unknown>[];
  threadTs?: string;
  replyBroadcast: boolean;
  /** Every version of the message: the posted one first, then one per chat.update. */
  history: { text?: string; blocks: Record<string, unknown>[] }[];
}

export interface OpenedView {
  id: string;
  triggerId: string;
  view: Record<string, unknown>;
}

const DEFAULT_SCOPES = ['chat:write', 'channels:read', 'groups:read', 'usergroups:read'];
const METHOD_SCOPE: Record<string, string | ((args: Record<string, unknown>, server: SlackServer) => string)> = {
  'chat.postMessage': 'chat:write',
  'chat.update': 'chat:write',
  'chat.postEphemeral': 'chat:write',
  'usergroups.users.list': 'usergroups:read',
  'conversations.info': (args, server) => (server.channel(String(args['channel']))?.isPrivate ? 'groups:read' : 'channels:read'),
};
const JSON_FIELDS = new Set(['blocks', 'attachments', 'view', 'metadata']);
const TRIGGER_TTL_MS = 3_000;

type Handler = (args: Record<string, unknown>) => Record<string, unknown>;

class SlackApiFailure extends Error {
  constructor(
    readonly error: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(error);
  }
}

export class SlackServer extends EventEmitter {
  readonly calls: ApiCall[] = [];
  readonly messages = new Map<string, StoredMessage>();
  readonly ephemerals: { channel: string; user: string; text: string }[] = [];
  readonly views: OpenedView[] = [];
  readonly acks: { envelopeId: string; payload: unknown }[] = [];
  /** Socket Mode connections accepted so far (a reconnect adds one). */
  connections = 0;
  scopes: string[];

  private readonly http: Server;
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly tickets = new Set<string>();
  private readonly triggers = new Map<string, number>();
  private readonly injected = new Map<string, { status: number; error: string; retryAfter?: number; extra?: Record<string, unknown> }[]>();
  private readonly pendingAcks = new Map<string, (payload: unknown) => void>();
  private socket: WebSocket | undefined;
  private tsCounter = 0;
  private port = 0;

  private constructor(private readonly options: SlackServerOptions) {
    super();
    this.scopes = options.scopes ?? DEFAULT_SCOPES;
    this.http = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        res.writeHead(500).end(String(err));
      });
    });
    this.http.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
  }

  static async start(options: SlackServerOptions): Promise<SlackServer> {
    const server = new SlackServer(options);
    await new Promise<void>((resolve) => server.http.listen(0, '127.0.0.1', resolve));
    server.port = (server.http.address() as AddressInfo).port;
    return server;
  }

  /** Base URL for `slackApiUrl` / `slack.apiUrl`. */
  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api/`;
  }

  channel(id: string): FakeChannel | undefined {
    return this.options.channels?.find((c) => c.id === id);
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  // ---- failure injection -------------------------------------------------------------------------------

  /** The next `times` calls of `method` are answered 429 with Retry-After: `retryAfterSeconds`. */
  rateLimit(method: string, retryAfterSeconds: number, times = 1): void {
    for (let i = 0; i < times; i++) this.inject(method, { status: 429, error: 'ratelimited', retryAfter: retryAfterSeconds });
  }

  /** The next call of `method` fails with `{ok:false, error}` (HTTP 200, as Slack does). */
  failNext(method: string, error: string, extra: Record<string, unknown> = {}): void {
    this.inject(method, { status: 200, error, extra });
  }

  private inject(method: string, failure: { status: number; error: string; retryAfter?: number; extra?: Record<string, unknown> }): void {
    const list = this.injected.get(method) ?? [];
    list.push(failure);
    this.injected.set(method, list);
  }

  // ---- observation helpers -----------------------------------------------------------------------------

  callsOf(method: string): ApiCall[] {
    return this.calls.filter((c) => c.method === method && c.status === 200 && !c.error);
  }

  /** Resolves with the first successful call of `method` matching `match`, already made or still to come. */
  waitForCall(method: string, match: (call: ApiCall) => boolean = () => true, timeoutMs = 10_000): Promise<ApiCall> {
    return this.waitFor(() => this.callsOf(method).find(match), `a ${method} call`, timeoutMs);
  }

  /** Resolves once `count` Socket Mode connections were made and the latest one got its hello. */
  waitForConnections(count: number, timeoutMs = 10_000): Promise<WebSocket> {
    return this.waitFor(
      () => (this.connections >= count && this.socket?.readyState === 1 ? this.socket : undefined),
      `${count} Socket Mode connection(s)`,
      timeoutMs,
    );
  }

  waitFor<T>(probe: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = probe();
        if (found === undefined) return false;
        cleanup();
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`local Slack: timed out waiting for ${what}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.off('change', check);
      };
      if (!check()) this.on('change', check);
    });
  }

  // ---- Socket Mode: what a user does in the Slack client -----------------------------------------------

  /**
   * Clicks a button of a stored message, as Slack would deliver it: the button must still be on the current
   * version of the message (a decided message has none). Resolves with the app's ack payload.
   */
  async click(user: string, ts: string, actionId: string): Promise<unknown> {
    const message = this.messages.get(ts);
    if (!message) throw new Error(`local Slack: no message ${ts}`);
    const found = findButton(message.blocks, actionId);
    if (!found) throw new Error(`local Slack: message ${ts} has no button ${actionId}`);
    const triggerId = `${Date.now()}.${randomUUID()}`;
    this.triggers.set(triggerId, Date.now() + TRIGGER_TTL_MS);
    return this.deliver({
      type: 'block_actions',
      user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: 'T0LOCAL' },
      api_app_id: 'A0LOCAL',
      team: { id: 'T0LOCAL', domain: 'local' },
      container: { type: 'message', message_ts: ts, channel_id: message.channel, is_ephemeral: false },
      trigger_id: triggerId,
      channel: { id: message.channel, name: this.channel(message.channel)?.name ?? 'unknown' },
      message: { type: 'message', ts, text: message.text, blocks: message.blocks, ...(message.threadTs ? { thread_ts: message.threadTs } : {}) },
      response_url: `http://127.0.0.1:${this.port}/actions/${randomUUID()}`,
      actions: [{ ...found.button, block_id: found.blockId, action_ts: `${Date.now() / 1000}` }],
    });
  }

  /** Submits an opened modal with the given text in each plain_text_input; resolves with the ack payload. */
  submitView(user: string, opened: OpenedView, text: string): Promise<unknown> {
    const values: Record<string, Record<string, unknown>> = {};
    for (const block of asList(opened.view['blocks'])) {
      const element = asRecord(block['element']);
      if (block['type'] === 'input' && element['type'] === 'plain_text_input') {
        values[String(block['block_id'])] = { [String(element['action_id'])]: { type: 'plain_text_input', value: text } };
      }
    }
    return this.deliver({
      type: 'view_submission',
      team: { id: 'T0LOCAL', domain: 'local' },
      user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: 'T0LOCAL' },
      api_app_id: 'A0LOCAL',
      trigger_id: `${Date.now()}.${randomUUID()}`,
      view: { ...opened.view, id: opened.id, state: { values } },
    });
  }

  /** Sends an `interactive` envelope on the current socket and resolves with the app's ack payload. */
  async deliver(payload: Record<string, unknown>, timeoutMs = 5_000): Promise<unknown> {
    const socket = await this.waitForConnections(Math.max(1, this.connections), timeoutMs);
    const envelopeId = randomUUID();
    const acked = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingAcks.delete(envelopeId);
        reject(new Error(`local Slack: envelope ${envelopeId} was not acknowledged`));
      }, timeoutMs);
      this.pendingAcks.set(envelopeId, (ack) => {
        clearTimeout(timer);
        resolve(ack);
      });
    });
    socket.send(JSON.stringify({ envelope_id: envelopeId, type: 'interactive', payload, accepts_response_payload: false }));
    return acked;
  }

  /** Ends the current socket: `refresh` asks the client to reconnect (as Slack does hourly), `drop` just cuts it. */
  dropSocket(how: 'refresh' | 'drop'): void {
    const socket = this.socket;
    if (!socket) throw new Error('local Slack: no socket to drop');
    if (how === 'refresh') socket.send(JSON.stringify({ type: 'disconnect', reason: 'refresh_requested', debug_info: { host: 'local' } }));
    else socket.terminate();
  }

  // ---- HTTP ---------------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0] ?? '';
    const raw = await readBody(req);
    const json = (req.headers['content-type'] ?? '').startsWith('application/json');
    const args = json ? (JSON.parse(raw || '{}') as Record<string, unknown>) : parseForm(raw);
    const token = bearer(req.headers.authorization) ?? (json ? undefined : stringOr(args['token']));
    delete args['token'];
    const call: ApiCall = { method, args, encoding: json ? 'json' : 'form', status: 200 };
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
    if (token === this.options.botToken) headers['x-oauth-scopes'] = this.scopes.join(',');
    let body: Record<string, unknown>;
    const injected = this.injected.get(method)?.shift();
    if (injected) {
      call.status = injected.status;
      call.error = injected.error;
      if (injected.retryAfter !== undefined) headers['retry-after'] = String(injected.retryAfter);
      body = { ok: false, error: injected.error, ...injected.extra };
    } else {
      try {
        body = { ok: true, ...this.dispatch(method, args, token) };
      } catch (err) {
        if (!(err instanceof SlackApiFailure)) throw err;
        call.error = err.error;
        body = { ok: false, error: err.error, ...err.extra };
      }
    }
    this.calls.push(call);
    res.writeHead(call.status, headers).end(JSON.stringify(body));
    this.emit('change');
  }

  private dispatch(method: string, args: Record<string, unknown>, token: string | undefined): Record<string, unknown> {
    if (!token) throw new SlackApiFailure('not_authed');
    const isApp = token === this.options.appToken;
    if (!isApp && token !== this.options.botToken) throw new SlackApiFailure('invalid_auth');
    if (isApp !== (method === 'apps.connections.open')) throw new SlackApiFailure('not_allowed_token_type');
    const handler = this.handlers[method];
    if (!handler) throw new SlackApiFailure('unknown_method');
    const scope = METHOD_SCOPE[method];
    const needed = typeof scope === 'function' ? scope(args, this) : scope;
    if (needed && !this.scopes.includes(needed)) {
      throw new SlackApiFailure('missing_scope', { needed, provided: this.scopes.join(',') });
    }
    return handler(args);
  }

  private readonly handlers: Record<string, Handler> = {
    'auth.test': () => ({ url: 'https://local.slack.test/', team: 'Local', user: 'cutover', team_id: 'T0LOCAL', user_id: 'U0BOT', bot_id: 'B0BOT' }),
    'apps.connections.open': () => {
      const ticket = randomUUID();
      this.tickets.add(ticket);
      return { url: `ws://127.0.0.1:${this.port}/link/?ticket=${ticket}` };
    },
    'conversations.info': (args) => {
      const channel = this.channel(String(args['channel']));
      if (!channel) throw new SlackApiFailure('channel_not_found');
      return {
        channel: {
          id: channel.id,
          name: channel.name,
          is_channel: !channel.isPrivate,
          is_group: false,
          is_private: channel.isPrivate === true,
          is_archived: channel.isArchived === true,
          is_member: channel.isMember !== false,
        },
      };
    },
    'usergroups.users.list': (args) => {
      const users = this.options.usergroups?.[String(args['usergroup'])];
      if (!users) throw new SlackApiFailure('no_such_subteam');
      return { users };
    },
    'chat.postMessage': (args) => {
      const channel = this.postable(args);
      const ts = this.nextTs();
      const threadTs = stringOr(args['thread_ts']);
      if (threadTs && !this.messages.has(threadTs)) throw new SlackApiFailure('thread_not_found');
      const stored: StoredMessage = {
        channel: channel.id,
        ts,
        ...textOf(args),
        blocks: blocksOf(args),
        ...(threadTs ? { threadTs } : {}),
        replyBroadcast: args['reply_broadcast'] === true || args['reply_broadcast'] === 'true',
        history: [],
      };
      stored.history.push({ ...textOf(args), blocks: stored.blocks });
      this.messages.set(ts, stored);
      return { channel: channel.id, ts, message: { type: 'message', ts, text: stored.text, blocks: stored.blocks, bot_id: 'B0BOT' } };
    },
    'chat.update': (args) => {
      const channel = this.postable(args);
      const stored = this.messages.get(String(args['ts']));
      if (!stored || stored.channel !== channel.id) throw new SlackApiFailure('message_not_found');
      Object.assign(stored, textOf(args), { blocks: blocksOf(args) });
      stored.history.push({ ...textOf(args), blocks: stored.blocks });
      return { channel: channel.id, ts: stored.ts, text: stored.text, message: { text: stored.text, blocks: stored.blocks } };
    },
    'chat.postEphemeral': (args) => {
      const channel = this.postable(args);
      const user = stringOr(args['user']);
      if (!user) throw new SlackApiFailure('user_not_found');
      this.ephemerals.push({ channel: channel.id, user, text: String(args['text'] ?? '') });
      return { message_ts: this.nextTs() };
    },
    'chat.getPermalink': (args) => {
      const stored = this.messages.get(String(args['message_ts']));
      if (!stored || stored.channel !== args['channel']) throw new SlackApiFailure('message_not_found');
      const thread = stored.threadTs ? `?thread_ts=${stored.threadTs}&cid=${stored.channel}` : '';
      return { channel: stored.channel, permalink: `https://local.slack.test/archives/${stored.channel}/p${stored.ts.replace('.', '')}${thread}` };
    },
    'views.open': (args) => {
      const triggerId = String(args['trigger_id'] ?? '');
      const expires = this.triggers.get(triggerId);
      if (expires === undefined) throw new SlackApiFailure('invalid_trigger_id');
      this.triggers.delete(triggerId);
      if (expires < Date.now()) throw new SlackApiFailure('expired_trigger_id');
      const view = asRecord(args['view']);
      if (view['type'] !== 'modal') throw new SlackApiFailure('invalid_arguments');
      const opened: OpenedView = { id: `V${randomUUID().slice(0, 8).toUpperCase()}`, triggerId, view };
      this.views.push(opened);
      return { view: { id: opened.id, ...view, state: { values: {} } } };
    },
  };

  /** The channel of a chat.* call, refused the way Slack refuses it. */
  private postable(args: Record<string, unknown>): FakeChannel {
    const channel = this.channel(String(args['channel'] ?? ''));
    if (!channel) throw new SlackApiFailure('channel_not_found');
    if (channel.isArchived) throw new SlackApiFailure('is_archived');
    if (channel.isMember === false) throw new SlackApiFailure('not_in_channel');
    return channel;
  }

  private nextTs(): string {
    this.tsCounter += 1;
    return `${Math.floor(Date.now() / 1000)}.${String(this.tsCounter).padStart(6, '0')}`;
  }

  // ---- WebSocket ---------------------------------------------------------------------------------------

  private upgrade(req: IncomingMessage, socket: import('node:stream').Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${this.port}`);
    const ticket = url.searchParams.get('ticket') ?? '';
    if (url.pathname !== '/link/' || !this.tickets.delete(ticket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
  }

  private accept(ws: WebSocket): void {
    this.connections += 1;
    this.socket = ws;
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as { envelope_id?: string; payload?: unknown };
      if (!message.envelope_id) return;
      this.acks.push({ envelopeId: message.envelope_id, payload: message.payload });
      this.pendingAcks.get(message.envelope_id)?.(message.payload);
      this.pendingAcks.delete(message.envelope_id);
      this.emit('change');
    });
    ws.on('close', () => {
      if (this.socket === ws) this.socket = undefined;
      this.emit('change');
    });
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: 1,
        debug_info: { host: 'local', build_number: 1, approximate_connection_time: 3600 },
        connection_info: { app_id: 'A0LOCAL' },
      }),
    );
    this.emit('change');
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Form bodies carry structured fields (blocks, view) as JSON text, which Slack decodes. */
function parseForm(raw: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(raw)) out[key] = JSON_FIELDS.has(key) ? JSON.parse(value) : value;
  return out;
}

function bearer(header: string | undefined): string | undefined {
  const match = /^Bearer (.+)$/.exec(header ?? '');
  return match?.[1];
}

function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

function asList(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.map(asRecord) : [];
}

function textOf(args: Record<string, unknown>): { text?: string } {
  return typeof args['text'] === 'string' ? { text: args['text'] } : {};
}

function blocksOf(args: Record<string, unknown>): Record<string, unknown>[] {
  if (args['blocks'] !== undefined && !Array.isArray(args['blocks'])) throw new SlackApiFailure('invalid_blocks_format');
  return asList(args['blocks']);
}

function findButton(blocks: Record<string, unknown>[], actionId: string): { blockId: string; button: Record<string, unknown> } | undefined {
  for (const block of blocks) {
    if (block['type'] !== 'actions') continue;
    const button = asList(block['elements']).find((e) => e['action_id'] === actionId);
    if (button) return { blockId: String(block['block_id'] ?? ''), button };
  }
  return undefined;
}

/** All button action_ids on a message version: empty once the buttons were removed. */
export function buttonsOf(blocks: Record<string, unknown>[]): string[] {
  return blocks.filter((b) => b['type'] === 'actions').flatMap((b) => asList(b['elements']).map((e) => String(e['action_id'])));
}

/** Every text of a message version, flattened, for assertions on what approvers read. */
export function textOfBlocks(blocks: Record<string, unknown>[]): string {
  return JSON.stringify(blocks);
}
