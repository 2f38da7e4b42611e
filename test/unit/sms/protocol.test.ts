import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { checkSmsConfig, smsConfigSchema, smsSettings } from '../../../adapters/sms/config.ts';
import { FakeTwilio } from '../../../adapters/sms/fake-twilio.ts';
import { receiptFromStatus, statusQuery, twiml } from '../../../adapters/sms/inbound.ts';
import { classifyFailure } from '../../../adapters/sms/outbound.ts';
import { MemorySmsState } from '../../../adapters/sms/state.ts';
import { signedUrl, verifyTwilioSignature } from '../../../adapters/sms/verify.ts';
import { ErrorCode, PermanentError, parseRetryAfter, TransientError } from '../../../src/errors.ts';

const NOW = new Date('2025-09-01T08:00:00Z');
const SID = `SM${'a'.repeat(32)}`;

describe('webhook signatures', () => {
  const token = '12345';
  const url = 'https://skolebro.example/webhooks/sms?x=1';
  const params = { From: '+4791234567', Body: 'Hei å', MessageSid: SID };

  it("the fake signs as twilio's own helper does", async () => {
    const fake = await FakeTwilio.start({ accountSid: 'AC1', authToken: token });
    try {
      expect(fake.sign(url, params)).toBe(twilio.getExpectedTwilioSignature(token, url, params));
    } finally {
      await fake.close();
    }
  });

  it('accepts the right signature only', () => {
    const good = twilio.getExpectedTwilioSignature(token, url, params);
    expect(verifyTwilioSignature(token, good, url, params)).toBe(true);
    expect(verifyTwilioSignature('other', good, url, params)).toBe(false);
    expect(verifyTwilioSignature(token, good, url, { ...params, Body: 'Hei' })).toBe(false);
    expect(verifyTwilioSignature(token, good, 'https://skolebro.example/webhooks/sms', params)).toBe(false);
    expect(verifyTwilioSignature(token, undefined, url, params)).toBe(false);
    expect(verifyTwilioSignature(token, '', url, params)).toBe(false);
    expect(verifyTwilioSignature(token, [good, good], url, params)).toBe(false);
  });

  it('checks against the public URL, path and query as received', () => {
    expect(signedUrl('https://skolebro.example/', '/webhooks/sms/status?replyId=a%3Ab')).toBe(
      'https://skolebro.example/webhooks/sms/status?replyId=a%3Ab',
    );
  });
});

describe('classifyFailure', () => {
  const classify = (status: number, code?: number, retryAfter: string | null = null) =>
    classifyFailure(status, code === undefined ? undefined : { code, message: 'x' }, retryAfter, NOW);

  it('429 is transient and carries Retry-After in seconds or as a date', () => {
    expect(classify(429, 20429, '7')).toMatchObject({ code: ErrorCode.RateLimited, retryAfterMs: 7000 });
    expect(classify(429, 20429, 'Mon, 01 Sep 2025 08:00:30 GMT')).toMatchObject({ retryAfterMs: 30_000 });
    const bare = classify(429);
    expect(bare).toBeInstanceOf(TransientError);
    expect((bare as TransientError).retryAfterMs).toBeUndefined();
  });

  it('5xx and 408 are transient', () => {
    for (const status of [500, 502, 503, 504, 408]) {
      expect(classify(status)).toBeInstanceOf(TransientError);
      expect(classify(status).code).toBe(ErrorCode.Unavailable);
    }
  });

  it('address codes, opt-outs and other refusals are permanent', () => {
    for (const code of [21211, 21214, 21612, 21614]) {
      expect(classify(400, code)).toBeInstanceOf(PermanentError);
      expect(classify(400, code).code).toBe(ErrorCode.AddressInvalid);
    }
    expect(classify(400, 21610).code).toBe(ErrorCode.OptedOut);
    expect(classify(401, 20003).code).toBe(ErrorCode.Config);
    expect(classify(400, 21617)).toMatchObject({ code: ErrorCode.Config, retryable: false });
    expect(classify(400, 21211).context).toEqual({ status: 400, twilioCode: 21211 });
  });

  it('reads Retry-After defensively', () => {
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
    expect(parseRetryAfter('Mon, 01 Sep 2025 07:00:00 GMT', NOW)).toBe(0);
  });
});

describe('status callbacks and TwiML', () => {
  const query = statusQuery.parse({ replyId: 'sms:SM1:r0', part: '1' });
  const receipt = (MessageStatus: string, ErrorCode?: string) =>
    receiptFromStatus(
      { MessageSid: SID, AccountSid: 'AC1', MessageStatus: MessageStatus as 'sent', ErrorCode },
      query,
    );

  it('folds Twilio statuses into sent, delivered and failed', () => {
    expect(receipt('queued')).toMatchObject({ status: 'sent', platformStatus: 'queued', part: 1 });
    expect(receipt('delivered')).toMatchObject({ status: 'delivered', replyId: 'sms:SM1:r0' });
    expect(receipt('undelivered', '30003')).toMatchObject({ status: 'failed', error: 'undelivered:30003' });
    expect(receipt('failed')).toMatchObject({ status: 'failed', error: 'failed' });
  });

  it('escapes the reply in TwiML', () => {
    expect(twiml()).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
    expect(twiml('Send <STOP> & "go"')).toContain(
      '<Message>Send &lt;STOP&gt; &amp; &quot;go&quot;</Message>',
    );
  });
});

describe('config fragment', () => {
  it('leaves SMS off when the account SID or token is unset (or empty)', () => {
    const c = smsConfigSchema.parse({ SMS_ACCOUNT_SID: '', SMS_FROM: '' });
    expect(c.SMS_API_BASE_URL).toBe('https://api.twilio.com');
    expect(c.SMS_PRICE_PER_SEGMENT_NOK).toBe(0.6);
    expect(smsSettings(c)).toBeUndefined();
  });

  it('requires the sender and the public URL once SMS is on', () => {
    const result = smsConfigSchema.safeParse({ SMS_ACCOUNT_SID: 'AC1', SMS_AUTH_TOKEN: 't' });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path[0]).sort()).toEqual(['PUBLIC_BASE_URL', 'SMS_FROM']);
    expect(smsConfigSchema.safeParse({ SMS_ACCOUNT_SID: 'AC1' }).success).toBe(false);
  });

  it('accepts an E.164 sender or a messaging service SID, and nothing else', () => {
    const base = { SMS_ACCOUNT_SID: 'AC1', SMS_AUTH_TOKEN: 't', PUBLIC_BASE_URL: 'https://skolebro.example' };
    const settings = smsSettings(smsConfigSchema.parse({ ...base, SMS_FROM: '+4759440000' }));
    expect(settings).toMatchObject({
      accountSid: 'AC1',
      from: '+4759440000',
      pricePerSegmentNok: 0.6,
      maxChars: 1600,
    });
    expect(
      smsConfigSchema.safeParse({ ...base, SMS_FROM: '+4759440000', SMS_MAX_CHARS: '2000' }).success,
    ).toBe(false);
    expect(smsConfigSchema.safeParse({ ...base, SMS_FROM: `MG${'0'.repeat(32)}` }).success).toBe(true);
    expect(smsConfigSchema.safeParse({ ...base, SMS_FROM: 'Skolebro' }).success).toBe(false);
    expect(typeof checkSmsConfig).toBe('function');
  });
});

describe('MemorySmsState', () => {
  it('forgets offered options after their TTL, and when new ones replace them', async () => {
    let now = NOW.getTime();
    const state = new MemorySmsState({ choicesTtlSeconds: 60 }, () => new Date(now));
    await state.offerChoices('+4791234567', ['yes', 'no']);
    expect(await state.choice('+4791234567', 2)).toBe('no');
    expect(await state.choice('+4791234567', 3)).toBeUndefined();
    now += 61_000;
    expect(await state.choice('+4791234567', 1)).toBeUndefined();
    await state.offerChoices('+4791234567', ['a']);
    await state.offerChoices('+4791234567', []);
    expect(await state.choice('+4791234567', 1)).toBeUndefined();
  });
});
