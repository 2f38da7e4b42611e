import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeUser } from '../../adapters/teams/fake-connector.ts';
import {
  MESSAGES_PATH,
  MemoryTeamsState,
  type TeamsSettings,
  teamsAdapter,
  teamsMessageId,
} from '../../adapters/teams/index.ts';
import type { ChannelAdapter } from '../../src/channels.ts';
import { ErrorCode, PermanentError, TransientError } from '../../src/errors.ts';
import { createLogger } from '../../src/log.ts';
import type { InboundJob, OutboundJob } from '../../src/queue/jobs.ts';
import { buildServer } from '../../src/server.ts';
import { BODY_LIMIT, shownText, startTeamsWorld, type TeamsWorld } from '../conformance/teams-harness.ts';
import { waitFor } from '../helpers/wait.ts';

/** Demo people (examples/demo-school): Kari is a guardian on Teams; Sofie (kontaktlærer 6A) and Per (rektor) are staff. */
const KARI = '2d7f3b10-8c4e-4a9b-b1f6-5e0a9c3d7b33';
const SOFIE = '6f1c2a9e-0b7d-4d3e-9a51-3c2b7e8f0a11';
const PER = '9b2e4c71-5d8a-4f60-b3e2-7a1d0c9e4f22';

let world: TeamsWorld;
let kari: FakeUser;
let sofie: FakeUser;
const sendAttempts: string[] = [];

beforeAll(async () => {
  world = await startTeamsWorld({
    handlers: (adapter) => ({
      outbound: async (job) => {
        sendAttempts.push(job.replyId);
        await adapter.send(job);
      },
    }),
  });
  kari = world.fake.user(KARI, 'Kari Nordmann');
  sofie = world.fake.user(SOFIE, 'Sofie Haugen');
});
afterAll(async () => world?.close());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const jobsFor = async (activityId: string, conversationId = kari.conversationId) =>
  (await world.inboundJobs()).filter((j) => j.messageId === teamsMessageId(activityId, conversationId));
const rejection = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );

let replies = 0;
const reply = (conversationId: string, text: string, extra: Partial<OutboundJob> = {}): OutboundJob => ({
  channel: 'teams',
  replyId: `teams:test:r${replies++}`,
  conversationId,
  lang: 'nb',
  dir: 'ltr',
  text,
  choices: [],
  ...extra,
});
const notice = (recipient: string, threadId: string, heading: string): OutboundJob =>
  reply(recipient, heading, {
    staff: {
      threadId,
      kind: 'message',
      heading,
      norwegian: { text: '[nb] Saras mattebok er borte.', translated: true },
      original: { text: 'سارہ کی ریاضی کی کتاب گم ہو گئی ہے۔', lang: 'ur', dir: 'rtl' },
      notes: ['Maskinoversatt til norsk.', 'Svar i tråden på norsk.'],
    },
  });

describe('Teams messaging endpoint: authentication', () => {
  it('takes a message carrying a channel token signed with the published key, and enqueues it normalised', async () => {
    const id = world.fake.newActivityId();
    const before = Date.now();
    expect(await world.post(world.fake.message(kari, { id, text: 'Når er neste foreldremøte?' }))).toEqual([
      200,
    ]);
    const [job, ...more] = await jobsFor(id);
    expect(more).toEqual([]);
    expect(job).toEqual({
      channel: 'teams',
      messageId: teamsMessageId(id, kari.conversationId),
      conversationId: kari.conversationId,
      senderId: KARI,
      text: 'Når er neste foreldremøte?',
      at: expect.any(String),
    });
    expect(Date.parse(job?.at ?? '')).toBeGreaterThanOrEqual(before - 1000);
  });

  it.each([
    ['a forged signature', 'forged'],
    ['an expired token', 'expired'],
    ['a token for another bot', 'wrong-audience'],
    ['a token for another serviceUrl', 'wrong-service-url'],
    ['no token', 'missing'],
  ] as const)('answers %s with 401 and enqueues nothing', async (_what, token) => {
    const id = world.fake.newActivityId();
    expect(await world.post(world.fake.message(kari, { id, text: 'Hei' }), { token })).toEqual([401]);
    expect(await jobsFor(id)).toEqual([]);
  });

  it('answers a header that is not a Bot Framework JWT with 401', async () => {
    for (const header of ['Bearer not.a.jwt', 'Basic a2FyaTpzZWNyZXQ=', `Bearer ${randomUUID()}`]) {
      const id = world.fake.newActivityId();
      expect(await world.post(world.fake.message(kari, { id, text: 'Hei' }), { token: { header } })).toEqual([
        401,
      ]);
      expect(await jobsFor(id)).toEqual([]);
    }
  });

  it('checks the token before the body: a stranger learns nothing about what we accept', async () => {
    const res = await fetch(world.messagesUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'teleport' }),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      error: 'unauthorized',
      message: 'Missing or invalid Bot Framework token.',
    });
  });
});

describe('Teams messaging endpoint: bodies', () => {
  it('refuses a malformed activity with 400 and the reason, and enqueues nothing', async () => {
    const id = world.fake.newActivityId();
    const { from: _from, ...activity } = world.fake.message(kari, { id, text: 'Hei' });
    const [res] = await world.fake.post(world.messagesUrl, activity);
    expect(res?.status).toBe(400);
    expect(await res?.json()).toEqual({ error: 'invalid_activity', message: expect.stringMatching(/from/) });
    expect(await jobsFor(id)).toEqual([]);
  });

  it('refuses an activity of an unknown type with 400', async () => {
    const [res] = await world.fake.post(world.messagesUrl, { ...world.fake.message(kari), type: 'teleport' });
    expect(res?.status).toBe(400);
    expect(await res?.json()).toMatchObject({ error: 'activity_unknown' });
  });

  it('refuses a body that is not JSON with 400', async () => {
    expect(await world.post('{"type":"message",')).toEqual([400]);
  });

  it('refuses a body over the limit with 413 before reading it, and enqueues nothing', async () => {
    const id = world.fake.newActivityId();
    expect(await world.post(world.fake.message(kari, { id, text: 'ب'.repeat(BODY_LIMIT) }))).toEqual([413]);
    expect(await jobsFor(id)).toEqual([]);
  });

  it('acknowledges activities it does not act on (reactions, typing) and enqueues nothing', async () => {
    const before = (await world.inboundJobs()).length;
    const base = world.fake.message(kari);
    for (const type of ['messageReaction', 'typing', 'messageUpdate']) {
      expect(await world.post({ ...base, type, id: world.fake.newActivityId() })).toEqual([200]);
    }
    expect(await world.inboundJobs()).toHaveLength(before);
  });
});

describe('Teams messaging endpoint: duplicates and installation', () => {
  it('enqueues a message the channel delivers three times once', async () => {
    const id = world.fake.newActivityId();
    expect(await world.post(world.fake.message(kari, { id, text: 'Hei igjen' }), { times: 3 })).toEqual([
      200, 200, 200,
    ]);
    expect(await jobsFor(id)).toHaveLength(1);
  });

  it('keeps apart two messages that share a Teams id in different conversations', async () => {
    const other = world.fake.user(randomUUID(), 'Another Parent');
    const id = world.fake.newActivityId();
    await world.post(world.fake.message(kari, { id, text: 'Samme millisekund' }));
    await world.post(world.fake.message(other, { id, text: 'Samme millisekund' }));
    expect(await jobsFor(id)).toHaveLength(1);
    expect(await jobsFor(id, other.conversationId)).toHaveLength(1);
  });

  it('stores the conversation reference when the app is installed, and enqueues nothing', async () => {
    const before = (await world.inboundJobs()).length;
    expect(await world.post(world.fake.installed(sofie))).toEqual([200]);
    expect(await world.inboundJobs()).toHaveLength(before);
    const ref = await world.state.reference(SOFIE);
    expect(ref).toMatchObject({
      serviceUrl: world.fake.serviceUrl,
      conversation: { id: sofie.conversationId, conversationType: 'personal' },
      user: { id: sofie.id, aadObjectId: SOFIE },
      bot: { id: world.fake.botId },
    });
    expect(await world.state.reference(sofie.conversationId)).toEqual(ref);
  });

  it('forgets the reference when the app is removed: sends then fail as address_invalid', async () => {
    const leaver = world.fake.user(randomUUID(), 'Leaving Parent');
    await world.post(world.fake.installationUpdate(leaver, 'add'));
    expect(await world.state.reference(leaver.aadObjectId)).toBeDefined();
    await world.post(world.fake.installationUpdate(leaver, 'remove'));
    expect(await world.state.reference(leaver.aadObjectId)).toBeUndefined();
    const err = await rejection(world.adapter.send(reply(leaver.conversationId, 'Hei')));
    expect(err).toMatchObject({ code: ErrorCode.AddressInvalid, retryable: false });
  });

  it('turns an Adaptive Card button press into a choice', async () => {
    const id = world.fake.newActivityId();
    await world.post(
      world.fake.message(kari, { id, value: { choice: 'intent:contact.teacher', label: 'Kontakt læreren' } }),
    );
    expect((await jobsFor(id))[0]).toMatchObject({
      choice: 'intent:contact.teacher',
      text: 'Kontakt læreren',
    });
  });
});

describe('Teams send: proactive messages through the stored reference', () => {
  it('posts a reply in the parent’s chat, fetching a token once', async () => {
    world.fake.reset();
    const job = reply(kari.conversationId, 'Neste foreldremøte er fredag 12. februar 2027 kl. 18:00.');
    const receipt = await world.adapter.send(job);
    const [posted] = world.fake.postedTo(kari);
    expect(posted).toMatchObject({
      via: 'send',
      activity: { type: 'message', text: job.text, textFormat: 'plain', recipient: { id: kari.id } },
    });
    expect(receipt).toEqual({ replyId: job.replyId, status: 'sent', platformMessageId: posted?.id });
    await world.adapter.send(reply(kari.conversationId, 'Noe mer?'));
    expect(world.fake.tokenRequests.filter((t) => t.granted)).toHaveLength(1);
  });

  it('finds a guardian’s personal chat by AAD object id too (a broadcast addresses people)', async () => {
    await world.adapter.send(reply(KARI, 'Husk foreldremøtet i kveld.'));
    expect(world.fake.postedTo(kari).at(-1)?.activity.text).toBe('Husk foreldremøtet i kveld.');
  });

  it('sends choices as an Adaptive Card with Action.Submit buttons', async () => {
    await world.adapter.send(
      reply(kari.conversationId, 'Hva lurer du på?', {
        choices: [
          { value: 'intent:meetings.next', label: 'Møter' },
          { value: 'intent:contact.teacher', label: 'Kontakt læreren' },
        ],
      }),
    );
    const posted = world.fake.postedTo(kari).at(-1);
    expect(shownText(posted as never)).toBe('Hva lurer du på?');
    const card = posted?.activity.attachments?.[0]?.content as {
      actions: Array<{ title: string; data: unknown }>;
    };
    expect(card.actions.map((a) => [a.title, a.data])).toEqual([
      ['Møter', { choice: 'intent:meetings.next', label: 'Møter' }],
      ['Kontakt læreren', { choice: 'intent:contact.teacher', label: 'Kontakt læreren' }],
    ]);
  });

  it('does not send a part twice when a job is retried after a partial send', async () => {
    const job = reply(kari.conversationId, `${'a'.repeat(6000)}\n\n${'b'.repeat(6000)}`);
    world.fake.failNext({ status: 503 }, { after: 1 });
    expect(await rejection(world.adapter.send(job))).toBeInstanceOf(TransientError);
    const count = world.fake.postedTo(kari).length;
    await world.adapter.send(job);
    const parts = world.fake.postedTo(kari).slice(count - 1);
    expect(parts.map((p) => p.activity.text?.[0])).toEqual(['a', 'b']);
  });

  it('fails a send to someone without a stored reference as address_invalid, with a failed receipt', async () => {
    const job = reply(randomUUID(), 'Hei');
    const err = await rejection(world.adapter.send(job));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toMatchObject({ code: ErrorCode.AddressInvalid });
    expect(world.receipts).toContainEqual({
      replyId: job.replyId,
      status: 'failed',
      error: 'address_invalid',
    });
  });
});

describe('Teams staff notices and replies', () => {
  const thread = 'sms:+4791000002';
  let first = '';
  let second = '';

  it('posts the first notice of a thread as a new post with the side-by-side card', async () => {
    const job = notice(SOFIE, thread, 'Melding fra Fatima Khan om Sara (6A)');
    const receipt = await world.adapter.send(job);
    const posted = world.fake.posted.at(-1);
    expect(posted).toMatchObject({ via: 'create', conversationId: sofie.conversationId });
    first = posted?.id ?? '';
    expect(receipt.platformMessageId).toBe(first);
    const card = posted?.activity.attachments?.[0]?.content as {
      body: Array<{ type: string; text?: string }>;
    };
    expect(card.body[0]?.text).toBe('Melding fra Fatima Khan om Sara (6A)');
    expect(card.body[1]?.type).toBe('ColumnSet');
    expect(JSON.stringify(card)).toContain('سارہ کی ریاضی کی کتاب');
    expect(await world.state.threadOf(sofie.conversationId, first)).toBe(thread);
  });

  it('posts later notices of the thread as replies to that post', async () => {
    await world.adapter.send(notice(SOFIE, thread, 'Ny melding fra Fatima Khan om Sara (6A)'));
    const posted = world.fake.posted.at(-1);
    expect(posted).toMatchObject({ via: 'reply', replyToId: first, conversationId: sofie.conversationId });
    second = posted?.id ?? '';
    // Another thread gets a post of its own.
    await world.adapter.send(notice(SOFIE, 'sms:+4791000003', 'Melding fra Omar Al-Sayed om Lina (6A)'));
    expect(world.fake.posted.at(-1)?.via).toBe('create');
  });

  it('makes a reply in the chain a staff reply to that thread', async () => {
    for (const replyToId of [first, second]) {
      const id = world.fake.newActivityId();
      await world.post(world.fake.message(sofie, { id, text: 'Takk, jeg ser etter boka.', replyToId }));
      const [job] = await jobsFor(id, sofie.conversationId);
      expect(job).toMatchObject({ thread, senderId: SOFIE, text: 'Takk, jeg ser etter boka.' });
    }
    // Not a reply: an ordinary turn.
    const id = world.fake.newActivityId();
    await world.post(world.fake.message(sofie, { id, text: 'Hei Skolebro' }));
    expect((await jobsFor(id, sofie.conversationId))[0]).not.toHaveProperty('thread');
  });

  it('fails a notice to staff who have not installed the app as address_invalid', async () => {
    const job = notice(PER, thread, 'Melding til rektor');
    expect(await rejection(world.adapter.send(job))).toMatchObject({ code: ErrorCode.AddressInvalid });
    expect(world.receipts).toContainEqual(
      expect.objectContaining({ replyId: job.replyId, status: 'failed' }),
    );
  });
});

describe('Teams send: connector errors', () => {
  it('classifies 429 as rate limited with the Retry-After, and 5xx as transient', async () => {
    world.fake.failNext({ status: 429, retryAfter: '3' });
    expect(await rejection(world.adapter.send(reply(kari.conversationId, 'Hei')))).toMatchObject({
      code: ErrorCode.RateLimited,
      retryAfterMs: 3000,
    });
    world.fake.failNext({ status: 502 });
    expect(await rejection(world.adapter.send(reply(kari.conversationId, 'Hei')))).toBeInstanceOf(
      TransientError,
    );
    world.fake.failNext({ status: 'hang-up' });
    expect(await rejection(world.adapter.send(reply(kari.conversationId, 'Hei')))).toMatchObject({
      code: ErrorCode.Unavailable,
    });
  });

  it('classifies 403 (bot removed) and 404 (conversation gone) as permanent, with failed receipts', async () => {
    for (const status of [403, 404] as const) {
      world.fake.failNext({ status });
      const job = reply(kari.conversationId, 'Hei');
      expect(await rejection(world.adapter.send(job))).toMatchObject({
        code: ErrorCode.AddressInvalid,
        retryable: false,
        context: { status },
      });
      expect(world.receipts).toContainEqual(
        expect.objectContaining({ replyId: job.replyId, status: 'failed' }),
      );
    }
  });

  it('through the queue: waits out a 429 and delivers once; does not retry a 404', async () => {
    world.fake.failNext({ status: 429, retryAfter: '1' });
    const slow = reply(kari.conversationId, 'Etter pausen');
    const started = Date.now();
    await world.bus.enqueueOutbound(slow);
    await waitFor('the send after the pause', () =>
      world.fake.postedTo(kari).some((p) => p.activity.text === 'Etter pausen'),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(world.fake.postedTo(kari).filter((p) => p.activity.text === 'Etter pausen')).toHaveLength(1);

    world.fake.failNext({ status: 404 }, { times: 5 });
    const gone = reply(kari.conversationId, 'Borte');
    await world.bus.enqueueOutbound(gone);
    await waitFor('the refused send', () => world.receipts.some((r) => r.replyId === gone.replyId));
    await sleep(200);
    expect(sendAttempts.filter((id) => id === gone.replyId)).toHaveLength(1);
    world.fake.reset();
  });
});

/** An adapter on its own server, with in-memory state and a bus that only records. */
async function standalone(settings: Partial<TeamsSettings>) {
  const jobs: InboundJob[] = [];
  const adapter: ChannelAdapter = teamsAdapter({
    settings: { ...world.settings, ...settings },
    bus: {
      enqueueInbound: async (job) => {
        jobs.push(job);
        return { duplicate: false };
      },
    },
    state: new MemoryTeamsState(),
  });
  const app: FastifyInstance = await buildServer({
    adapters: [adapter],
    log: createLogger('silent'),
    bodyLimit: BODY_LIMIT,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}${MESSAGES_PATH}`;
  return { adapter, app, url, jobs };
}

describe('Teams settings at work', () => {
  it('refuses activities from another tenant with 403 when TEAMS_TENANT_ID is set', async () => {
    const tenantId = randomUUID();
    const s = await standalone({ tenantId });
    try {
      const [other] = await world.fake.post(s.url, world.fake.message(kari, { text: 'Hei' }));
      expect(other?.status).toBe(403);
      const [own] = await world.fake.post(s.url, world.fake.message(kari, { text: 'Hei', tenantId }));
      expect(own?.status).toBe(200);
      expect(s.jobs).toHaveLength(1);
    } finally {
      await s.app.close();
    }
  });

  it('answers 503 while the signing keys cannot be fetched, so the channel retries', async () => {
    const s = await standalone({
      openIdMetadataUrl: 'http://127.0.0.1:1/v1/.well-known/openidconfiguration',
    });
    try {
      const [res] = await world.fake.post(s.url, world.fake.message(kari, { text: 'Hei' }));
      expect(res?.status).toBe(503);
      expect(s.jobs).toEqual([]);
    } finally {
      await s.app.close();
    }
  });

  it('fails every send as a configuration error when the token endpoint refuses the password', async () => {
    const s = await standalone({ appPassword: 'not-the-password' });
    try {
      await world.fake.post(s.url, world.fake.installed(kari));
      const err = await rejection(s.adapter.send(reply(kari.conversationId, 'Hei')));
      expect(err).toBeInstanceOf(PermanentError);
      expect(err).toMatchObject({
        code: ErrorCode.Config,
        context: { status: 401, error: 'invalid_client' },
      });
    } finally {
      await s.app.close();
    }
  });
});
