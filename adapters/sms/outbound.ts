import {
  ErrorCode,
  PermanentError,
  parseRetryAfter,
  type SkolebroError,
  TransientError,
} from '../../src/errors.ts';

/**
 * The Messages REST API over plain fetch, at a configurable base URL. (The `twilio`
 * client has no base-URL option, only edge/region host rewrites, retries 429s on its
 * own and hides Retry-After; a gateway or the fake would need a patched http client.)
 */
export interface MessagesApi {
  accountSid: string;
  authToken: string;
  /** e.g. https://api.twilio.com, no trailing path. */
  baseUrl: string;
  /** Timeout of one call, in ms. */
  timeoutMs: number;
  fetch: typeof fetch;
  now: () => Date;
}

export interface CreateMessage {
  to: string;
  /** E.164 number, or a messaging service SID (MG…) sent as MessagingServiceSid. */
  from: string;
  body: string;
  statusCallback?: string;
}

/** Codes of a 4xx that mean the recipient cannot get SMS from us. */
const ADDRESS_CODES = new Set([
  21211, // invalid 'To' number
  21214, // 'To' cannot be reached
  21612, // 'To' not reachable via SMS from this sender
  21614, // 'To' is not a mobile number
]);
/** The recipient replied STOP to Twilio itself (its default opt-out handling). */
export const TWILIO_UNSUBSCRIBED = 21610;

/** Posts one message; resolves to the platform's message SID. Throws classified errors. */
export async function createMessage(api: MessagesApi, msg: CreateMessage): Promise<string> {
  const form = new URLSearchParams({ To: msg.to, Body: msg.body });
  form.set(/^MG[0-9a-fA-F]{32}$/.test(msg.from) ? 'MessagingServiceSid' : 'From', msg.from);
  if (msg.statusCallback) form.set('StatusCallback', msg.statusCallback);
  const url = `${api.baseUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(api.accountSid)}/Messages.json`;
  let res: Response;
  try {
    res = await api.fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${api.accountSid}:${api.authToken}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: form,
      signal: AbortSignal.timeout(api.timeoutMs),
    });
  } catch (err) {
    const timeout = err instanceof Error && err.name === 'TimeoutError';
    throw new TransientError(
      ErrorCode.Unavailable,
      timeout ? `SMS API timed out after ${api.timeoutMs} ms` : 'SMS API unreachable',
      { cause: err, context: { timeout } },
    );
  }
  const text = await res.text().catch(() => '');
  const json = parseJson(text);
  if (res.status === 200 || res.status === 201) {
    const sid = typeof json?.sid === 'string' ? json.sid : undefined;
    if (!sid) throw new TransientError(ErrorCode.Unavailable, 'SMS API answered without a message sid');
    return sid;
  }
  throw classifyFailure(res.status, json, res.headers.get('retry-after'), api.now());
}

/**
 * The error for a refused call. 429 and 5xx may pass (429 carries Retry-After);
 * 21610 is an opt-out; address codes and other 4xx cannot succeed on retry. Pure.
 */
export function classifyFailure(
  status: number,
  body: { code?: unknown; message?: unknown } | undefined,
  retryAfter: string | null,
  now: Date,
): SkolebroError {
  const twilioCode = typeof body?.code === 'number' ? body.code : undefined;
  const context = { status, ...(twilioCode ? { twilioCode } : {}) };
  const detail = typeof body?.message === 'string' ? `: ${body.message.slice(0, 200)}` : '';
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(retryAfter, now);
    return new TransientError(ErrorCode.RateLimited, `SMS API rate limit (429)${detail}`, {
      context,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
  }
  if (status >= 500 || status === 408 || status === 409 || status === 425) {
    return new TransientError(ErrorCode.Unavailable, `SMS API unavailable (${status})${detail}`, { context });
  }
  if (twilioCode === TWILIO_UNSUBSCRIBED) {
    return new PermanentError(ErrorCode.OptedOut, 'the recipient has opted out at the platform', { context });
  }
  if (twilioCode !== undefined && ADDRESS_CODES.has(twilioCode)) {
    return new PermanentError(ErrorCode.AddressInvalid, `SMS API refused the number${detail}`, { context });
  }
  // Auth (401/20003), sender (21606, 21659), region permission (21408), body (21617): our side must change.
  return new PermanentError(ErrorCode.Config, `SMS API refused the request (${status})${detail}`, {
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
