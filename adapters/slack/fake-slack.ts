import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake Slack over real HTTP on loopback, for tests: the Web API methods the adapter
 * calls (bearer token checked, calls recorded, Block Kit limits enforced, programmable
 * failures) and the other direction, signed Events API, slash command and interaction
 * requests with Slack's retries. Node built-ins only; the signature is computed here
 * from the protocol, independently of the Bolt code the adapter checks it with.
 */

export interface FakeSlackOptions {
  botToken: string;
  signingSecret: string;
  /** The bot's own user id (auth.test) and bot id. Defaults U0SKOLEBRO / B0SKOLEBRO. */
  botUserId?: string;
  botId?: string;
  teamId?: string;
}

export interface ApiCall {
  method: string;
  /** The arguments as Slack reads them (`blocks` parsed from JSON). */
  args: Record<string, unknown>;
  /** HTTP status answered (0: hung up or stalled). */
  status: number;
  ok: boolean;
  error?: string;
}

/** A message chat.postMessage accepted. */
export interface PostedMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: Array<Record<string, unknown>>;
  thread_ts?: string;
  mrkdwn?: boolean;
}

/** How the next call(s) fail. */
export type Failure =
  /** HTTP 429 with `Retry-After` in seconds (`null`: no header). Default 1. */
  | { kind: 'rate-limited'; retryAfter?: number | null }
  /** HTTP 200 `{ ok: false, error }`: channel_not_found, invalid_auth, ... */
  | { kind: 'platform'; error: string }
  | { kind: 'http'; status: 500 | 502 | 503 | 504 }
  | { kind: 'hang-up' }
  /** Never answers (until the fake closes): the client's timeout must fire. */
  | { kind: 'stall' };

export interface SignedPostOptions {
  /** `valid` (default), `forged` (another secret), `missing` (no headers), or a literal header value. */
  signature?: 'valid' | 'forged' | 'missing' | { header: string };
  /** X-Slack-Request-Timestamp in seconds. Default: now. */
  timestamp?: number;
  /** Deliveries of the same request, one after another, as Slack's retries would. Default 1. */
  times?: number;
  /** Content type sent. Default: JSON for events, form for commands and interactions. */
  contentType?: string;
  /** A raw body instead of the serialised one (malformed-payload tests). */
  rawBody?: string;
}

export class FakeSlack {
  /** Every Web API call, accepted or not, in order. */
  readonly calls: ApiCall[] = [];
  /** Messages chat.postMessage accepted, in order. */
  readonly messages: PostedMessage[] = [];
  /** chat.update calls accepted. */
  readonly updates: Array<{ channel: string; ts: string; text: string; blocks: unknown[] }> = [];
  private readonly failures: Array<{ failure: Failure | null; method?: string }> = [];
  private readonly rejectedChannels = new Map<string, string>();
  private readonly rejectedUsers = new Map<string, string>();
  private server: Server | undefined;
  private base = '';
  private seq = 0;
  private readonly opts: Required<FakeSlackOptions>;

  private constructor(opts: FakeSlackOptions) {
    this.opts = { botUserId: 'U0SKOLEBRO', botId: 'B0SKOLEBRO', teamId: 'T0OSLO0001', ...opts };
  }

  /** Starts on a free loopback port. */
  static async start(opts: FakeSlackOptions): Promise<FakeSlack> {
    const fake = new FakeSlack(opts);
    const server = createServer((req, res) => {
      fake.handle(req, res).catch((err: Error) => {
        if (!res.headersSent) json(res, 500, { ok: false, error: 'fake_error', detail: err.message });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    fake.server = server;
    fake.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return fake;
  }

  /** The Web API base URL, to configure as SLACK_API_BASE_URL. */
  get url(): string {
    return `${this.base}/api/`;
  }

  get botUserId(): string {
    return this.opts.botUserId;
  }

  get teamId(): string {
    return this.opts.teamId;
  }

  /** The DM channel id the fake gives the bot's DM with `user` (U07JOHN0001 -> D07JOHN0001). */
  dmOf(user: string): string {
    return `D${user.slice(1)}`;
  }

  /** The next `times` calls (default 1) of `method` (default any) fail this way, after `after` pass. */
  failNext(failure: Failure, opts: { times?: number; after?: number; method?: string } = {}): void {
    const method = opts.method;
    for (let i = 0; i < (opts.after ?? 0); i++)
      this.failures.push({ failure: null, ...(method ? { method } : {}) });
    for (let i = 0; i < (opts.times ?? 1); i++)
      this.failures.push({ failure, ...(method ? { method } : {}) });
  }

  /** Every post to `channel` is refused with `error`. */
  rejectChannel(channel: string, error = 'channel_not_found'): void {
    this.rejectedChannels.set(channel, error);
  }

  /** Every conversations.open with `user` is refused with `error`. */
  rejectUser(user: string, error = 'user_not_found'): void {
    this.rejectedUsers.set(user, error);
  }

  /** Forgets programmed failures and recorded calls. */
  reset(): void {
    this.failures.length = 0;
    this.rejectedChannels.clear();
    this.rejectedUsers.clear();
    this.calls.length = 0;
    this.messages.length = 0;
    this.updates.length = 0;
  }

  /** Messages posted to `channel` (and, if given, in thread `threadTs`). */
  postedTo(channel: string, threadTs?: string): PostedMessage[] {
    return this.messages.filter(
      (m) => m.channel === channel && (threadTs === undefined || m.thread_ts === threadTs),
    );
  }

  // --- The other direction: Slack posting to the app ---------------------------------

  /** `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<body>` under the signing secret. */
  sign(body: string, timestamp: number, secret = this.opts.signingSecret): string {
    return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  }

  /** A fresh event id (`Ev…`). */
  newEventId(): string {
    return `Ev${randomBytes(5).toString('hex').toUpperCase()}`;
  }

  /** A fresh message ts, later than every one before. */
  newTs(): string {
    this.seq += 1;
    return `${Math.floor(Date.now() / 1000)}.${String(this.seq).padStart(6, '0')}`;
  }

  /** A `message` event as Slack sends it for a person's message. */
  messageEvent(msg: {
    user: string;
    channel: string;
    text: string;
    channelType?: 'im' | 'channel' | 'group' | 'mpim';
    ts?: string;
    threadTs?: string;
    extra?: Record<string, unknown>;
  }): Record<string, unknown> {
    const ts = msg.ts ?? this.newTs();
    return {
      type: 'message',
      user: msg.user,
      text: msg.text,
      ts,
      client_msg_id: randomUUIDLike(),
      team: this.opts.teamId,
      channel: msg.channel,
      event_ts: ts,
      channel_type: msg.channelType ?? (msg.channel.startsWith('D') ? 'im' : 'channel'),
      ...(msg.threadTs ? { thread_ts: msg.threadTs, parent_user_id: this.opts.botUserId } : {}),
      ...msg.extra,
    };
  }

  /** The Events API envelope of `event`. */
  envelope(event: Record<string, unknown>, eventId = this.newEventId()): Record<string, unknown> {
    return {
      token: 'deprecated-verification-token',
      team_id: this.opts.teamId,
      api_app_id: 'A0SKOLEBRO',
      event,
      type: 'event_callback',
      event_id: eventId,
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [
        {
          enterprise_id: null,
          team_id: this.opts.teamId,
          user_id: this.opts.botUserId,
          is_bot: true,
          is_enterprise_install: false,
        },
      ],
      is_ext_shared_channel: false,
    };
  }

  /** Posts an Events API body (JSON) to `url`, signed; one response per delivery (retries add X-Slack-Retry-Num). */
  async postEvent(
    url: string,
    body: Record<string, unknown>,
    opts: SignedPostOptions = {},
  ): Promise<Response[]> {
    return this.post(url, opts.rawBody ?? JSON.stringify(body), opts.contentType ?? 'application/json', opts);
  }

  /** Posts a slash command (form-encoded) to `url`, signed. */
  async postCommand(
    url: string,
    cmd: { user: string; text?: string; command?: string; channel?: string },
    opts: SignedPostOptions = {},
  ): Promise<Response> {
    const params = new URLSearchParams({
      token: 'deprecated-verification-token',
      team_id: this.opts.teamId,
      team_domain: 'skolebro-oslo',
      channel_id: cmd.channel ?? this.dmOf(cmd.user),
      channel_name: 'directmessage',
      user_id: cmd.user,
      user_name: cmd.user.toLowerCase(),
      command: cmd.command ?? '/skolebro',
      text: cmd.text ?? '',
      api_app_id: 'A0SKOLEBRO',
      is_enterprise_install: 'false',
      response_url: `${this.base}/commands/response`,
      trigger_id: `${Date.now()}.${randomBytes(4).toString('hex')}`,
    });
    const [res] = await this.post(url, opts.rawBody ?? params.toString(), opts.contentType ?? FORM, opts);
    return res as Response;
  }

  /** Posts a button click (block_actions) on `message` to `url`, signed. */
  async postButtonClick(
    url: string,
    click: { user: string; message: PostedMessage; actionId: string },
    opts: SignedPostOptions = {},
  ): Promise<Response> {
    const button = findButton(click.message.blocks, click.actionId);
    const payload = {
      type: 'block_actions',
      user: { id: click.user, team_id: this.opts.teamId },
      api_app_id: 'A0SKOLEBRO',
      token: 'deprecated-verification-token',
      container: {
        type: 'message',
        message_ts: click.message.ts,
        channel_id: click.message.channel,
        is_ephemeral: false,
      },
      trigger_id: `${Date.now()}.${randomBytes(4).toString('hex')}`,
      team: { id: this.opts.teamId, domain: 'skolebro-oslo' },
      channel: { id: click.message.channel, name: 'directmessage' },
      message: {
        type: 'message',
        ts: click.message.ts,
        text: click.message.text,
        blocks: click.message.blocks,
      },
      response_url: `${this.base}/actions/response`,
      actions: [
        {
          action_id: click.actionId,
          block_id: 'b1',
          text: button?.text ?? { type: 'plain_text', text: '?' },
          value: button?.value ?? '',
          type: 'button',
          action_ts: this.newTs(),
        },
      ],
    };
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const [res] = await this.post(url, opts.rawBody ?? body, opts.contentType ?? FORM, opts);
    return res as Response;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async post(url: string, body: string, contentType: string, opts: SignedPostOptions) {
    const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
    const signature = opts.signature ?? 'valid';
    const headers: Record<string, string> = {
      'content-type': contentType,
      'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
    };
    if (signature !== 'missing') {
      headers['x-slack-request-timestamp'] = String(timestamp);
      headers['x-slack-signature'] =
        typeof signature === 'object'
          ? signature.header
          : this.sign(body, timestamp, signature === 'forged' ? 'not-the-signing-secret' : undefined);
    }
    const responses: Response[] = [];
    for (let i = 0; i < (opts.times ?? 1); i++) {
      responses.push(
        await fetch(url, {
          method: 'POST',
          headers: {
            ...headers,
            // Slack marks its retries like this; the adapter dedups on event_id, not on them.
            ...(i > 0 ? { 'x-slack-retry-num': String(i), 'x-slack-retry-reason': 'http_timeout' } : {}),
          },
          body,
        }),
      );
    }
    return responses;
  }

  // --- The Web API ----------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const path = new URL(req.url ?? '/', this.base).pathname;
    const m = /^\/api\/([a-zA-Z.]+)$/.exec(path);
    const raw = await readBody(req);
    if (req.method !== 'POST' || !m) return json(res, 404, { ok: false, error: 'unknown_method' });
    const method = m[1] as string;
    const args = parseArgs(raw, req.headers['content-type']);
    const call: ApiCall = { method, args, status: 200, ok: false };
    this.calls.push(call);
    const answer = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
      call.status = status;
      call.ok = body.ok === true;
      if (typeof body.error === 'string') call.error = body.error;
      return json(res, status, body, headers);
    };

    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ')
      ? auth.slice(7)
      : typeof args.token === 'string'
        ? args.token
        : undefined;
    if (!token) return answer(200, { ok: false, error: 'not_authed' });
    if (token !== this.opts.botToken) return answer(200, { ok: false, error: 'invalid_auth' });

    const at = this.failures.findIndex((f) => f.method === undefined || f.method === method);
    const failure = at >= 0 ? this.failures.splice(at, 1)[0]?.failure : undefined;
    if (failure) {
      if (failure.kind === 'stall') {
        call.status = 0;
        return;
      }
      if (failure.kind === 'hang-up') {
        call.status = 0;
        req.socket.destroy();
        return;
      }
      if (failure.kind === 'rate-limited') {
        const after = failure.retryAfter === undefined ? 1 : failure.retryAfter;
        return answer(
          429,
          { ok: false, error: 'ratelimited' },
          after === null ? {} : { 'retry-after': String(after) },
        );
      }
      if (failure.kind === 'http') {
        call.status = failure.status;
        res.writeHead(failure.status, { 'content-type': 'text/html' });
        res.end('<html><body>Slack is having trouble</body></html>');
        return;
      }
      return answer(200, { ok: false, error: failure.error });
    }

    switch (method) {
      case 'auth.test':
        return answer(200, {
          ok: true,
          url: 'https://skolebro-oslo.slack.com/',
          team: 'Skolebro Oslo',
          user: 'skolebro',
          team_id: this.opts.teamId,
          user_id: this.opts.botUserId,
          bot_id: this.opts.botId,
          is_enterprise_install: false,
        });
      case 'conversations.open': {
        const users = String(args.users ?? '')
          .split(',')
          .filter(Boolean);
        if (users.length === 0) return answer(200, { ok: false, error: 'users_list_not_supplied' });
        const refused = users.map((u) => this.rejectedUsers.get(u)).find(Boolean);
        if (refused) return answer(200, { ok: false, error: refused });
        if (users.length > 1) return answer(200, { ok: false, error: 'not_supported_in_fake' });
        return answer(200, {
          ok: true,
          no_op: true,
          already_open: true,
          channel: { id: this.dmOf(users[0] as string) },
        });
      }
      case 'chat.postMessage': {
        const channel = typeof args.channel === 'string' ? args.channel : '';
        if (!channel) return answer(200, { ok: false, error: 'channel_not_found' });
        const refused = this.rejectedChannels.get(channel);
        if (refused) return answer(200, { ok: false, error: refused });
        const text = typeof args.text === 'string' ? args.text : '';
        const blocks = Array.isArray(args.blocks) ? (args.blocks as Array<Record<string, unknown>>) : [];
        if (!text && blocks.length === 0) return answer(200, { ok: false, error: 'no_text' });
        if (text.length > 40_000) return answer(200, { ok: false, error: 'msg_too_long' });
        const problem = checkBlocks(blocks);
        if (problem) return answer(200, { ok: false, error: 'invalid_blocks', errors: [problem] });
        const threadTs = typeof args.thread_ts === 'string' ? args.thread_ts : undefined;
        if (threadTs && !this.messages.some((p) => p.channel === channel && p.ts === threadTs)) {
          // Slack accepts an unknown thread_ts and posts to the channel; the fake is stricter.
          return answer(200, { ok: false, error: 'thread_not_found' });
        }
        const ts = this.newTs();
        const posted: PostedMessage = {
          channel,
          ts,
          text,
          blocks,
          ...(threadTs ? { thread_ts: threadTs } : {}),
          ...(args.mrkdwn !== undefined ? { mrkdwn: args.mrkdwn === true || args.mrkdwn === 'true' } : {}),
        };
        this.messages.push(posted);
        return answer(200, {
          ok: true,
          channel,
          ts,
          message: { type: 'message', user: this.opts.botUserId, bot_id: this.opts.botId, text, ts, blocks },
        });
      }
      case 'chat.update': {
        const channel = String(args.channel ?? '');
        const ts = String(args.ts ?? '');
        if (!this.messages.some((p) => p.channel === channel && p.ts === ts)) {
          return answer(200, { ok: false, error: 'message_not_found' });
        }
        const blocks = Array.isArray(args.blocks) ? args.blocks : [];
        const problem = checkBlocks(blocks as Array<Record<string, unknown>>);
        if (problem) return answer(200, { ok: false, error: 'invalid_blocks', errors: [problem] });
        const text = String(args.text ?? '');
        this.updates.push({ channel, ts, text, blocks });
        return answer(200, { ok: true, channel, ts, text });
      }
      default:
        return answer(200, { ok: false, error: 'unknown_method' });
    }
  }
}

const FORM = 'application/x-www-form-urlencoded';

/** The first Block Kit limit a message breaks, or undefined. */
export function checkBlocks(blocks: Array<Record<string, unknown>>): string | undefined {
  if (blocks.length > 50) return `no more than 50 items allowed [json-pointer:/blocks]`;
  for (const [i, block] of blocks.entries()) {
    const where = `[json-pointer:/blocks/${i}]`;
    const text = block.text as { text?: string } | undefined;
    switch (block.type) {
      case 'section': {
        const fields = (block.fields as Array<{ text: string }> | undefined) ?? [];
        if (!text && fields.length === 0) return `must provide text or fields ${where}`;
        if (text && (text.text ?? '').length > 3000) return `must be less than 3001 characters ${where}/text`;
        if (text && (text.text ?? '').length === 0) return `must be more than 0 characters ${where}/text`;
        if (fields.length > 10) return `no more than 10 items allowed ${where}/fields`;
        for (const f of fields)
          if (f.text.length > 2000 || f.text.length === 0) return `bad field ${where}/fields`;
        break;
      }
      case 'header':
        if (!text || (text.text ?? '').length > 150) return `must be less than 151 characters ${where}/text`;
        break;
      case 'context': {
        const elements = (block.elements as Array<{ text?: string }>) ?? [];
        if (elements.length === 0 || elements.length > 10) return `1 to 10 elements ${where}/elements`;
        for (const e of elements) if ((e.text ?? '').length > 3000) return `too long ${where}/elements`;
        break;
      }
      case 'actions': {
        const elements =
          (block.elements as Array<{ action_id?: string; text?: { text: string }; value?: string }>) ?? [];
        if (elements.length === 0 || elements.length > 25) return `1 to 25 elements ${where}/elements`;
        const ids = new Set<string>();
        for (const e of elements) {
          if ((e.text?.text ?? '').length > 75)
            return `must be less than 76 characters ${where}/elements/text`;
          if ((e.value ?? '').length > 2000) return `value too long ${where}/elements/value`;
          if (e.action_id && ids.has(e.action_id)) return `duplicate action_id ${where}`;
          if (e.action_id) ids.add(e.action_id);
        }
        break;
      }
      case 'divider':
        break;
      default:
        return `unsupported type in fake: ${String(block.type)} ${where}`;
    }
  }
  return undefined;
}

function findButton(blocks: Array<Record<string, unknown>>, actionId: string) {
  for (const block of blocks) {
    if (block.type !== 'actions') continue;
    for (const e of block.elements as Array<{ action_id: string; text: unknown; value?: string }>) {
      if (e.action_id === actionId) return e;
    }
  }
  return undefined;
}

/** Web API arguments from a form (WebClient's default) or JSON body; `blocks` arrive as JSON strings in forms. */
function parseArgs(raw: string, contentType: string | undefined): Record<string, unknown> {
  if ((contentType ?? '').startsWith('application/json')) {
    try {
      return JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return {};
    }
  }
  const args: Record<string, unknown> = Object.fromEntries(new URLSearchParams(raw));
  for (const key of ['blocks', 'attachments', 'metadata']) {
    if (typeof args[key] === 'string') {
      try {
        args[key] = JSON.parse(args[key] as string);
      } catch {
        // left as the string Slack would refuse
      }
    }
  }
  for (const key of ['mrkdwn', 'unfurl_links', 'unfurl_media']) {
    if (args[key] === 'true') args[key] = true;
    if (args[key] === 'false') args[key] = false;
  }
  return args;
}

function randomUUIDLike(): string {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
