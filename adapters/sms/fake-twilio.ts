import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { countSegments } from './segments.ts';

/**
 * A fake Twilio over real HTTP on loopback, for tests: the Messages API (basic auth,
 * 201 with Twilio's JSON, programmable failures) and the other direction, signed
 * inbound webhooks and status callbacks. Node built-ins only; the signature is computed
 * here from the protocol, independently of the `twilio` package the adapter checks with.
 */

export interface SentMessage {
  sid: string;
  to: string;
  from?: string;
  messagingServiceSid?: string;
  body: string;
  statusCallback?: string;
  /** The basic-auth user the call came with. */
  username: string;
  /** When the call arrived (ms since the epoch): the pace a sender kept. */
  at: number;
}

/** How the next call(s) to the Messages API fail. */
export type Failure =
  | { status: 429; retryAfter?: string }
  | { status: 500 | 502 | 503 }
  | { status: 400 | 404; code: number; message?: string }
  | { status: 'hang-up' }
  /** Never answers (until the fake closes): the client's timeout must fire. */
  | { status: 'stall' };

export interface FakeTwilioOptions {
  accountSid: string;
  authToken: string;
  /**
   * Where a post to a public URL really goes: the server under test as it listens on
   * loopback. Default: the URL itself.
   */
  route?: (publicUrl: string) => string;
}

export interface PostOptions {
  /** `null` sends no X-Twilio-Signature; a string sends that one. Default: the right signature. */
  signature?: string | null;
  /** Signs with another token (a forger's). */
  authToken?: string;
  /** Deliveries of the same request, one after another, as Twilio's retries would. Default 1. */
  times?: number;
}

const ERRORS: Record<number, string> = {
  20003: 'Authenticate',
  21211: "The 'To' number is not a valid phone number.",
  21602: 'Message body is required.',
  21604: "A 'To' phone number is required.",
  21610: 'Attempt to send to unsubscribed recipient',
  21614: "'To' number is not a valid mobile number",
  21617: 'The concatenated message body exceeds the 1600 character limit.',
};

export class FakeTwilio {
  /** Messages the API accepted, in order. */
  readonly sent: SentMessage[] = [];
  /** Every call to the Messages API, accepted or not: the To and the status answered. */
  readonly calls: Array<{ to: string; status: number }> = [];
  /** Programmed outcomes of the next calls, in order; `null` lets a call through. */
  private readonly failures: Array<Failure | null> = [];
  private readonly numberFailures = new Map<string, Failure>();
  private server: Server | undefined;
  private base = '';

  private constructor(private readonly opts: FakeTwilioOptions) {}

  /** Starts on a free loopback port. */
  static async start(opts: FakeTwilioOptions): Promise<FakeTwilio> {
    const fake = new FakeTwilio(opts);
    const server = createServer((req, res) => {
      fake.handle(req, res).catch((err: Error) => {
        res.statusCode = 500;
        res.end(JSON.stringify({ message: err.message }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    fake.server = server;
    fake.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return fake;
  }

  /** The base URL to configure as SMS_API_BASE_URL. */
  get url(): string {
    return this.base;
  }

  /** The next `times` calls (default 1) fail this way, whatever the number, after `after` calls pass (default 0). */
  failNext(failure: Failure, opts: { times?: number; after?: number } = {}): void {
    for (let i = 0; i < (opts.after ?? 0); i++) this.failures.push(null);
    for (let i = 0; i < (opts.times ?? 1); i++) this.failures.push(failure);
  }

  /** Every call to `to` is refused with a Twilio error code (400 unless said). */
  rejectNumber(to: string, code: number, status: 400 | 404 = 400): void {
    this.numberFailures.set(to, { status, code });
  }

  /** Forgets programmed failures and recorded messages. */
  reset(): void {
    this.failures.length = 0;
    this.numberFailures.clear();
    this.sent.length = 0;
    this.calls.length = 0;
  }

  /** X-Twilio-Signature: base64 HMAC-SHA1 of the URL and each parameter name then value, sorted by name. */
  sign(url: string, params: Record<string, string>, authToken = this.opts.authToken): string {
    const data = Object.keys(params)
      .sort()
      .reduce((acc, key) => acc + key + params[key], url);
    return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
  }

  /** The parameters of an inbound SMS webhook, as Twilio sends them. */
  inboundParams(msg: {
    from: string;
    body: string;
    to?: string;
    messageSid?: string;
  }): Record<string, string> {
    const sid = msg.messageSid ?? newSid('SM');
    return {
      ToCountry: 'NO',
      ToState: '',
      SmsMessageSid: sid,
      NumMedia: '0',
      ToCity: '',
      FromZip: '',
      SmsSid: sid,
      FromState: '',
      SmsStatus: 'received',
      FromCity: '',
      Body: msg.body,
      FromCountry: 'NO',
      To: msg.to ?? '+4759440000',
      ToZip: '',
      NumSegments: String(Math.max(1, countSegments(msg.body).segments)),
      MessageSid: sid,
      AccountSid: this.opts.accountSid,
      From: msg.from,
      ApiVersion: '2010-04-01',
    };
  }

  /** Posts signed form parameters to a public URL (as routed); one response per delivery. */
  async post(publicUrl: string, params: Record<string, string>, opts: PostOptions = {}): Promise<Response[]> {
    const signature =
      opts.signature === undefined ? this.sign(publicUrl, params, opts.authToken) : opts.signature;
    const target = this.opts.route ? this.opts.route(publicUrl) : publicUrl;
    const responses: Response[] = [];
    for (let i = 0; i < (opts.times ?? 1); i++) {
      responses.push(
        await fetch(target, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
            'user-agent': 'TwilioProxy/1.1',
            ...(signature === null ? {} : { 'x-twilio-signature': signature }),
            // Twilio marks its retries like this; the adapter dedups on MessageSid, not on it.
            ...(i > 0 ? { 'i-twilio-idempotency-token': params.MessageSid ?? '' } : {}),
          },
          body: new URLSearchParams(params),
        }),
      );
    }
    return responses;
  }

  /** The signed status callback Twilio would post for a message it accepted. */
  async postStatus(
    sid: string,
    status: string,
    errorCode?: number,
    opts: PostOptions = {},
  ): Promise<Response> {
    const msg = this.sent.find((m) => m.sid === sid);
    if (!msg?.statusCallback) throw new Error(`fake twilio: no message ${sid} with a StatusCallback`);
    const params: Record<string, string> = {
      SmsSid: sid,
      SmsStatus: status,
      MessageStatus: status,
      To: msg.to,
      MessageSid: sid,
      AccountSid: this.opts.accountSid,
      From: msg.from ?? '+4759440000',
      ApiVersion: '2010-04-01',
      ...(errorCode !== undefined ? { ErrorCode: String(errorCode) } : {}),
    };
    const [res] = await this.post(msg.statusCallback, params, opts);
    return res as Response;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const path = new URL(req.url ?? '/', this.base).pathname;
    const m = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(path);
    if (req.method !== 'POST' || !m)
      return json(res, 404, error(20404, 'The requested resource was not found', 404));

    const [user, pass] = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64')
      .toString()
      .split(':');
    if (user !== this.opts.accountSid || pass !== this.opts.authToken) {
      return json(res, 401, error(20003, ERRORS[20003], 401));
    }
    if (decodeURIComponent(m[1] ?? '') !== this.opts.accountSid) {
      return json(res, 404, error(20404, 'The requested resource was not found', 404));
    }
    const form = new URLSearchParams(await readBody(req));
    const to = form.get('To') ?? '';
    const failure = this.failures.length > 0 ? this.failures.shift() : this.numberFailures.get(to);
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      this.calls.push({ to, status });
      return json(res, status, body, headers);
    };
    if (failure) {
      if (failure.status === 'stall') {
        this.calls.push({ to, status: 0 });
        return;
      }
      if (failure.status === 'hang-up') {
        this.calls.push({ to, status: 0 });
        req.socket.destroy();
        return;
      }
      if (failure.status === 429) {
        return answer(429, error(20429, 'Too Many Requests', 429), {
          ...(failure.retryAfter !== undefined ? { 'retry-after': failure.retryAfter } : {}),
        });
      }
      if ('code' in failure) {
        return answer(
          failure.status,
          error(failure.code, failure.message ?? ERRORS[failure.code], failure.status),
        );
      }
      return answer(failure.status, { message: 'Internal Server Error', status: failure.status });
    }

    const body = form.get('Body') ?? '';
    const from = form.get('From') ?? undefined;
    const service = form.get('MessagingServiceSid') ?? undefined;
    if (!to) return answer(400, error(21604, ERRORS[21604], 400));
    if (!body) return answer(400, error(21602, ERRORS[21602], 400));
    if (!from && !service) return answer(400, error(21603, "A 'From' phone number is required.", 400));
    if (body.length > 1600) return answer(400, error(21617, ERRORS[21617], 400));

    const sid = newSid('SM');
    const callback = form.get('StatusCallback') ?? undefined;
    this.sent.push({
      sid,
      to,
      body,
      username: user,
      at: Date.now(),
      ...(from ? { from } : {}),
      ...(service ? { messagingServiceSid: service } : {}),
      ...(callback ? { statusCallback: callback } : {}),
    });
    const now = new Date().toUTCString().replace('GMT', '+0000');
    return answer(201, {
      account_sid: this.opts.accountSid,
      api_version: '2010-04-01',
      body,
      date_created: now,
      date_sent: null,
      date_updated: now,
      direction: 'outbound-api',
      error_code: null,
      error_message: null,
      from: from ?? null,
      messaging_service_sid: service ?? null,
      num_media: '0',
      num_segments: String(countSegments(body).segments),
      price: null,
      price_unit: 'USD',
      sid,
      status: service ? 'accepted' : 'queued',
      subresource_uris: { media: `/2010-04-01/Accounts/${this.opts.accountSid}/Messages/${sid}/Media.json` },
      to,
      uri: `/2010-04-01/Accounts/${this.opts.accountSid}/Messages/${sid}.json`,
    });
  }
}

/** A Twilio-style SID: two letters and 32 hex digits. */
export function newSid(prefix: string): string {
  return `${prefix}${randomBytes(16).toString('hex')}`;
}

function error(code: number, message: string | undefined, status: number) {
  return {
    code,
    message: message ?? 'Error',
    more_info: `https://www.twilio.com/docs/errors/${code}`,
    status,
  };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
