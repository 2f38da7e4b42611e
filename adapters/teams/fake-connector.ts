import { createSign, generateKeyPairSync, type KeyObject, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake of the Bot Framework's side of Teams over real HTTP on loopback, for tests: the
 * token endpoint (client credentials), the OpenID metadata and signing keys that inbound
 * JWTs are checked against, and the Bot Connector conversations API (recording what the
 * bot posts and every update of a posted message, with programmable failures). It also plays Teams: it builds activities as
 * Teams sends them and posts them to the bot with a JWT it signs itself, using node:crypto
 * and not the jsonwebtoken package the SDK verifies with.
 */

export const CHANNEL_ISSUER = 'https://api.botframework.com';
/** The tenant activities come from unless a test says otherwise. */
export const DEFAULT_TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

export interface FakeConnectorOptions {
  appId: string;
  appPassword: string;
  /** Tenant of the users it creates. Default DEFAULT_TENANT. */
  tenantId?: string;
}

/** A Teams user the fake knows: ids as Teams gives them, and their one-to-one chat with the bot. */
export interface FakeUser {
  aadObjectId: string;
  /** The Bot Framework user id (`29:…`). */
  id: string;
  name: string;
  /** Their personal chat with the bot (`a:…`). */
  conversationId: string;
}

/** One message the bot posted. */
export interface PostedActivity {
  /** The conversation it went to (for a new conversation: the one answered with). */
  conversationId: string;
  /** The id the fake gave it. */
  id: string;
  /** How it was posted. */
  via: 'create' | 'send' | 'reply';
  /** For `reply`: the activity id in the URL. */
  replyToId?: string;
  activity: {
    type?: string;
    text?: string;
    textFormat?: string;
    locale?: string;
    attachments?: Array<{ contentType: string; content: Record<string, unknown> }>;
    channelData?: Record<string, unknown>;
    [key: string]: unknown;
  };
}

/** One update of a message the bot had posted (PUT on the activity: "update activity"). */
export interface UpdatedActivity {
  conversationId: string;
  /** The activity replaced: the id it was posted with. */
  activityId: string;
  activity: PostedActivity['activity'];
}

/** How the next call(s) to the conversations API fail. */
export type Failure =
  | { status: 429; retryAfter?: string }
  | { status: 500 | 502 | 503 | 504 }
  | { status: 403; code?: string }
  | { status: 404; code?: string }
  | { status: 'hang-up' };

/** Which token an inbound post carries. */
export type TokenKind =
  | 'valid'
  /** Signed with a key that is not in the published key set. */
  | 'forged'
  | 'expired'
  /** Issued for another bot. */
  | 'wrong-audience'
  /** Issued for another serviceUrl than the activity names. */
  | 'wrong-service-url'
  | 'missing';

export interface PostOptions {
  /** Default `valid`. A string that is not a kind is sent as the whole Authorization header. */
  token?: TokenKind | { header: string };
  /** Deliveries of the same activity, one after another, as the channel's retries would. Default 1. */
  times?: number;
}

export interface MessageOptions {
  text?: string;
  /** Default: a new Teams-style id (a millisecond timestamp). */
  id?: string;
  /** Adaptive Card Action.Submit data. */
  value?: unknown;
  replyToId?: string;
  /** Default the user's personal chat. */
  conversationId?: string;
  conversationType?: 'personal' | 'channel' | 'groupChat';
  entities?: unknown[];
  tenantId?: string;
}

const ERRORS: Record<number, string> = {
  403: 'BotNotInConversationRoster',
  404: 'ConversationNotFound',
  429: 'Throttled',
  500: 'ServiceError',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
};

export class FakeConnector {
  /** Messages the conversations API accepted, in order. */
  readonly posted: PostedActivity[] = [];
  /** Updates of posted messages the API accepted, in order. */
  readonly updates: UpdatedActivity[] = [];
  /** Every call to the conversations API: path and status answered (0 when hung up). */
  readonly calls: Array<{ path: string; status: number }> = [];
  /** Token requests: the client id and whether it was granted. */
  readonly tokenRequests: Array<{ clientId: string; granted: boolean }> = [];
  private readonly failures: Array<Failure | null> = [];
  private readonly conversationFailures = new Map<string, Failure>();
  private readonly conversations = new Set<string>();
  private readonly users = new Map<string, FakeUser>();
  private readonly tokens = new Set<string>();
  private readonly key = generateKeyPairSync('rsa', { modulusLength: 2048 });
  private readonly forger = generateKeyPairSync('rsa', { modulusLength: 2048 });
  private readonly kid = randomBytes(8).toString('hex');
  private readonly tenantId: string;
  private clock = Date.now();
  private server: Server | undefined;
  private base = '';

  private constructor(private readonly opts: FakeConnectorOptions) {
    this.tenantId = opts.tenantId ?? DEFAULT_TENANT;
  }

  /** Starts on a free loopback port. */
  static async start(opts: FakeConnectorOptions): Promise<FakeConnector> {
    const fake = new FakeConnector(opts);
    const server = createServer((req, res) => {
      fake
        .handle(req, res)
        .catch((err: Error) => json(res, 500, { error: { code: 'ServiceError', message: err.message } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    fake.server = server;
    fake.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return fake;
  }

  /** The serviceUrl its activities name; the conversations API lives under it. */
  get serviceUrl(): string {
    return `${this.base}/emea/`;
  }

  /** TEAMS_OPENID_METADATA_URL. */
  get openIdMetadataUrl(): string {
    return `${this.base}/v1/.well-known/openidconfiguration`;
  }

  /** TEAMS_LOGIN_URL: the token authority (tokens at `<it>/oauth2/v2.0/token`). */
  get loginUrl(): string {
    return `${this.base}/botframework.com`;
  }

  /** The bot's id in activities (`28:<app id>`). */
  get botId(): string {
    return `28:${this.opts.appId}`;
  }

  /** The user with this AAD object id, created with Teams-style ids on first use. */
  user(aadObjectId: string, name = 'Teams User'): FakeUser {
    let user = this.users.get(aadObjectId);
    if (!user) {
      user = {
        aadObjectId,
        id: `29:1${randomBytes(30).toString('base64url')}`,
        name,
        conversationId: `a:1${randomBytes(60).toString('base64url')}`,
      };
      this.users.set(aadObjectId, user);
      this.conversations.add(user.conversationId);
    }
    return user;
  }

  /** A Teams channel (a team's conversation) the bot is in: `19:…@thread.tacv2`. */
  channel(): string {
    const id = `19:${randomBytes(16).toString('hex')}@thread.tacv2`;
    this.conversations.add(id);
    return id;
  }

  /** A Teams-style message id: a millisecond timestamp, unique within this fake. */
  newActivityId(): string {
    this.clock += 1;
    return String(this.clock);
  }

  /** A message activity from `user`, as Teams sends it (personal chat unless said). */
  message(user: FakeUser, opts: MessageOptions = {}): Record<string, unknown> {
    const conversationId = opts.conversationId ?? user.conversationId;
    const type = opts.conversationType ?? (conversationId === user.conversationId ? 'personal' : 'channel');
    return {
      ...this.envelope(user, conversationId, type, opts.tenantId),
      type: 'message',
      id: opts.id ?? this.newActivityId(),
      textFormat: 'plain',
      ...(opts.text !== undefined ? { text: opts.text } : {}),
      ...(opts.value !== undefined ? { value: opts.value } : {}),
      ...(opts.replyToId ? { replyToId: opts.replyToId } : {}),
      entities: [
        { type: 'clientInfo', locale: 'nb-NO', country: 'NO', platform: 'Web', timezone: 'Europe/Oslo' },
        ...(opts.entities ?? []),
      ],
    };
  }

  /** The conversationUpdate Teams sends when `user` installs the bot in their personal scope. */
  installed(user: FakeUser, opts: { tenantId?: string } = {}): Record<string, unknown> {
    return {
      ...this.envelope(user, user.conversationId, 'personal', opts.tenantId),
      type: 'conversationUpdate',
      id: `f:${randomUUID()}`,
      membersAdded: [{ id: this.botId }],
    };
  }

  /** The installationUpdate Teams sends when `user` adds or removes the app. */
  installationUpdate(user: FakeUser, action: 'add' | 'remove'): Record<string, unknown> {
    return {
      ...this.envelope(user, user.conversationId, 'personal'),
      type: 'installationUpdate',
      id: `f:${randomUUID()}`,
      action,
    };
  }

  /** A channel JWT as the Bot Framework signs it (RS256, kid of the published key). */
  token(kind: Exclude<TokenKind, 'missing'> = 'valid', serviceUrl = this.serviceUrl): string {
    const now = Math.floor(Date.now() / 1000);
    const expired = kind === 'expired';
    const claims = {
      serviceurl: kind === 'wrong-service-url' ? 'https://smba.trafficmanager.net/amer/' : serviceUrl,
      nbf: expired ? now - 7200 : now - 60,
      // Past the SDK's five minutes of clock tolerance.
      exp: expired ? now - 3600 : now + 3600,
      iss: CHANNEL_ISSUER,
      aud: kind === 'wrong-audience' ? randomUUID() : this.opts.appId,
    };
    return signJwt(claims, kind === 'forged' ? this.forger.privateKey : this.key.privateKey, this.kid);
  }

  /** Posts an activity to the bot's messaging endpoint (`url`), signed as said; one response per delivery. */
  async post(url: string, activity: unknown, opts: PostOptions = {}): Promise<Response[]> {
    const kind = opts.token ?? 'valid';
    const serviceUrl = (activity as { serviceUrl?: string }).serviceUrl ?? this.serviceUrl;
    const authorization =
      typeof kind === 'object'
        ? kind.header
        : kind === 'missing'
          ? undefined
          : `Bearer ${this.token(kind, serviceUrl)}`;
    const body = typeof activity === 'string' ? activity : JSON.stringify(activity);
    const responses: Response[] = [];
    for (let i = 0; i < (opts.times ?? 1); i++) {
      responses.push(
        await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json; charset=utf-8',
            'user-agent': 'Microsoft-SkypeBotApi (Microsoft-BotFramework/3.0)',
            ...(authorization ? { authorization } : {}),
          },
          body,
        }),
      );
    }
    return responses;
  }

  /** The next `times` calls (default 1) fail this way, after `after` calls pass (default 0). */
  failNext(failure: Failure, opts: { times?: number; after?: number } = {}): void {
    for (let i = 0; i < (opts.after ?? 0); i++) this.failures.push(null);
    for (let i = 0; i < (opts.times ?? 1); i++) this.failures.push(failure);
  }

  /** Every call for this conversation fails this way (the bot was removed, say). */
  failConversation(conversationId: string, failure: Failure): void {
    this.conversationFailures.set(conversationId, failure);
  }

  /** Messages posted to a conversation (a user's personal chat, by default). */
  postedTo(conversation: FakeUser | string): PostedActivity[] {
    const id = typeof conversation === 'string' ? conversation : conversation.conversationId;
    return this.posted.filter((p) => p.conversationId === id);
  }

  /** Updates of one posted message, in order. */
  updatesOf(activityId: string): UpdatedActivity[] {
    return this.updates.filter((u) => u.activityId === activityId);
  }

  /** A posted message as Teams shows it now: its last update, else as posted. */
  current(activityId: string): PostedActivity['activity'] | undefined {
    return (
      this.updatesOf(activityId).at(-1)?.activity ?? this.posted.find((p) => p.id === activityId)?.activity
    );
  }

  /** Forgets programmed failures and recorded messages; users and conversations stay. */
  reset(): void {
    this.failures.length = 0;
    this.conversationFailures.clear();
    this.posted.length = 0;
    this.updates.length = 0;
    this.calls.length = 0;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private envelope(user: FakeUser, conversationId: string, type: string, tenantId = this.tenantId) {
    return {
      timestamp: new Date().toISOString(),
      localTimestamp: new Date().toISOString(),
      serviceUrl: this.serviceUrl,
      channelId: 'msteams',
      from: { id: user.id, name: user.name, aadObjectId: user.aadObjectId },
      conversation: {
        conversationType: type,
        tenantId,
        id: conversationId,
        ...(type === 'personal' ? {} : { isGroup: true }),
      },
      recipient: { id: this.botId, name: 'Skolebro' },
      locale: 'nb-NO',
      channelData: { tenant: { id: tenantId } },
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const path = new URL(req.url ?? '/', this.base).pathname;
    if (req.method === 'GET' && path === '/v1/.well-known/openidconfiguration') {
      return json(res, 200, {
        issuer: CHANNEL_ISSUER,
        authorization_endpoint: 'https://invalid.botframework.com',
        jwks_uri: `${this.base}/v1/.well-known/keys`,
        id_token_signing_alg_values_supported: ['RS256'],
        token_endpoint_auth_methods_supported: ['private_key_jwt'],
      });
    }
    if (req.method === 'GET' && path === '/v1/.well-known/keys') {
      const jwk = this.key.publicKey.export({ format: 'jwk' }) as { n: string; e: string };
      return json(res, 200, {
        keys: [{ kty: 'RSA', use: 'sig', kid: this.kid, n: jwk.n, e: jwk.e, endorsements: ['msteams'] }],
      });
    }
    if (req.method === 'POST' && /^\/[^/]+\/oauth2\/v2\.0\/token$/.test(path)) {
      return this.issueToken(req, res);
    }
    const m = /^\/emea\/v3\/conversations(?:\/([^/]+)\/activities(?:\/([^/]+))?)?$/.exec(path);
    // POST creates a conversation or posts in one; PUT on an activity updates a message we posted.
    const update = req.method === 'PUT' && m?.[2] !== undefined;
    if (!m || (req.method !== 'POST' && !update))
      return json(res, 404, error('NotFound', 'No such resource'));

    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      this.calls.push({ path, status });
      return json(res, status, body, headers);
    };
    const bearer = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    if (!this.tokens.has(bearer)) return answer(401, error('Unauthorized', 'Authorization has been denied'));
    const body = JSON.parse((await readBody(req)) || '{}') as Record<string, unknown>;
    const target = m[1] === undefined ? undefined : decodeURIComponent(m[1]);
    const failure =
      this.failures.length > 0
        ? this.failures.shift()
        : target !== undefined
          ? this.conversationFailures.get(target)
          : undefined;
    if (failure) {
      if (failure.status === 'hang-up') {
        this.calls.push({ path, status: 0 });
        req.socket.destroy();
        return;
      }
      const code = ('code' in failure ? failure.code : undefined) ?? ERRORS[failure.status] ?? 'Error';
      return answer(failure.status, error(code, `Fake failure ${failure.status}`), {
        ...('retryAfter' in failure && failure.retryAfter !== undefined
          ? { 'retry-after': failure.retryAfter }
          : {}),
      });
    }

    if (target === undefined) {
      // Create: Teams answers a one-to-one conversation with the chat that already exists.
      const members = (body.members as Array<{ id?: string }> | undefined) ?? [];
      const activity = body.activity as PostedActivity['activity'] | undefined;
      if (members.length === 0 || !body.bot)
        return answer(400, error('BadArgument', 'bot and members are required'));
      const member = [...this.users.values()].find((u) => u.id === members[0]?.id);
      const conversationId =
        members.length === 1 && member && !body.isGroup
          ? member.conversationId
          : `a:1${randomBytes(40).toString('base64url')}`;
      this.conversations.add(conversationId);
      if (!activity) return answer(201, { id: conversationId });
      const id = this.newActivityId();
      this.posted.push({ conversationId, id, via: 'create', activity });
      return answer(201, { id: conversationId, activityId: id });
    }
    if (!this.conversations.has(target) && !this.conversations.has(target.split(';')[0] ?? target)) {
      return answer(404, error('ConversationNotFound', 'Conversation not found.'));
    }
    if (body.type !== 'message') return answer(400, error('BadArgument', 'Unknown activity type'));
    if (update) {
      const activityId = decodeURIComponent(m[2] as string);
      const original = this.posted.find((p) => p.id === activityId);
      // Only a message the bot posted in this conversation can be updated.
      if (!original || original.conversationId.split(';')[0] !== target.split(';')[0])
        return answer(404, error('ActivityNotFound', 'Activity not found.'));
      this.updates.push({ conversationId: target, activityId, activity: body as PostedActivity['activity'] });
      return answer(200, { id: activityId });
    }
    const id = this.newActivityId();
    this.posted.push({
      conversationId: target,
      id,
      via: m[2] === undefined ? 'send' : 'reply',
      ...(m[2] !== undefined ? { replyToId: decodeURIComponent(m[2]) } : {}),
      activity: body as PostedActivity['activity'],
    });
    return answer(201, { id });
  }

  /** Client credentials for our app id and password, for the Bot Connector scope. */
  private async issueToken(req: IncomingMessage, res: ServerResponse) {
    const form = new URLSearchParams(await readBody(req));
    const clientId = form.get('client_id') ?? '';
    const granted =
      form.get('grant_type') === 'client_credentials' &&
      clientId === this.opts.appId &&
      form.get('client_secret') === this.opts.appPassword &&
      form.get('scope') === `${CHANNEL_ISSUER}/.default`;
    this.tokenRequests.push({ clientId, granted });
    if (!granted) {
      return json(res, 401, {
        error: 'invalid_client',
        error_description: 'AADSTS7000215: Invalid client secret.',
      });
    }
    const token = randomBytes(24).toString('base64url');
    this.tokens.add(token);
    return json(res, 200, {
      token_type: 'Bearer',
      expires_in: 3599,
      ext_expires_in: 3599,
      access_token: token,
    });
  }
}

/** An RS256 JWT, built from the RFC: base64url(header).base64url(claims).base64url(signature). */
function signJwt(claims: Record<string, unknown>, key: KeyObject, kid: string): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode({ alg: 'RS256', typ: 'JWT', kid, x5t: kid })}.${encode(claims)}`;
  const signature = createSign('RSA-SHA256').update(input).sign(key).toString('base64url');
  return `${input}.${signature}`;
}

const error = (code: string, message: string) => ({ error: { code, message } });

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
