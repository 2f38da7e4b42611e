import {
  ErrorCode,
  PermanentError,
  parseRetryAfter,
  type SkolebroError,
  TransientError,
} from '../../src/errors.ts';
import type { OutgoingMessage } from './cards.ts';
import type { TokenSource } from './credentials.ts';

/**
 * The Bot Connector REST API (v3 conversations) over plain fetch, at the serviceUrl a
 * conversation reference names. Not the SDK's ConnectorClient: its pipeline retries 429
 * and 5xx three times on its own (sleeping through Retry-After inside a queue worker)
 * and would hide the platform's answer from the queue, which paces and retries per channel.
 */
export interface ConnectorApi {
  tokens: TokenSource;
  /** Timeout of one call, in ms. */
  timeoutMs: number;
  fetch: typeof fetch;
  now: () => Date;
}

/** What creating a conversation needs: who, in which tenant, and the first message. */
export interface NewConversation {
  bot: { id: string };
  members: Array<{ id: string }>;
  tenantId?: string;
  isGroup?: boolean;
  activity: OutgoingMessage;
}

const conversations = (serviceUrl: string) => `${serviceUrl.replace(/\/+$/, '')}/v3/conversations`;

/**
 * Starts a conversation (Teams answers with the existing one-to-one chat for a single
 * member) and posts its first message. Resolves to the conversation id and that message's id.
 */
export async function createConversation(
  api: ConnectorApi,
  serviceUrl: string,
  params: NewConversation,
): Promise<{ id: string; activityId: string }> {
  const body = await call(api, conversations(serviceUrl), {
    bot: params.bot,
    members: params.members,
    isGroup: params.isGroup ?? false,
    ...(params.tenantId
      ? { tenantId: params.tenantId, channelData: { tenant: { id: params.tenantId } } }
      : {}),
    activity: params.activity,
  });
  if (typeof body.id !== 'string' || typeof body.activityId !== 'string') {
    throw new TransientError(ErrorCode.Unavailable, 'Bot Connector created a conversation without ids');
  }
  return { id: body.id, activityId: body.activityId };
}

/** Posts a message in a conversation; resolves to its activity id. */
export async function sendToConversation(
  api: ConnectorApi,
  serviceUrl: string,
  conversationId: string,
  activity: OutgoingMessage,
): Promise<string> {
  const url = `${conversations(serviceUrl)}/${encodeURIComponent(conversationId)}/activities`;
  return activityId(await call(api, url, activity));
}

/** Posts a message as a reply to `replyToId` (in its reply chain); resolves to its activity id. */
export async function replyToActivity(
  api: ConnectorApi,
  serviceUrl: string,
  conversationId: string,
  replyToId: string,
  activity: OutgoingMessage,
): Promise<string> {
  const url = `${conversations(serviceUrl)}/${encodeURIComponent(conversationId)}/activities/${encodeURIComponent(replyToId)}`;
  return activityId(await call(api, url, { ...activity, replyToId }));
}

/**
 * Replaces a message we posted (Bot Framework "update activity": PUT on its URL), e.g. a
 * card whose numbers changed. The activity keeps its id; Teams shows it edited in place.
 */
export async function updateActivity(
  api: ConnectorApi,
  serviceUrl: string,
  conversationId: string,
  activityId: string,
  activity: OutgoingMessage,
): Promise<void> {
  const url = `${conversations(serviceUrl)}/${encodeURIComponent(conversationId)}/activities/${encodeURIComponent(activityId)}`;
  await call(api, url, { ...activity, id: activityId }, 'PUT');
}

function activityId(body: Record<string, unknown>): string {
  if (typeof body.id !== 'string' || !body.id) {
    throw new TransientError(ErrorCode.Unavailable, 'Bot Connector answered without an activity id');
  }
  return body.id;
}

async function call(
  api: ConnectorApi,
  url: string,
  payload: unknown,
  method: 'POST' | 'PUT' = 'POST',
): Promise<Record<string, unknown>> {
  const token = await api.tokens.token();
  let res: Response;
  try {
    res = await api.fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json; charset=utf-8',
        accept: 'application/json',
      },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(api.timeoutMs),
    });
  } catch (err) {
    const timeout = err instanceof Error && err.name === 'TimeoutError';
    throw new TransientError(
      ErrorCode.Unavailable,
      timeout ? `Bot Connector timed out after ${api.timeoutMs} ms` : 'Bot Connector unreachable',
      { cause: err, context: { timeout } },
    );
  }
  const text = await res.text().catch(() => '');
  const json = parseJson(text);
  if (res.ok) return json ?? {};
  if (res.status === 401) api.tokens.reset();
  throw classifyFailure(res.status, json, res.headers.get('retry-after'), api.now());
}

/**
 * The error for a refused Bot Connector call. Pure.
 * - 429: rate limited, with the Retry-After asked for.
 * - 5xx, 408, 412 (Teams' "try again"), 425: the service is briefly unable.
 * - 401: our token was refused; retried with a fresh token.
 * - 403, 404: the bot was removed or blocked, or the conversation is gone; retrying cannot help.
 * - other 4xx (400 bad activity, 413 too large): our message must change.
 */
export function classifyFailure(
  status: number,
  body: Record<string, unknown> | undefined,
  retryAfter: string | null,
  now: Date,
): SkolebroError {
  const error = (body?.error ?? {}) as { code?: unknown; message?: unknown };
  const platformCode = typeof error.code === 'string' ? error.code.slice(0, 100) : undefined;
  const context = { status, ...(platformCode ? { platformCode } : {}) };
  const detail = platformCode ? `: ${platformCode}` : '';
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(retryAfter, now);
    return new TransientError(ErrorCode.RateLimited, `Bot Connector rate limit (429)${detail}`, {
      context,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
  }
  if (status >= 500 || [401, 408, 412, 425].includes(status)) {
    return new TransientError(ErrorCode.Unavailable, `Bot Connector unavailable (${status})${detail}`, {
      context,
    });
  }
  if (status === 403 || status === 404) {
    return new PermanentError(
      ErrorCode.AddressInvalid,
      `Teams cannot reach that conversation (${status})${detail}`,
      {
        context,
      },
    );
  }
  return new PermanentError(ErrorCode.Config, `Bot Connector refused the message (${status})${detail}`, {
    context,
  });
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
