import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSid } from '../../adapters/sms/fake-twilio.ts';
import { smsAdapter } from '../../adapters/sms/index.ts';
import { MemoryOptOuts } from '../../adapters/sms/opt-outs.ts';
import { MemorySmsState } from '../../adapters/sms/state.ts';
import { ErrorCode, PermanentError, TransientError } from '../../src/errors.ts';
import type { InboundJob, OutboundJob } from '../../src/queue/jobs.ts';
import { PUBLIC_BASE_URL, type SmsWorld, smsTexts, startSmsWorld } from '../conformance/sms-harness.ts';
import { waitFor } from '../helpers/wait.ts';

const INBOUND = `${PUBLIC_BASE_URL}/webhooks/sms`;
const STATUS = `${PUBLIC_BASE_URL}/webhooks/sms/status`;
const AMINA = '+4791000001'; // demo guardian who reads Somali
const BODY_LIMIT = 8 * 1024;

let world: SmsWorld;
const handled: InboundJob[] = [];
const sendAttempts: string[] = [];

beforeAll(async () => {
  world = await startSmsWorld({
    bodyLimit: BODY_LIMIT,
    handlers: (adapter) => ({
      inbound: async (job) => void handled.push(job),
      outbound: async (job) => {
        sendAttempts.push(job.replyId);
        await adapter.send(job);
      },
    }),
  });
});
afterAll(async () => world?.close());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let phones = 0;
/** A fresh Norwegian mobile number per test, so opt-outs and choices do not leak between tests. */
const newPhone = () => `+4792${String(100000 + phones++).padStart(6, '0')}`;

const inbound = (from: string, body: string, messageSid?: string) =>
  world.fake.inboundParams({ from, body, ...(messageSid ? { messageSid } : {}) });

/**
 * Posts a valid message from `phone` and waits until the bus handled it: same
 * conversation, same partition, so anything enqueued before it has been handled too.
 */
async function handledBefore(phone: string): Promise<InboundJob[]> {
  const sentinel = inbound(phone, 'sentinel');
  await world.fake.post(INBOUND, sentinel);
  await waitFor('the sentinel', () => handled.some((j) => j.messageId === sentinel.MessageSid));
  return handled.filter((j) => j.conversationId === phone && j.messageId !== sentinel.MessageSid);
}

let replies = 0;
const reply = (to: string, text: string, extra: Partial<OutboundJob> = {}): OutboundJob => ({
  channel: 'sms',
  replyId: `sms:test:r${replies++}`,
  conversationId: to,
  lang: 'nb',
  dir: 'ltr',
  text,
  choices: [],
  ...extra,
});

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );

describe('SMS webhook: inbound', () => {
  it('(1) enqueues a signed message once although Twilio delivers it three times', async () => {
    const phone = newPhone();
    const params = inbound(phone, 'Når er foreldremøtet?');
    const responses = await world.fake.post(INBOUND, params, { times: 3 });
    for (const res of responses) {
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/xml/);
      expect(await res.text()).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
    }
    const jobs = await handledBefore(phone);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({
      channel: 'sms',
      messageId: params.MessageSid,
      conversationId: phone,
      senderId: phone,
      text: 'Når er foreldremøtet?',
    });
    expect(jobs[0]?.choice).toBeUndefined();
  });

  it('(2) rejects forged, missing, tampered, malformed and oversized requests, enqueueing nothing', async () => {
    const phone = newPhone();
    const post = async (params: Record<string, string>, opts = {}) => {
      const [res] = await world.fake.post(INBOUND, params, opts);
      return res as Response;
    };

    // Signed with someone else's token, or not signed at all.
    expect((await post(inbound(phone, 'forged'), { authToken: 'guessed' })).status).toBe(401);
    expect((await post(inbound(phone, 'unsigned'), { signature: null })).status).toBe(401);

    // A real signature replayed over a changed body.
    const original = inbound(phone, 'Ja');
    const signature = world.fake.sign(INBOUND, original);
    const tampered = await post({ ...original, Body: 'STOPP meldinger til læreren' }, { signature });
    expect(tampered.status).toBe(401);
    // Signed for another URL (Twilio signs the URL it was configured with).
    const elsewhere = inbound(phone, 'moved');
    expect((await post(elsewhere, { signature: world.fake.sign(`${STATUS}?x=1`, elsewhere) })).status).toBe(
      401,
    );

    // Properly signed but not an inbound SMS: 400 with the reason.
    const { MessageSid: _drop, ...noSid } = inbound(phone, 'no sid');
    const missing = await post(noSid);
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { message: string }).message).toContain('MessageSid');
    const notE164 = await post({ ...inbound(phone, 'x'), From: '91234567' });
    expect(notE164.status).toBe(400);
    expect(((await notE164.json()) as { message: string }).message).toContain('From');
    const otherAccount = await post({ ...inbound(phone, 'x'), AccountSid: `AC${'f'.repeat(32)}` });
    expect(otherAccount.status).toBe(400);
    const json = await fetch(`${world.url}/webhooks/sms`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(inbound(phone, 'json')),
    });
    expect(json.status).toBe(400);

    // Larger than the server's body limit, even when signed.
    const big = await post(inbound(phone, 'å'.repeat(BODY_LIMIT)));
    expect(big.status).toBe(413);

    expect(await handledBefore(phone)).toEqual([]);
  });

  it('(1) maps a reply "2" (or "٢") back to the value of the second option offered', async () => {
    const phone = newPhone();
    await world.adapter.send(
      reply(phone, 'Hvilket av barna gjelder det?', {
        choices: [
          { value: 'child:p-yusuf', label: 'Yusuf (3A)' },
          { value: 'child:p-ali', label: 'Ali (3A)' },
        ],
      }),
    );
    await world.fake.post(INBOUND, inbound(phone, '2'));
    await world.fake.post(INBOUND, inbound(phone, ' ٢ '));
    await world.fake.post(INBOUND, inbound(phone, '3'));
    const jobs = await handledBefore(phone);
    expect(jobs.map((j) => [j.text, j.choice])).toEqual([
      ['2', 'child:p-ali'],
      [' ٢ ', 'child:p-ali'],
      ['3', undefined],
    ]);
  });
});

describe('SMS send()', () => {
  it('(3) posts To, From and Body with basic auth and a status callback', async () => {
    const phone = newPhone();
    const job = reply(phone, 'Foreldremøtet er 12. september kl. 18.');
    const receipt = await world.adapter.send(job);
    const msg = world.fake.sent.at(-1);
    expect(msg).toMatchObject({
      to: phone,
      from: '+4759440000',
      body: 'Foreldremøtet er 12. september kl. 18.',
      username: world.settings.accountSid,
    });
    expect(receipt).toEqual({ replyId: job.replyId, status: 'sent', platformMessageId: msg?.sid });
    const callback = new URL(msg?.statusCallback ?? '');
    expect(`${callback.origin}${callback.pathname}`).toBe(STATUS);
    expect(callback.searchParams.get('replyId')).toBe(job.replyId);
  });

  it('(3) splits a long reply at paragraph breaks, each part within the limit, in order', async () => {
    const phone = newPhone();
    const paragraph = (n: number) =>
      `Avsnitt ${n}. ${'Skolen tar initiativ til samarbeid. '.repeat(18).trim()}`;
    const text = [1, 2, 3, 4].map(paragraph).join('\n\n');
    expect(text.length).toBeGreaterThan(1600);
    await world.adapter.send(reply(phone, text));
    const parts = world.fake.sent.filter((m) => m.to === phone).map((m) => m.body);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(1600);
    expect(parts.join('\n\n')).toBe(text);
  });

  it('(3) numbers the choices, since SMS has no buttons', async () => {
    const phone = newPhone();
    await world.adapter.send(
      reply(phone, 'Vil du melde fravær for i dag?', {
        choices: [
          { value: 'yes', label: 'Ja' },
          { value: 'no', label: 'Nei' },
        ],
      }),
    );
    expect(world.fake.sent.at(-1)?.body).toBe(
      'Vil du melde fravær for i dag?\n\n1) Ja\n2) Nei\nSvar med tallet.',
    );
  });

  it('(3) on a retry, sends only the parts the platform has not taken yet', async () => {
    const phone = newPhone();
    const first = 'Første del. '.repeat(110).trim();
    const second = 'Andre del. '.repeat(110).trim();
    const job = reply(phone, `${first}\n\n${second}`);
    world.fake.failNext({ status: 500 }, { after: 1 }); // the first part passes, the second fails
    expect(await rejection(world.adapter.send(job))).toBeInstanceOf(TransientError);
    expect(world.fake.sent.filter((m) => m.to === phone).map((m) => m.body)).toEqual([first]);
    await world.adapter.send(job);
    expect(world.fake.sent.filter((m) => m.to === phone).map((m) => m.body)).toEqual([first, second]);
  });

  it('(4) 429 with Retry-After is transient and carries retryAfterMs; 5xx and hang-ups are transient', async () => {
    const phone = newPhone();
    world.fake.failNext({ status: 429, retryAfter: '7' });
    const limited = await rejection(world.adapter.send(reply(phone, 'one')));
    expect(limited).toBeInstanceOf(TransientError);
    expect(limited).toMatchObject({ code: ErrorCode.RateLimited, retryAfterMs: 7000 });

    world.fake.failNext({ status: 500 });
    expect(await rejection(world.adapter.send(reply(phone, 'two')))).toMatchObject({
      code: ErrorCode.Unavailable,
      retryable: true,
    });
    world.fake.failNext({ status: 'hang-up' });
    expect(await rejection(world.adapter.send(reply(phone, 'three')))).toBeInstanceOf(TransientError);
    expect(world.fake.sent.filter((m) => m.to === phone)).toEqual([]);
  });

  it('(4) 21211 is permanent, with a failed receipt; 21610 opts the number out here too', async () => {
    const bad = newPhone();
    world.fake.rejectNumber(bad, 21211);
    const job = reply(bad, 'hei');
    const err = await rejection(world.adapter.send(job));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toMatchObject({ code: ErrorCode.AddressInvalid, retryable: false });
    expect(world.receipts).toContainEqual({
      replyId: job.replyId,
      status: 'failed',
      error: ErrorCode.AddressInvalid,
      platformErrorCode: '21211',
    });

    const unsubscribed = newPhone();
    world.fake.rejectNumber(unsubscribed, 21610);
    expect(await rejection(world.adapter.send(reply(unsubscribed, 'hei')))).toMatchObject({
      code: ErrorCode.OptedOut,
    });
    expect(await world.optOuts.isOptedOut(unsubscribed)).toBe(true);
    const calls = world.fake.calls.length;
    await rejection(world.adapter.send(reply(unsubscribed, 'hei igjen')));
    expect(world.fake.calls.length).toBe(calls); // refused here, without asking the platform
  });

  it('(4) a platform that does not answer in time is transient', async () => {
    const impatient = smsAdapter({
      settings: { ...world.settings, timeoutMs: 200 },
      bus: world.bus,
      optOuts: new MemoryOptOuts(),
      state: new MemorySmsState(),
      texts: smsTexts,
    });
    world.fake.failNext({ status: 'stall' });
    const err = await rejection(impatient.send(reply(newPhone(), 'hei')));
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ code: ErrorCode.Unavailable, context: { timeout: true } });
  });

  it('(3) sends from a messaging service when SMS_FROM is one', async () => {
    const service = `MG${'1'.repeat(32)}`;
    const viaService = smsAdapter({
      settings: { ...world.settings, from: service },
      bus: world.bus,
      optOuts: new MemoryOptOuts(),
      state: new MemorySmsState(),
      texts: smsTexts,
    });
    const phone = newPhone();
    await viaService.send(reply(phone, 'hei'));
    const msg = world.fake.sent.at(-1);
    expect(msg).toMatchObject({ to: phone, messagingServiceSid: service });
    expect(msg?.from).toBeUndefined();
  });

  it('(4) a wrong auth token is a permanent configuration error', async () => {
    const wrong = smsAdapter({
      settings: { ...world.settings, authToken: 'wrong' },
      bus: world.bus,
      optOuts: new MemoryOptOuts(),
      state: new MemorySmsState(),
      texts: smsTexts,
    });
    expect(await rejection(wrong.send(reply(newPhone(), 'hei')))).toMatchObject({ code: ErrorCode.Config });
  });
});

describe('SMS keywords: STOP, START, HELP', () => {
  const twimlMessage = async (res: Response) => {
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/xml/);
    const xml = await res.text();
    return /<Message>([\s\S]*)<\/Message>/.exec(xml)?.[1]?.replaceAll('&apos;', "'");
  };
  const say = async (from: string, body: string) => {
    const [res] = await world.fake.post(INBOUND, inbound(from, body));
    return twimlMessage(res as Response);
  };
  const texts = (lang: string) => smsTexts.sections.get(lang);

  it('(5) STOP opts out with an English confirmation; send() is refused until START', async () => {
    const phone = newPhone();
    expect(await say(phone, 'STOP')).toBe(texts('en')?.stopped);
    expect(await world.optOuts.isOptedOut(phone)).toBe(true);

    const calls = world.fake.calls.length;
    const job = reply(phone, 'Kunngjøring: skolen er stengt i morgen.');
    const err = await rejection(world.adapter.send(job));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toMatchObject({ code: ErrorCode.OptedOut });
    expect(world.receipts).toContainEqual({
      replyId: job.replyId,
      status: 'failed',
      error: ErrorCode.OptedOut,
    });
    expect(world.fake.calls.length).toBe(calls);

    // START is Norwegian as well as English: for an unknown number the default language (nb) answers.
    expect(await say(phone, 'Start')).toBe(texts('nb')?.started);
    expect(await world.optOuts.isOptedOut(phone)).toBe(false);
    await world.adapter.send(reply(phone, 'Velkommen tilbake'));
    expect(world.fake.sent.at(-1)?.to).toBe(phone);
    // Keywords are answered in the webhook and never reach the dialog engine.
    expect(await handledBefore(phone)).toEqual([]);
  });

  it('(5) "stopp" confirms in Norwegian; a known Somali parent gets Somali whatever the keyword', async () => {
    const phone = newPhone();
    expect(await say(phone, 'stopp')).toBe(texts('nb')?.stopped);
    expect(await say(phone, 'HJELP')).toBe(texts('nb')?.help);
    expect(await world.optOuts.isOptedOut(phone)).toBe(true);

    expect(await say(AMINA, 'STOP')).toBe(texts('so')?.stopped);
    expect(await say(AMINA, 'bilow')).toBe(texts('so')?.started);
    expect(await world.optOuts.isOptedOut(AMINA)).toBe(false);
    expect(await say(newPhone(), 'توقف')).toBe(texts('ar')?.stopped);
  });

  it('(5) an opted-out number gets nothing through the queue either, and the job is not retried', async () => {
    const phone = newPhone();
    await say(phone, 'STOPP');
    const job = reply(phone, 'Kunngjøring til alle foresatte');
    const before = world.busErrors.length;
    await world.bus.enqueueOutbound(job);
    await waitFor('the failed send', () => world.busErrors.length > before);
    await sleep(100);
    expect(sendAttempts.filter((id) => id === job.replyId)).toHaveLength(1);
    expect(world.fake.sent.filter((m) => m.to === phone)).toEqual([]);
  });

  it('a message that only contains a keyword among other words is an ordinary message', async () => {
    const phone = newPhone();
    const [res] = await world.fake.post(INBOUND, inbound(phone, 'stopp mobbingen nå'));
    expect(await twimlMessage(res as Response)).toBeUndefined();
    expect((await handledBefore(phone)).map((j) => j.text)).toEqual(['stopp mobbingen nå']);
  });
});

describe('SMS status callbacks', () => {
  it('(6) become receipts passed to onReceipt', async () => {
    const job = reply(newPhone(), 'Husk foreldremøtet i kveld.');
    const { platformMessageId } = await world.adapter.send(job);
    const sid = platformMessageId as string;
    expect((await world.fake.postStatus(sid, 'sent')).status).toBe(204);
    expect((await world.fake.postStatus(sid, 'delivered')).status).toBe(204);
    const mine = world.receipts.filter((r) => r.replyId === job.replyId);
    expect(mine.map((r) => [r.status, r.platformStatus])).toEqual([
      ['sent', 'sent'],
      ['delivered', 'delivered'],
    ]);
    expect(mine[1]).toMatchObject({ platformMessageId: sid, part: 0 });
  });

  it('(6) report undelivered with its error code as failed', async () => {
    const job = reply(newPhone(), 'Hei');
    const { platformMessageId } = await world.adapter.send(job);
    await world.fake.postStatus(platformMessageId as string, 'undelivered', 30003);
    expect(world.receipts.at(-1)).toMatchObject({
      replyId: job.replyId,
      status: 'failed',
      platformStatus: 'undelivered',
      platformErrorCode: '30003',
      error: 'undelivered:30003',
    });
  });

  it('(6) refuse forged or unknown callbacks', async () => {
    const job = reply(newPhone(), 'Hei');
    const { platformMessageId } = await world.adapter.send(job);
    const count = world.receipts.length;
    const forged = await world.fake.postStatus(platformMessageId as string, 'delivered', undefined, {
      authToken: 'guessed',
    });
    expect(forged.status).toBe(401);
    const unsigned = await world.fake.postStatus(platformMessageId as string, 'delivered', undefined, {
      signature: null,
    });
    expect(unsigned.status).toBe(401);
    // Signed, but without our replyId on the URL, or with a status Twilio does not have.
    const bare = {
      MessageSid: newSid('SM'),
      MessageStatus: 'delivered',
      AccountSid: world.settings.accountSid,
    };
    expect((await world.fake.post(STATUS, bare))[0]?.status).toBe(400);
    const odd = { ...bare, MessageStatus: 'teleported' };
    expect((await world.fake.post(`${STATUS}?replyId=x`, odd))[0]?.status).toBe(400);
    expect(world.receipts.length).toBe(count);
  });
});
