import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostedMessage } from '../../adapters/slack/fake-slack.ts';
import {
  COMMANDS_PATH,
  EVENTS_PATH,
  INTERACTIONS_PATH,
  MemorySlackState,
  slackAdapter,
  slackApi,
} from '../../adapters/slack/index.ts';
import { ErrorCode, PermanentError, TransientError } from '../../src/errors.ts';
import type { InboundJob, OutboundJob } from '../../src/queue/jobs.ts';
import { BOT_TOKEN, type SlackWorld, startSlackWorld, texts } from '../conformance/slack-harness.ts';
import { waitFor } from '../helpers/wait.ts';

const BODY_LIMIT = 8 * 1024;
const JOHN = 'U07JOHN0001'; // demo guardian, English
const INGRID = 'U07INGRID01'; // demo kontaktlærer
const LARS = 'U07LARS0001';
const STAFF_CHANNEL = 'C0STAFF0001';

let world: SlackWorld;
let events: string;
const handled: InboundJob[] = [];

beforeAll(async () => {
  world = await startSlackWorld({
    bodyLimit: BODY_LIMIT,
    handlers: (adapter) => ({
      inbound: async (job) => void handled.push(job),
      outbound: async (job) => void (await adapter.send(job)),
    }),
    inbox: async (user) =>
      user === INGRID
        ? [
            {
              guardian: 'Amina Hassan',
              child: { name: 'Yusuf', className: '3A' },
              lastAt: '2026-11-23T08:00:00Z',
            },
          ]
        : undefined,
    beforeListen: (app) => {
      app.post('/test/echo', async (req) => ({ body: req.body }));
    },
  });
  events = world.route(EVENTS_PATH);
});
afterAll(async () => world?.close());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const dmFrom = (user: string, text: string, extra: { threadTs?: string; channel?: string } = {}) =>
  world.fake.envelope(
    world.fake.messageEvent({
      user,
      channel: extra.channel ?? world.fake.dmOf(user),
      text,
      ...(extra.threadTs ? { threadTs: extra.threadTs } : {}),
    }),
  );

/**
 * Posts a valid DM from `user` and waits until the bus handled it: same conversation,
 * same partition, so anything enqueued before it has been handled too.
 */
async function handledBefore(user: string): Promise<InboundJob[]> {
  const sentinel = dmFrom(user, 'sentinel');
  await world.fake.postEvent(events, sentinel);
  await waitFor('the sentinel', () => handled.some((j) => j.messageId === sentinel.event_id));
  return handled.filter((j) => j.senderId === user && j.messageId !== sentinel.event_id);
}

const jobsWithId = async (id: string) => (await world.inboundJobs()).filter((j) => j.messageId === id);

let replies = 0;
const reply = (to: string, text: string, extra: Partial<OutboundJob> = {}): OutboundJob => ({
  channel: 'slack',
  replyId: `slack:test:r${replies++}`,
  conversationId: to,
  lang: 'en',
  dir: 'ltr',
  text,
  choices: [],
  ...extra,
});

let threads = 0;
const notice = (to: string, threadId: string, extra: Partial<NonNullable<OutboundJob['staff']>> = {}) =>
  reply(to, 'Melding fra Amina Hassan om Yusuf (3A)', {
    lang: 'nb',
    replyId: `sms:SM${threads++}:a0:notify:${to}`,
    staff: {
      threadId,
      kind: 'message',
      heading: 'Melding fra Amina Hassan om Yusuf (3A)',
      norwegian: { text: '[nb] Yusuf er syk i dag.', translated: true },
      original: { text: 'Yusuf wuu xanuunsan yahay maanta.', lang: 'so', dir: 'ltr' },
      notes: ['Maskinoversatt til norsk.', 'Svar i tråden på norsk.'],
      ...extra,
    },
  });

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );

describe('Slack requests: verification', () => {
  it('refuses forged, missing, stale, future and malformed signatures with 401 on every route, enqueuing nothing', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases = [
      { signature: 'forged' as const },
      { signature: 'missing' as const },
      { timestamp: now - 6 * 60 },
      { timestamp: now + 6 * 60 },
      { signature: { header: 'v1=abcdef' } },
      { signature: { header: '' } },
    ];
    for (const opts of cases) {
      const envelope = dmFrom(JOHN, 'Hello');
      const [res] = await world.fake.postEvent(events, envelope, opts);
      expect(res?.status, JSON.stringify(opts)).toBe(401);
      expect(await jobsWithId(envelope.event_id as string)).toEqual([]);
      expect((await world.fake.postCommand(world.route(COMMANDS_PATH), { user: INGRID }, opts)).status).toBe(
        401,
      );
    }
    const [stale] = await world.fake.postEvent(events, dmFrom(JOHN, 'x'), { timestamp: now - 301 });
    expect(await stale?.json()).toMatchObject({ error: 'timestamp_stale' });
    // Just inside the window still passes.
    const [fresh] = await world.fake.postEvent(events, dmFrom(JOHN, 'x'), { timestamp: now - 280 });
    expect(fresh?.status).toBe(200);
  });

  it('refuses a body changed after signing', async () => {
    const envelope = dmFrom(JOHN, 'Hello');
    const ts = Math.floor(Date.now() / 1000);
    const signature = world.fake.sign(JSON.stringify(envelope), ts);
    const tampered = JSON.stringify({ ...envelope, event_id: world.fake.newEventId() });
    const [res] = await world.fake.postEvent(events, envelope, {
      rawBody: tampered,
      timestamp: ts,
      signature: { header: signature },
    });
    expect(res?.status).toBe(401);
  });

  it('answers url_verification with the challenge, only when signed', async () => {
    const body = { token: 'x', challenge: 'skolebro-challenge-42', type: 'url_verification' };
    const [ok] = await world.fake.postEvent(events, body);
    expect(ok?.status).toBe(200);
    expect(await ok?.json()).toEqual({ challenge: 'skolebro-challenge-42' });
    const [forged] = await world.fake.postEvent(events, body, { signature: 'forged' });
    expect(forged?.status).toBe(401);
  });
});

describe('Slack requests: malformed payloads', () => {
  it('answers 400 with a reason for unreadable or unknown bodies, enqueuing nothing', async () => {
    const before = (await world.inboundJobs()).length;
    const bad: Array<[string, string, string?]> = [
      ['not json', 'not valid JSON'],
      [JSON.stringify({ type: 'block_party' }), 'type'],
      [JSON.stringify({ type: 'event_callback', event: { type: 'message' }, event_time: 1 }), 'event_id'],
      [JSON.stringify(dmFrom(JOHN, 'hi')), 'application/json', 'application/x-www-form-urlencoded'],
    ];
    for (const [raw, reason, contentType] of bad) {
      const [res] = await world.fake.postEvent(
        events,
        {},
        { rawBody: raw, ...(contentType ? { contentType } : {}) },
      );
      expect(res?.status, raw).toBe(400);
      expect(((await (res as Response).json()) as { message: string }).message).toContain(reason);
    }
    // A person's message without the fields we need is refused too (not a subtype we ignore).
    const broken = world.fake.envelope({
      type: 'message',
      channel: 'D07JOHN0001',
      text: 'no user',
      ts: '1715000000.000100',
    });
    const [res] = await world.fake.postEvent(events, broken);
    expect(res?.status).toBe(400);
    expect(((await (res as Response).json()) as { message: string }).message).toMatch(/user/);
    const command = await world.fake.postCommand(
      world.route(COMMANDS_PATH),
      { user: INGRID },
      {
        rawBody: 'command=skolebro&user_id=U07INGRID01',
      },
    );
    expect(command.status).toBe(400);
    const interaction = await world.fake.postCommand(
      world.route(INTERACTIONS_PATH),
      { user: INGRID },
      {
        rawBody: `payload=${encodeURIComponent(JSON.stringify({ type: 'view_submission' }))}`,
      },
    );
    expect(interaction.status).toBe(400);
    expect((await world.inboundJobs()).length).toBe(before);
  });

  it('refuses an oversized body with 413 before anything else', async () => {
    const envelope = dmFrom(JOHN, 'x'.repeat(BODY_LIMIT + 100));
    const [res] = await world.fake.postEvent(events, envelope);
    expect(res?.status).toBe(413);
    expect(await jobsWithId(envelope.event_id as string)).toEqual([]);
  });

  it('leaves the JSON parsing of other routes alone', async () => {
    const res = await fetch(world.route('/test/echo'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: 1 }),
    });
    expect(await res.json()).toEqual({ body: { a: 1 } });
  });
});

describe('Slack events: inbound mapping', () => {
  it("puts a parent's DM on the queue once, however often Slack retries it, and answers fast", async () => {
    const envelope = dmFrom(JOHN, 'When is the next <https://example.org|parent meeting> &amp; where?');
    const started = Date.now();
    const responses = await world.fake.postEvent(events, envelope, { times: 3 });
    expect(Date.now() - started).toBeLessThan(2500);
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    const jobs = await jobsWithId(envelope.event_id as string);
    expect(jobs).toHaveLength(1);
    const event = envelope.event as { ts: string; channel: string };
    expect(jobs[0]).toEqual({
      channel: 'slack',
      messageId: envelope.event_id,
      conversationId: event.channel,
      senderId: JOHN,
      text: 'When is the next parent meeting & where?',
      at: new Date(Math.floor(Number(event.ts) * 1000)).toISOString(),
    });
    const seen = await handledBefore(JOHN);
    expect(seen.filter((j) => j.messageId === envelope.event_id)).toHaveLength(1);
  });

  it('ignores bots (our own posts included), edits, deletions and channel chatter, with 200', async () => {
    const dm = world.fake.dmOf(JOHN);
    const ignored = [
      world.fake.envelope(
        world.fake.messageEvent({
          user: 'U0SKOLEBRO',
          channel: dm,
          text: 'our reply',
          extra: { bot_id: 'B0SKOLEBRO' },
        }),
      ),
      world.fake.envelope({
        type: 'message',
        subtype: 'bot_message',
        bot_id: 'B0OTHER',
        channel: dm,
        text: 'x',
        ts: '1715000000.000200',
      }),
      world.fake.envelope({
        type: 'message',
        subtype: 'message_changed',
        channel: dm,
        ts: '1715000000.000300',
        message: { user: JOHN, text: 'edited', ts: '1715000000.000100' },
      }),
      world.fake.envelope({
        type: 'message',
        subtype: 'message_deleted',
        channel: dm,
        ts: '1715000000.000400',
      }),
      world.fake.envelope(
        world.fake.messageEvent({
          user: JOHN,
          channel: 'C0GENERAL01',
          text: 'hello all',
          channelType: 'channel',
        }),
      ),
      world.fake.envelope({ type: 'app_home_opened', user: JOHN, channel: dm, tab: 'messages' }),
    ];
    for (const envelope of ignored) {
      const [res] = await world.fake.postEvent(events, envelope);
      expect(res?.status).toBe(200);
    }
    const seen = await handledBefore(JOHN);
    const ids = new Set(ignored.map((e) => e.event_id));
    expect(seen.filter((j) => ids.has(j.messageId))).toEqual([]);
    expect(await world.inboundJobs()).not.toContainEqual(
      expect.objectContaining({ messageId: ignored[0]?.event_id }),
    );
  });
});

describe('Slack staff threads', () => {
  it("starts a thread in the staff member's DM with the first notice, and replies in it with the next", async () => {
    const threadId = 'sms:+4791000001';
    const first = notice(INGRID, threadId);
    const receipt = await world.adapter.send(first);
    const dm = world.fake.dmOf(INGRID);
    expect(world.fake.calls.some((c) => c.method === 'conversations.open' && c.args.users === INGRID)).toBe(
      true,
    );
    const [root] = world.fake.postedTo(dm);
    expect(root).toBeDefined();
    expect(root?.thread_ts).toBeUndefined();
    expect(receipt).toEqual({
      replyId: first.replyId,
      status: 'sent',
      platformMessageId: `${dm}:${root?.ts}`,
    });
    const blocks = JSON.stringify(root?.blocks);
    expect(root?.blocks[0]).toMatchObject({
      type: 'header',
      text: { text: 'Melding fra Amina Hassan om Yusuf (3A)' },
    });
    expect(root?.blocks[1]).toMatchObject({
      type: 'section',
      fields: [
        { text: '*Norsk*' },
        { text: '*Original (so):*' },
        { type: 'plain_text', text: '[nb] Yusuf er syk i dag.' },
        { type: 'plain_text', text: 'Yusuf wuu xanuunsan yahay maanta.' },
      ],
    });
    expect(blocks).toContain('Maskinoversatt til norsk.');
    expect(root?.mrkdwn).toBe(false);

    const second = notice(INGRID, threadId, {
      norwegian: { text: '[nb] Han er frisk i morgen.', translated: true },
    });
    await world.adapter.send(second);
    const inThread = world.fake.postedTo(dm, root?.ts);
    expect(inThread).toHaveLength(1);
    expect(JSON.stringify(inThread[0]?.blocks)).toContain('Han er frisk i morgen');
    // The same job again (a retry after a lost receipt) posts nothing new.
    await world.adapter.send(second);
    expect(world.fake.postedTo(dm, root?.ts)).toHaveLength(1);
    // Another staff member's notices for the same parent get their own thread in their own DM.
    await world.adapter.send(notice(LARS, threadId));
    expect(world.fake.postedTo(world.fake.dmOf(LARS))).toHaveLength(1);
    expect(await world.state.thread(threadId, INGRID)).toEqual({ channel: dm, ts: root?.ts });
  });

  it("turns a staff member's reply in that thread into a relay job for the parent's thread", async () => {
    const threadId = 'sms:+4791000002';
    await world.adapter.send(notice(INGRID, threadId));
    const dm = world.fake.dmOf(INGRID);
    const root = world.fake.postedTo(dm).at(-1) as PostedMessage;
    const answer = dmFrom(INGRID, 'God bedring til Yusuf!', { threadTs: root.ts });
    const [res] = await world.fake.postEvent(events, answer, { times: 2 });
    expect(res?.status).toBe(200);
    const [job] = await jobsWithId(answer.event_id as string);
    expect(job).toMatchObject({
      channel: 'slack',
      senderId: INGRID,
      text: 'God bedring til Yusuf!',
      thread: threadId,
      conversationId: `${dm}:${root.ts}`,
    });
    expect(await jobsWithId(answer.event_id as string)).toHaveLength(1);

    // In a thread the adapter did not start, a DM is an ordinary turn, not a relay.
    const other = dmFrom(INGRID, 'Et spørsmål', { threadTs: '1700000000.000001' });
    await world.fake.postEvent(events, other);
    const [plain] = await jobsWithId(other.event_id as string);
    expect(plain).toMatchObject({ conversationId: dm, senderId: INGRID });
    expect(plain?.thread).toBeUndefined();
  });

  it('threads notices in SLACK_STAFF_CHANNEL instead, naming the staff member, when one is set', async () => {
    const channelAdapter = slackAdapter({
      settings: { ...world.settings, staffChannel: STAFF_CHANNEL },
      bus: world.bus,
      state: world.state,
      texts,
    });
    const threadId = 'sms:+4791000003';
    await channelAdapter.send(notice(INGRID, threadId));
    await channelAdapter.send(notice(LARS, threadId));
    const [root, reply2] = world.fake.postedTo(STAFF_CHANNEL);
    expect(root?.thread_ts).toBeUndefined();
    expect(root?.text).toMatch(new RegExp(`^<@${INGRID}> `));
    expect(root?.blocks[0]).toEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `<@${INGRID}>`, verbatim: true }],
    });
    // One thread per parent conversation in the shared channel, whoever it is addressed to.
    expect(reply2?.thread_ts).toBe(root?.ts);
    expect(reply2?.text).toMatch(new RegExp(`^<@${LARS}> `));
    // The mounted adapter shares the state, so a reply in the channel thread is a relay.
    const answer = world.fake.envelope(
      world.fake.messageEvent({
        user: INGRID,
        channel: STAFF_CHANNEL,
        channelType: 'channel',
        text: 'Takk!',
        threadTs: root?.ts,
      }),
    );
    await world.fake.postEvent(events, answer);
    expect((await jobsWithId(answer.event_id as string))[0]).toMatchObject({
      thread: threadId,
      senderId: INGRID,
    });
  });
});

describe('Slack replies to parents', () => {
  it('opens the DM for a user id once, and posts escaped plain text', async () => {
    const opens = () =>
      world.fake.calls.filter((c) => c.method === 'conversations.open' && c.args.users === 'U0NEWPARENT')
        .length;
    await world.adapter.send(reply('U0NEWPARENT', 'Fish & chips <b>'));
    await world.adapter.send(reply('U0NEWPARENT', 'Again'));
    expect(opens()).toBe(1);
    const [first] = world.fake.postedTo('D0NEWPARENT');
    expect(first?.text).toBe('Fish &amp; chips &lt;b&gt;');
    expect(first?.blocks).toEqual([
      { type: 'section', text: { type: 'plain_text', text: 'Fish & chips <b>', emoji: true } },
    ]);
  });

  it('sends choices as buttons, and a click comes back as that choice, once', async () => {
    const dm = world.fake.dmOf(JOHN);
    const job = reply(dm, 'Which child?', {
      choices: [
        { value: 'child:p-emma', label: 'Emma (3A)' },
        { value: 'child:p-noah', label: 'Noah (6A)' },
      ],
    });
    await world.adapter.send(job);
    const posted = world.fake.postedTo(dm).at(-1) as PostedMessage;
    expect(posted.blocks.at(-1)).toMatchObject({
      type: 'actions',
      elements: [
        { type: 'button', action_id: 'choice:0', value: 'child:p-emma', text: { text: 'Emma (3A)' } },
        { type: 'button', action_id: 'choice:1', value: 'child:p-noah' },
      ],
    });
    const click = { user: JOHN, message: posted, actionId: 'choice:1' };
    expect((await world.fake.postButtonClick(world.route(INTERACTIONS_PATH), click)).status).toBe(200);
    expect((await world.fake.postButtonClick(world.route(INTERACTIONS_PATH), click)).status).toBe(200);
    const id = `action:${dm}:${posted.ts}:choice:1`;
    const jobs = await jobsWithId(id);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({
      conversationId: dm,
      senderId: JOHN,
      choice: 'child:p-noah',
      text: 'Noah (6A)',
    });
    const forged = await world.fake.postButtonClick(world.route(INTERACTIONS_PATH), click, {
      signature: 'forged',
    });
    expect(forged.status).toBe(401);
  });

  it("adds the Norwegian original under a staff member's machine-translated words", async () => {
    const dm = world.fake.dmOf(JOHN);
    await world.adapter.send(
      reply(
        dm,
        'Ingrid Berg (kontaktlærer) writes:\n\n[en] Get well soon!\n\n(Machine-translated from Norwegian.)',
        {
          relay: { from: 'Ingrid Berg', original: { text: 'God bedring!', lang: 'nb' }, translated: true },
        },
      ),
    );
    const posted = world.fake.postedTo(dm).at(-1) as PostedMessage;
    expect(posted.blocks.at(-1)).toEqual({
      type: 'context',
      elements: [
        { type: 'mrkdwn', text: '*The Norwegian original:*', verbatim: true },
        { type: 'plain_text', text: 'God bedring!', emoji: true },
      ],
    });
  });

  it('splits a long reply into messages within the limits, and a retry posts only what is missing', async () => {
    const dm = world.fake.dmOf(JOHN);
    const paragraph = `${'Ord '.repeat(300).trim()}.`; // 1,200 characters
    const job = reply(dm, Array.from({ length: 8 }, () => paragraph).join('\n\n'));
    const before = world.fake.postedTo(dm).length;
    world.fake.failNext({ kind: 'http', status: 503 }, { after: 2, method: 'chat.postMessage' });
    const err = await rejection(world.adapter.send(job));
    expect(err).toBeInstanceOf(TransientError);
    expect(world.fake.postedTo(dm).length - before).toBe(2);
    await world.adapter.send(job);
    const posted = world.fake.postedTo(dm).slice(before);
    expect(posted).toHaveLength(3);
    for (const m of posted) {
      expect(m.text.length).toBeLessThanOrEqual(4000);
      for (const b of m.blocks)
        expect(((b.text as { text: string }).text ?? '').length).toBeLessThanOrEqual(3000);
    }
  });
});

describe('Slack send: error classification', () => {
  it('turns a 429 into a transient error with the Retry-After, and one without it still as rate-limited', async () => {
    world.fake.failNext({ kind: 'rate-limited', retryAfter: 7 });
    const err = (await rejection(world.adapter.send(reply('D0SOMEONE01', 'slow down')))) as TransientError;
    expect(err).toBeInstanceOf(TransientError);
    expect(err.code).toBe(ErrorCode.RateLimited);
    expect(err.retryAfterMs).toBe(7000);
    world.fake.failNext({ kind: 'rate-limited', retryAfter: null });
    const bare = (await rejection(world.adapter.send(reply('D0SOMEONE01', 'slow down')))) as TransientError;
    expect(bare).toBeInstanceOf(TransientError);
    expect(bare.code).toBe(ErrorCode.RateLimited);
  });

  it('turns refused addresses into permanent address_invalid errors with a failed receipt', async () => {
    for (const error of ['channel_not_found', 'is_archived', 'not_in_channel', 'account_inactive']) {
      world.fake.failNext({ kind: 'platform', error });
      const job = reply('D0GONE00001', 'hello?');
      const err = (await rejection(world.adapter.send(job))) as PermanentError;
      expect(err, error).toBeInstanceOf(PermanentError);
      expect(err.code).toBe(ErrorCode.AddressInvalid);
      expect(err.context.slackError).toBe(error);
      expect(world.receipts).toContainEqual({
        replyId: job.replyId,
        status: 'failed',
        error: 'address_invalid',
      });
    }
    world.fake.rejectUser('U0DELETED01');
    const err = (await rejection(world.adapter.send(reply('U0DELETED01', 'hello?')))) as PermanentError;
    expect(err.code).toBe(ErrorCode.AddressInvalid);
  });

  it('turns a refused token into a permanent config error, and outages into transient ones', async () => {
    const wrongToken = slackAdapter({
      settings: { ...world.settings, botToken: 'xoxb-not-the-token' },
      bus: world.bus,
      state: new MemorySlackState(),
      texts,
    });
    const err = (await rejection(wrongToken.send(reply('D0SOMEONE01', 'hi')))) as PermanentError;
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.code).toBe(ErrorCode.Config);
    expect(err.context.slackError).toBe('invalid_auth');
    for (const failure of [
      { kind: 'http', status: 500 },
      { kind: 'http', status: 502 },
      { kind: 'hang-up' },
    ] as const) {
      world.fake.failNext(failure);
      const outage = (await rejection(world.adapter.send(reply('D0SOMEONE01', 'hi')))) as TransientError;
      expect(outage, failure.kind).toBeInstanceOf(TransientError);
      expect(outage.code).toBe(ErrorCode.Unavailable);
    }
  });

  it('a send the queue retries after a 429 arrives once', async () => {
    const dm = world.fake.dmOf('U0QUEUED001');
    world.fake.failNext({ kind: 'rate-limited', retryAfter: 1 }, { method: 'chat.postMessage' });
    await world.bus.enqueueOutbound(reply(dm, 'Through the queue'));
    await waitFor('the retried send', () => world.fake.postedTo(dm).length === 1, 15_000);
    await sleep(300);
    expect(world.fake.postedTo(dm)).toHaveLength(1);
    const calls = world.fake.calls.filter((c) => c.method === 'chat.postMessage' && c.args.channel === dm);
    expect(calls.map((c) => c.status)).toEqual([429, 200]);
  });
});

describe('Slack slash command', () => {
  const command = (user: string, text = '') =>
    world.fake.postCommand(world.route(COMMANDS_PATH), { user, text });

  it('answers /skolebro with ephemeral help in Norwegian for staff, in English for an English-speaking parent', async () => {
    const res = await command(INGRID);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { response_type: string; text: string };
    expect(body.response_type).toBe('ephemeral');
    expect(body.text).toContain('Svar i tråden på norsk');
    expect(body.text).toContain('/skolebro kunngjøring');
    const english = (await (await command(JOHN, 'help')).json()) as { text: string };
    expect(english.text).toContain('Reply in the thread in Norwegian');
  });

  it("lists the caller's open threads for /skolebro innboks, and says so to someone who is not staff", async () => {
    const body = (await (await command(INGRID, 'innboks')).json()) as { text: string };
    expect(body.text).toContain('Amina Hassan om Yusuf (3A)');
    const stranger = (await (await command('U0STRANGER1', 'innboks')).json()) as { text: string };
    expect(stranger.text).toContain('for ansatte');
  });

  it('answers ssl_check with 200', async () => {
    const res = await world.fake.postCommand(
      world.route(COMMANDS_PATH),
      { user: INGRID },
      {
        rawBody: 'ssl_check=1&token=x',
      },
    );
    expect(res.status).toBe(200);
  });
});

describe('the Web API client', () => {
  it('checks the token at start-up with auth.test, and the fake refuses a call without one', async () => {
    const api = slackApi({ botToken: BOT_TOKEN, baseUrl: world.fake.url });
    expect(await api.authTest()).toEqual({
      userId: world.fake.botUserId,
      botId: 'B0SKOLEBRO',
      teamId: world.fake.teamId,
    });
    const wrong = slackApi({ botToken: 'xoxb-wrong', baseUrl: world.fake.url });
    const err = (await rejection(wrong.authTest())) as PermanentError;
    expect(err.code).toBe(ErrorCode.Config);
    const bare = await fetch(`${world.fake.url}auth.test`, { method: 'POST' });
    expect(await bare.json()).toMatchObject({ ok: false, error: 'not_authed' });
  });
});
