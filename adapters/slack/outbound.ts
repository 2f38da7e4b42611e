import { webApi } from '@slack/bolt';
import { ErrorCode, PermanentError, type SkolebroError, TransientError } from '../../src/errors.ts';
import type { Logger } from '../../src/log.ts';
import type { Block } from './blocks.ts';

/**
 * The few Web API methods the adapter calls, over @slack/web-api's WebClient at a
 * configurable base URL. The client's own retries are off and 429s are rejected, not
 * waited out: the queue retries, and a Retry-After pauses the channel instead of a worker.
 */
export interface SlackApi {
  /** Posts one message; resolves to its channel and ts. Throws classified errors. */
  postMessage(msg: {
    channel: string;
    text: string;
    blocks: Block[];
    threadTs?: string;
  }): Promise<{ channel: string; ts: string }>;
  /** Replaces the text and blocks of a message the bot posted (chat.update). Throws classified errors. */
  update(msg: { channel: string; ts: string; text: string; blocks: Block[] }): Promise<void>;
  /** The id of the DM channel between the bot and a user (opened if need be). */
  openDm(user: string): Promise<string>;
  /** The bot's own user and bot ids: a start-up check of the token. */
  authTest(): Promise<{ userId: string; botId?: string; teamId?: string }>;
}

export interface SlackApiOptions {
  botToken: string;
  /** e.g. https://slack.com/api/ (with the trailing slash). */
  baseUrl: string;
  /** Timeout of one call, in ms. Default 10000. */
  timeoutMs?: number;
  log?: Logger;
}

/** Platform errors that mean this address cannot get messages from us: retrying cannot help. */
const ADDRESS_ERRORS = new Set([
  'channel_not_found',
  'user_not_found',
  'users_not_found',
  'is_archived',
  'not_in_channel',
  'account_inactive',
  'user_disabled',
  'cannot_dm_bot',
]);
/** Platform errors that mean our setup is wrong (token, scopes, app): a person must act. */
const CONFIG_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'token_revoked',
  'token_expired',
  'no_permission',
  'missing_scope',
  'not_allowed_token_type',
  'team_access_not_granted',
  'ekm_access_denied',
]);
/** Platform errors that say the service is briefly unable: another try may pass. */
const TRANSIENT_ERRORS = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

/**
 * The error for a failed Web API call. 429 -> transient with the Retry-After; network
 * errors, timeouts and 5xx -> transient; refused addresses -> permanent `address_invalid`;
 * auth errors -> permanent `config`; any other platform error (invalid_blocks, msg_too_long,
 * ...) -> permanent `config` too, since the same request would fail again. Pure.
 */
export function classifySlackError(err: unknown, method: string): SkolebroError {
  if (err instanceof PermanentError || err instanceof TransientError) return err;
  const context: Record<string, unknown> = { method };
  if (err instanceof webApi.WebAPIRateLimitedError) {
    const retryAfterMs =
      Number.isFinite(err.retryAfter) && err.retryAfter > 0 ? err.retryAfter * 1000 : undefined;
    return new TransientError(ErrorCode.RateLimited, `Slack ${method}: rate limited (429)`, {
      context: { ...context, status: 429 },
      cause: err,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
  }
  if (err instanceof webApi.WebAPIPlatformError) {
    const code = err.data.error;
    const ctx = { ...context, slackError: code };
    if (ADDRESS_ERRORS.has(code)) {
      return new PermanentError(ErrorCode.AddressInvalid, `Slack ${method}: ${code}`, {
        context: ctx,
        cause: err,
      });
    }
    if (code === 'ratelimited') {
      return new TransientError(ErrorCode.RateLimited, `Slack ${method}: ratelimited`, {
        context: ctx,
        cause: err,
      });
    }
    if (TRANSIENT_ERRORS.has(code)) {
      return new TransientError(ErrorCode.Unavailable, `Slack ${method}: ${code}`, {
        context: ctx,
        cause: err,
      });
    }
    const what = CONFIG_ERRORS.has(code) ? 'the token or app setup was refused' : 'the request was refused';
    return new PermanentError(ErrorCode.Config, `Slack ${method}: ${what} (${code})`, {
      context: ctx,
      cause: err,
    });
  }
  if (err instanceof webApi.WebAPIHTTPError) {
    const status = err.statusCode;
    if (status >= 500 || status === 408 || status === 425) {
      return new TransientError(ErrorCode.Unavailable, `Slack ${method}: unavailable (${status})`, {
        context: { ...context, status },
        cause: err,
      });
    }
    return new PermanentError(ErrorCode.Config, `Slack ${method}: refused (${status})`, {
      context: { ...context, status },
      cause: err,
    });
  }
  if (err instanceof webApi.WebAPIRequestError) {
    const timeout = err.original?.name === 'TimeoutError' || err.original?.name === 'AbortError';
    return new TransientError(
      ErrorCode.Unavailable,
      timeout ? `Slack ${method}: timed out` : `Slack ${method}: unreachable`,
      { context: { ...context, timeout }, cause: err },
    );
  }
  // A 429 without a usable Retry-After comes back from the client as a plain Error.
  if (err instanceof Error && /rate limit|retry header/i.test(err.message)) {
    return new TransientError(ErrorCode.RateLimited, `Slack ${method}: rate limited (429)`, {
      context: { ...context, status: 429 },
      cause: err,
    });
  }
  return new TransientError(
    ErrorCode.Unavailable,
    `Slack ${method}: ${(err as Error)?.message ?? 'failed'}`,
    {
      context,
      cause: err,
    },
  );
}

/** The SlackApi over a WebClient. Nothing is sent at construction. */
export function slackApi(opts: SlackApiOptions): SlackApi {
  const client = new webApi.WebClient(opts.botToken, {
    slackApiUrl: opts.baseUrl,
    allowAbsoluteUrls: false,
    // The queue owns retries: one attempt per job run, and a 429 surfaces with its Retry-After.
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: opts.timeoutMs ?? 10_000,
    logger: clientLogger(opts.log),
  });

  async function call<T>(method: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw classifySlackError(err, method);
    }
  }

  return {
    postMessage: (msg) =>
      call('chat.postMessage', async () => {
        const res = await client.chat.postMessage({
          channel: msg.channel,
          text: msg.text,
          blocks: msg.blocks,
          // The fallback text is escaped plain text: no *bold* or _italics_ from people's words.
          mrkdwn: false,
          unfurl_links: false,
          unfurl_media: false,
          ...(msg.threadTs ? { thread_ts: msg.threadTs } : {}),
        });
        if (!res.ts || !res.channel) {
          throw new TransientError(ErrorCode.Unavailable, 'Slack chat.postMessage: answered without a ts');
        }
        return { channel: res.channel, ts: res.ts };
      }),
    update: (msg) =>
      call('chat.update', async () => {
        await client.chat.update({
          channel: msg.channel,
          ts: msg.ts,
          text: msg.text,
          blocks: msg.blocks,
        });
      }),
    openDm: (user) =>
      call('conversations.open', async () => {
        const res = await client.conversations.open({ users: user, return_im: false });
        const id = res.channel?.id;
        if (!id) throw new TransientError(ErrorCode.Unavailable, 'Slack conversations.open: no channel id');
        return id;
      }),
    authTest: () =>
      call('auth.test', async () => {
        const res = await client.auth.test();
        if (!res.user_id) throw new PermanentError(ErrorCode.Config, 'Slack auth.test: no user id');
        return {
          userId: res.user_id,
          ...(res.bot_id ? { botId: res.bot_id } : {}),
          ...(res.team_id ? { teamId: res.team_id } : {}),
        };
      }),
  };
}

/**
 * The @slack/logger interface (used by WebClient and Bolt) over pino. Only warnings and
 * errors pass: the clients' debug lines carry request bodies, i.e. message text, which
 * must never reach a log.
 */
export function clientLogger(log: Logger | undefined, name = 'slack'): webApi.Logger {
  let level = webApi.LogLevel.WARN;
  let part = name;
  const write =
    (at: 'warn' | 'error') =>
    (...msg: unknown[]) =>
      log?.[at]({ part }, msg.map((m) => (m instanceof Error ? m.message : String(m))).join(' '));
  return {
    debug: () => {},
    info: () => {},
    warn: write('warn'),
    error: write('error'),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: (n) => {
      part = n;
    },
  };
}
