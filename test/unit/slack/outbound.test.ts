import { webApi } from '@slack/bolt';
import { describe, expect, it } from 'vitest';
import { classifySlackError } from '../../../adapters/slack/outbound.ts';
import { ErrorCode, PermanentError, TransientError } from '../../../src/errors.ts';

const platform = (error: string) => new webApi.WebAPIPlatformError({ ok: false, error });

describe('classifySlackError', () => {
  it('makes a 429 transient, carrying Retry-After in ms', () => {
    const err = classifySlackError(new webApi.WebAPIRateLimitedError(30), 'chat.postMessage');
    expect(err).toBeInstanceOf(TransientError);
    expect(err.code).toBe(ErrorCode.RateLimited);
    expect((err as TransientError).retryAfterMs).toBe(30_000);
    expect(err.context).toMatchObject({ method: 'chat.postMessage', status: 429 });
    // WebClient without a usable Retry-After throws a plain Error.
    const bare = classifySlackError(
      new Error('Retry header did not contain a valid timeout'),
      'chat.postMessage',
    );
    expect(bare).toBeInstanceOf(TransientError);
    expect(bare.code).toBe(ErrorCode.RateLimited);
    expect((bare as TransientError).retryAfterMs).toBeUndefined();
    expect(classifySlackError(platform('ratelimited'), 'x').code).toBe(ErrorCode.RateLimited);
  });

  it('makes refused addresses permanent address_invalid', () => {
    for (const code of [
      'channel_not_found',
      'user_not_found',
      'is_archived',
      'not_in_channel',
      'account_inactive',
    ]) {
      const err = classifySlackError(platform(code), 'chat.postMessage');
      expect(err, code).toBeInstanceOf(PermanentError);
      expect(err.code).toBe(ErrorCode.AddressInvalid);
      expect(err.context.slackError).toBe(code);
    }
  });

  it('makes auth and other refusals permanent config errors', () => {
    for (const code of [
      'invalid_auth',
      'not_authed',
      'token_revoked',
      'missing_scope',
      'invalid_blocks',
      'msg_too_long',
    ]) {
      const err = classifySlackError(platform(code), 'chat.postMessage');
      expect(err, code).toBeInstanceOf(PermanentError);
      expect(err.code).toBe(ErrorCode.Config);
    }
  });

  it('makes 5xx, network errors, timeouts and internal errors transient', () => {
    const cases = [
      new webApi.WebAPIHTTPError(500, 'Internal Server Error', {}, ''),
      new webApi.WebAPIHTTPError(503, 'Service Unavailable', {}, ''),
      new webApi.WebAPIRequestError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })),
      new webApi.WebAPIRequestError(new DOMException('The operation timed out.', 'TimeoutError')),
      platform('internal_error'),
      platform('service_unavailable'),
    ];
    for (const e of cases) {
      const err = classifySlackError(e, 'chat.postMessage');
      expect(err, e.message).toBeInstanceOf(TransientError);
      expect(err.code).toBe(ErrorCode.Unavailable);
    }
    expect(classifySlackError(cases[3], 'x').context.timeout).toBe(true);
  });

  it('makes another 4xx permanent, and keeps errors already classified', () => {
    expect(classifySlackError(new webApi.WebAPIHTTPError(400, 'Bad Request', {}, ''), 'x')).toBeInstanceOf(
      PermanentError,
    );
    const mine = new PermanentError(ErrorCode.AddressInvalid, 'mine');
    expect(classifySlackError(mine, 'send')).toBe(mine);
  });
});
