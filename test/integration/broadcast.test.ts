import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTwilio } from '../../adapters/sms/fake-twilio.ts';
import { type App, createApp } from '../../src/app.ts';
import { MemoryAudience } from '../../src/broadcast/audience.ts';
import { broadcastConfig, createBroadcasts } from '../../src/broadcast/index.ts';
import { reportJob } from '../../src/broadcast/report.ts';
import { BroadcastService, type ProgressView } from '../../src/broadcast/service.ts';
import { RedisBroadcastStore } from '../../src/broadcast/store.ts';
import { loadBroadcastTexts } from '../../src/broadcast/texts.ts';
import { loadConfig } from '../../src/config.ts';
import type { DirectoryData } from '../../src/directory/model.ts';
import { createLogger } from '../../src/log.ts';
import { queueStats } from '../../src/queue/bullmq.ts';
import type { JobBus } from '../../src/queue/bus.ts';
import { type FakeTranslator, startFakeTranslator } from '../helpers/fake-translator.ts';
import { sleep } from '../helpers/processes.ts';
import { startRedis, type TestRedis, uniquePrefix } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait.ts';
import { data as demo, locales, nlu, ROOT } from '../helpers/world.ts';

/**
 * Broadcasts through the real app: createApp on a private redis-server (BullMQ and the
 * Redis store), the demo school, the fake Translator and the fake Twilio over HTTP. The
 * staff API is the one the admin page and the CLI use.
 */

const PUBLIC = 'https://skolebro.example';
const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
const TOKEN = 'sms-secret-token';
const PHONES = {
  amina: '+4791000001',
  fatima: '+4791000002',
  omar: '+4791000003',
  olena: '+4791000008',
  arash: '+4791000010',
  ahmed: '+4791000099',
};

/**
 * The demo school plus: Yusuf (3A) has a second guardian, Ahmed, who reads Arabic (his
 * mother Amina reads Somali); Arash has no web login (so an SMS opt-out leaves him nothing).
 */
const data: DirectoryData = {
  ...demo,
  guardians: [
    ...demo.guardians.map((g) => (g.id === 'g-arash' ? { ...g, webLogin: undefined } : g)),
    {
      id: 'g-ahmed',
      schoolId: 'bjerkedalen',
      name: 'Ahmed Hassan',
      preferredLang: 'ar',
      phone: PHONES.ahmed,
    },
  ],
  pupils: demo.pupils.map((p) => (p.id === 'p-yusuf' ? { ...p, guardianIds: ['g-amina', 'g-ahmed'] } : p)),
};
const CLASS_3A = ['g-amina', 'g-ahmed', 'g-fatima', 'g-olena', 'g-arash'];

let redis: TestRedis;
let client: Redis;
let mt: FakeTranslator;
let twilio: FakeTwilio;
let app: App;
let url: string;
let prefix: string;
/**
 * The broadcast clock: real time moved to a given Oslo time of day, so that quiet hours
 * (21:00–07:00) hold SMS only where a test wants them to, whenever the suite runs.
 */
const shifted = (to: string) => {
  const offset = Date.parse(to) - Date.now();
  return () => new Date(Date.now() + offset);
};
const DAYTIME = '2025-09-01T10:00:00Z'; // 12:00 in Oslo
let clock = shifted(DAYTIME);

beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.url);
  client.on('error', () => {});
  mt = await startFakeTranslator();
  twilio = await FakeTwilio.start({
    accountSid: ACCOUNT_SID,
    authToken: TOKEN,
    route: (u) => u.replace(PUBLIC, url),
  });
  prefix = uniquePrefix('broadcast');
  const env = {
    LOG_LEVEL: 'silent',
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: prefix,
    TRANSLATOR_ENDPOINT: mt.url,
    TRANSLATOR_KEY: mt.key,
    SMS_ACCOUNT_SID: ACCOUNT_SID,
    SMS_AUTH_TOKEN: TOKEN,
    SMS_FROM: '+4759440000',
    SMS_API_BASE_URL: twilio.url,
    PUBLIC_BASE_URL: PUBLIC,
    // Short, so that the fallback on a missing receipt shows within the test.
    BROADCAST_RECEIPT_TIMEOUT_MINUTES: '0.1',
  };
  const config = { ...loadConfig(env, ROOT), LOCALES_DIR: join(ROOT, 'locales') };
  // The broadcast clock drives the whole app (quiet hours, schedules, receipt timeouts).
  app = await createApp(
    config,
    { locales, nlu: nlu(), directory: data },
    { log: createLogger(process.env.BC_DEBUG ? 'warn' : 'silent'), now: () => clock() },
  );
  await app.server.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(app.server.server.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await app?.close();
  client?.disconnect();
  await twilio?.close();
  await mt?.close();
  await redis?.stop();
}, 30_000);

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text,
  };
}

async function signIn(login: string): Promise<string> {
  const res = await call('POST', '/api/staff/sessions', { login });
  expect(res.status).toBe(201);
  return res.body.session as string;
}

const sentTo = (phone: string) => twilio.sent.filter((m) => m.to === phone);
const inbox = async (login: string) => app.store.messagesAfter(`web:inbox:${login}`, 0);
const progress = async (session: string, id: string) =>
  (await call('GET', `/api/staff/sessions/${session}/broadcasts/${id}`)).body as ProgressView;

describe('broadcasts through the running app', () => {
  it('must-show 1, 2, 5: a class broadcast reaches each guardian of the class once, in their language, on their channel', async () => {
    // Arash texts STOP: opted out of SMS, and with no other channel he gets nothing.
    const [stop] = await twilio.post(
      `${PUBLIC}/webhooks/sms`,
      twilio.inboundParams({ from: PHONES.arash, body: 'STOP' }),
    );
    expect(stop?.status).toBe(200);
    // Olena's number is refused by the platform: she gets it on her next channel (web).
    twilio.rejectNumber(PHONES.olena, 21211);
    mt.reset();

    const nina = await signIn('nina');
    const text = 'Husk turdag på fredag, ta med gode sko og drikkeflaske.';
    const draft = await call('POST', `/api/staff/sessions/${nina}/broadcasts`, {
      audience: { kind: 'class', id: 'bjerkedalen-3a' },
      text,
    });
    expect(draft.status).toBe(201);
    const { preview, translation, id } = draft.body;
    // Must-show 5: one request, billed text length × distinct languages (so, ar, ur, uk, fa).
    expect(translation.languages.sort()).toEqual(['ar', 'fa', 'so', 'uk', 'ur']);
    expect(mt.stats.requests).toBe(1);
    expect(mt.stats.billedCharacters).toBe(text.length * 5);
    expect(translation.characters).toBe(text.length * 5);
    expect(preview).toMatchObject({ guardians: 5, families: 4, optedOut: 1, smsOptedOut: 1, unreachable: 0 });
    const ar = preview.languages.find((l: { lang: string }) => l.lang === 'ar');
    expect(ar).toMatchObject({
      guardians: 1,
      channels: { sms: 1 },
      translated: true,
      sms: { messages: 1, segmentsPerMessage: 1 },
    });
    expect(ar.text.startsWith('[ar] ')).toBe(true);
    expect(preview.channels.find((c: { channel: string }) => c.channel === 'sms')).toMatchObject({
      messages: 4,
    });

    // A hand correction of the Somali text wins over MT.
    const fixed = await call('PUT', `/api/staff/sessions/${nina}/broadcasts/${id}/texts/so`, {
      text: 'Xusuusnow socdaalka Jimcaha.',
    });
    expect(fixed.status).toBe(200);
    expect(fixed.body.preview.languages.find((l: { lang: string }) => l.lang === 'so')).toMatchObject({
      edited: true,
    });
    const sent = await call('POST', `/api/staff/sessions/${nina}/broadcasts/${id}/send`, {});
    expect(sent.status).toBe(202);

    const messages = await waitFor('the SMS and the web fallback', async () =>
      sentTo(PHONES.amina).length &&
      sentTo(PHONES.ahmed).length &&
      sentTo(PHONES.fatima).length &&
      (await inbox('olena')).length
        ? true
        : undefined,
    );
    expect(messages).toBe(true);
    for (const m of twilio.sent) {
      const sid = m.sid;
      await twilio.postStatus(sid, 'delivered');
    }
    const done = await waitFor('every guardian settled', async () => {
      const p = await progress(nina, id);
      return p.byStatus.delivered === 4 ? p : undefined;
    });
    await sleep(500);
    expect(sentTo(PHONES.amina).map((m) => m.body)).toEqual(['Xusuusnow socdaalka Jimcaha.']);
    expect(sentTo(PHONES.ahmed).map((m) => m.body)).toEqual([`[ar] ${text}`]);
    expect(sentTo(PHONES.fatima).map((m) => m.body)).toEqual([`[ur] ${text}`]);
    expect(sentTo(PHONES.arash)).toEqual([]);
    expect(sentTo(PHONES.olena)).toEqual([]);
    expect((await inbox('olena')).map((m) => m.text)).toEqual([`[uk] ${text}`]);
    // Nobody outside 3A: only the three SMS and Olena's web message went out.
    expect(twilio.sent).toHaveLength(3);
    for (const login of ['omar', 'kari', 'anna', 'john', 'amina']) expect(await inbox(login)).toEqual([]);
    expect(done.byStatus).toEqual({ delivered: 4, 'opted-out': 1 });
    expect(done.byChannel).toMatchObject({
      sms: { delivered: 3 },
      web: { delivered: 1 },
      none: { 'opted-out': 1 },
    });
    expect(done.notReached.map((r) => [r.guardianId, r.reason])).toEqual([['g-arash', 'opted-out']]);
    expect(done.guardians).toBe(CLASS_3A.length);
    const csv = await call('GET', `/api/staff/sessions/${nina}/broadcasts/${id}/not-reached.csv`);
    expect(csv.body).toContain('g-arash,Arash Karimi,fa,bjerkedalen-3a,,opted-out,opted-out');
    // The preview and progress asked again: no new translation billed.
    expect(mt.stats.requests).toBe(1);
    twilio.reset();
  }, 60_000);

  it('must-show 4: an FAU member of one class cannot broadcast to the whole school; refusals are explained', async () => {
    const nina = await signIn('nina');
    const school = await call('POST', `/api/staff/sessions/${nina}/broadcasts`, {
      audience: { kind: 'school', id: 'bjerkedalen' },
      text: 'Til alle foreldre.',
    });
    expect(school.status).toBe(403);
    expect(school.body).toMatchObject({ error: 'broadcast_refused', reason: 'fauScope' });
    expect(school.body.message).toBe('Som FAU-medlem kan du bare sende til klassen bjerkedalen-3a.');
    const trinn = await call('POST', `/api/staff/sessions/${nina}/broadcasts`, {
      audience: { kind: 'trinn', id: '3' },
      text: 'Til 3. trinn.',
    });
    expect(trinn.status).toBe(403);
    const ingrid = await signIn('ingrid');
    const other = await call('POST', `/api/staff/sessions/${ingrid}/broadcasts`, {
      audience: { kind: 'class', id: 'bjerkedalen-3b' },
      text: 'Hei',
    });
    expect(other.body).toMatchObject({ reason: 'notYourClass' });
    const mona = await signIn('mona');
    expect(
      (
        await call('POST', `/api/staff/sessions/${mona}/broadcasts`, {
          audience: { kind: 'class', id: 'bjerkedalen-3a' },
          text: 'Hei',
        })
      ).body,
    ).toMatchObject({ reason: 'noRole' });
    expect(twilio.sent).toEqual([]);
  });

  it('must-show 2 (no receipt): an SMS never confirmed is followed by the next channel after the timeout', async () => {
    const sofie = await signIn('sofie');
    const draft = await call('POST', `/api/staff/sessions/${sofie}/broadcasts`, {
      audience: { kind: 'class', id: 'bjerkedalen-6a' },
      text: 'Foreldremøte tirsdag kl. 18.',
    });
    expect(draft.status).toBe(201);
    // The school term is kept and glossed, not mistranslated.
    const en = draft.body.preview.languages.find((l: { lang: string }) => l.lang === 'en');
    expect(en.text).toContain('Foreldremøte');
    expect(en.text).not.toContain('parents meeting');
    await call('POST', `/api/staff/sessions/${sofie}/broadcasts/${draft.body.id}/send`, {});
    // Five guardians on SMS; only Omar's is confirmed.
    await waitFor('five SMS', () => (twilio.sent.length === 5 ? true : undefined));
    const omar = sentTo(PHONES.omar)[0];
    if (omar) await twilio.postStatus(omar.sid, 'delivered');
    const p = await waitFor(
      'the web fallback of the four unconfirmed',
      async () => {
        const x = await progress(sofie, draft.body.id);
        return x.byChannel.web?.delivered === 4 ? x : undefined;
      },
      30_000,
    );
    expect(p.byChannel.sms).toEqual({ delivered: 1 });
    expect(await inbox('omar')).toEqual([]);
    for (const login of ['fatima', 'kari', 'linh', 'john']) expect(await inbox(login)).toHaveLength(1);
    expect(twilio.sent).toHaveLength(5);
    twilio.reset();
  }, 60_000);

  it('schedules for later, and cancel before the time stops it', async () => {
    const per = await signIn('per');
    const draft = await call('POST', `/api/staff/sessions/${per}/broadcasts`, {
      audience: { kind: 'trinn', id: '3' },
      text: 'Skolen stenger kl. 12 på fredag.',
    });
    const inHour = new Date(clock().getTime() + 3600_000).toISOString();
    const scheduled = await call('POST', `/api/staff/sessions/${per}/broadcasts/${draft.body.id}/send`, {
      sendAt: inHour,
    });
    expect(scheduled.body).toMatchObject({ status: 'scheduled', sendAt: inHour });
    const cancelled = await call('POST', `/api/staff/sessions/${per}/broadcasts/${draft.body.id}/cancel`);
    expect(cancelled.body.status).toBe('cancelled');
    // Cancelled is final: it cannot be sent again.
    expect(
      (await call('POST', `/api/staff/sessions/${per}/broadcasts/${draft.body.id}/send`, {})).status,
    ).toBe(409);

    const soon = await call('POST', `/api/staff/sessions/${per}/broadcasts`, {
      audience: { kind: 'class', id: 'bjerkedalen-3b' },
      text: 'Husk gymtøy.',
      sendAt: new Date(clock().getTime() + 1500).toISOString(),
    });
    await call('POST', `/api/staff/sessions/${per}/broadcasts/${soon.body.id}/send`, {});
    expect((await progress(per, soon.body.id)).status).toBe('scheduled');
    await waitFor('the scheduled SMS', () => (twilio.sent.length === 4 ? true : undefined));
    await sleep(500);
    expect(twilio.sent).toHaveLength(4); // 3B only; the cancelled trinn broadcast sent nothing
    twilio.reset();
  }, 30_000);

  it('holds SMS through quiet hours (21:00–07:00 Oslo) and sends nothing after a cancel', async () => {
    clock = shifted('2025-09-01T20:30:00Z'); // 22:30 in Oslo
    try {
      const per = await signIn('per');
      const draft = await call('POST', `/api/staff/sessions/${per}/broadcasts`, {
        audience: { kind: 'class', id: 'bjerkedalen-3b' },
        text: 'Husk foreldremøte.',
      });
      expect(Date.parse(draft.body.preview.smsDeferredUntil) - clock().getTime()).toBeGreaterThan(
        8.4 * 3600_000,
      );
      await call('POST', `/api/staff/sessions/${per}/broadcasts/${draft.body.id}/send`, {});
      const delayed = await waitFor('four delayed SMS jobs', async () => {
        const stats = await queueStats(client, {
          prefix: `{${prefix}}`,
          partitions: 16,
          outboundPartitions: 16,
        });
        const n = stats.queues
          .filter((q) => q.queue.startsWith('outbound-sms'))
          .reduce((s, q) => s + q.delayed, 0);
        return n >= 4 ? n : undefined;
      });
      expect(delayed).toBe(4);
      await sleep(300);
      expect(twilio.sent).toEqual([]);
      const cancelled = await call('POST', `/api/staff/sessions/${per}/broadcasts/${draft.body.id}/cancel`);
      expect(cancelled.body.status).toBe('cancelled');
    } finally {
      clock = shifted(DAYTIME);
    }
  }, 30_000);

  it('tells the kontaktlærer which families of the class were not reached', async () => {
    const thread = await waitFor(
      "Ingrid's report",
      async () => {
        const threads = await app.store.threadsFor('t-ingrid');
        const report = threads.find((t) => t.meta.id.startsWith('web:broadcast-report:'));
        return report ? app.store.thread(report.meta.id) : undefined;
      },
      30_000,
    );
    const text = thread?.entries[0]?.norwegian?.text ?? '';
    expect(text).toContain('Arash Karimi');
    expect(text).not.toContain('Amina');
  }, 40_000);
});

/** The demo register, with `guardians` out of reach for one call after `failAfter` more. */
class FlakyRegister extends MemoryAudience {
  failAfter: number | undefined;
  override async guardians(ids: readonly string[]) {
    if (this.failAfter !== undefined && this.failAfter-- === 0) {
      this.failAfter = undefined;
      throw new Error('register down');
    }
    return super.guardians(ids);
  }
}

describe('a broadcast whose fan-out gives up', () => {
  it('reports the families never sent to their kontaktlærer and in the CSV, beside those reached', async () => {
    // The fan-out runs here, on the app's Redis, queues and threads, so that its register
    // can drop out mid-way; the app's worker sends and tracks, and its API reads progress.
    const register = new FlakyRegister(data);
    const bus: JobBus = {
      enqueueInbound: (job) => app.bus.enqueueInbound(job),
      enqueueOutbound: (job) => app.bus.enqueueOutbound(job),
      enqueueOutboundBulk: (jobs, opts) => app.bus.enqueueOutboundBulk(jobs, opts),
      schedule: (job, delayMs) => app.bus.schedule(job, delayMs),
      enqueueBroadcast: async () => {}, // run by hand below
      start: () => {},
      close: async () => {},
    };
    const fanOut = new BroadcastService({
      store: new RedisBroadcastStore(client, { prefix: `${prefix}:`, retentionDays: 1 }),
      source: register,
      bus,
      translator: app.worker.translator,
      threads: app.store,
      channels: () =>
        [...app.worker.adapters.values()].map((a) => ({
          name: a.name,
          capabilities: { receipts: a.capabilities.receipts },
        })),
      settings: { receiptTimeoutMs: 6000, smsSegmentsPerSecond: 10, batch: 2, pricePerSegmentNok: 0.6 },
      texts: loadBroadcastTexts(join(ROOT, 'locales')),
      log: createLogger('silent'),
      now: () => clock(),
      newId: () => `failed${Date.now().toString(36)}`,
    });
    const ingrid = await fanOut.sender('t-ingrid');
    if (!ingrid) throw new Error('no Ingrid');
    const draft = await fanOut.draft(ingrid, {
      audience: { kind: 'class', id: 'bjerkedalen-3a' },
      text: 'Hei',
    });
    if (!draft.ok) throw new Error(draft.message);
    const id = draft.value.id;
    await fanOut.send(ingrid, id);
    // 3A in batches of 2: Amina and Ahmed go, then the register drops out; Fatima, Olena
    // and Arash never get an entry.
    register.failAfter = 1;
    await expect(fanOut.fanOut({ id })).rejects.toThrow('register down');
    await fanOut.fanOutFailed({ id }, 'register down');

    await waitFor('the first batch on SMS', () =>
      sentTo(PHONES.amina).length && sentTo(PHONES.ahmed).length ? true : undefined,
    );
    for (const m of [...sentTo(PHONES.amina), ...sentTo(PHONES.ahmed)])
      await twilio.postStatus(m.sid, 'delivered');
    const session = await signIn('ingrid');
    const settled = await waitFor('a settled progress', async () => {
      const p = await progress(session, id);
      return p.settled ? p : undefined;
    });
    expect(settled.status).toBe('failed');
    expect(settled.byStatus).toEqual({ delivered: 2, failed: 3 });
    expect(settled.notReached.map((r) => [r.guardianId, r.channel, r.reason])).toEqual([
      ['g-fatima', null, 'not-sent'],
      ['g-olena', null, 'not-sent'],
      ['g-arash', null, 'not-sent'],
    ]);
    const csv = await call('GET', `/api/staff/sessions/${session}/broadcasts/${id}/not-reached.csv`);
    expect(csv.body).toContain('g-fatima,Fatima Khan,ur,bjerkedalen-3a,,failed,not-sent');

    // The report round the fan-out scheduled, run now rather than in 11 s.
    await fanOut.timer(reportJob(id, 0));
    const report = await app.store.thread(`web:broadcast-report:${id}:t-ingrid`);
    const text = report?.entries[0]?.norwegian?.text ?? '';
    for (const name of ['Fatima Khan', 'Olena Kovalenko', 'Arash Karimi']) expect(text).toContain(`${name} `);
    expect(text).toContain('ikke sendt');
    expect(text).not.toContain('Amina');
    expect(text).not.toContain('Ahmed');
    expect(sentTo(PHONES.fatima)).toEqual([]);
    twilio.reset();
  }, 30_000);
});

describe('broadcasts without Redis (npm start: InProcessBus, memory store)', () => {
  it('reaches the web inboxes of a class through the in-process bus', async () => {
    const config = { ...loadConfig({ LOG_LEVEL: 'silent' }, ROOT), LOCALES_DIR: join(ROOT, 'locales') };
    const local = await createApp(
      config,
      { locales, nlu: nlu(), directory: data },
      { log: createLogger('silent') },
    );
    try {
      const broadcasts = createBroadcasts({
        config: { ...config, ...broadcastConfig({}) },
        bus: local.bus,
        store: local.store,
        data,
        translator: local.worker.translator,
        adapters: [...local.worker.adapters.values()],
        log: createLogger('silent'),
      });
      local.worker.broadcasts = broadcasts.hooks;
      const ingrid = await broadcasts.service.sender('t-ingrid');
      if (!ingrid) throw new Error('no Ingrid');
      const draft = await broadcasts.service.draft(ingrid, {
        audience: { kind: 'class', id: 'bjerkedalen-3a' },
        text: 'Hei',
      });
      if (!draft.ok) throw new Error(draft.message);
      // No SMS here: Ahmed and Arash (phone only) are unreachable; the others have web logins.
      expect(draft.value.preview).toMatchObject({ guardians: 5, unreachable: 2 });
      await broadcasts.service.send(ingrid, draft.value.id);
      const inboxes = await waitFor('three web messages', async () => {
        const all = await Promise.all(
          ['amina', 'fatima', 'olena'].map((l) => local.store.messagesAfter(`web:inbox:${l}`, 0)),
        );
        return all.every((m) => m.length === 1) ? all : undefined;
      });
      expect(inboxes.flat().map((m) => m.text)).toEqual(['Hei', 'Hei', 'Hei']);

      // The parent's web chat shows it: announcements come with the chat's messages.
      await local.server.listen({ port: 0, host: '127.0.0.1' });
      const base = `http://127.0.0.1:${(local.server.server.address() as AddressInfo).port}`;
      const session = (await (
        await fetch(`${base}/api/sessions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ login: 'amina' }),
        })
      ).json()) as { session: string };
      const seen = (await (await fetch(`${base}/api/sessions/${session.session}/messages`)).json()) as {
        announcements: Array<{ text: string; seq: number }>;
      };
      expect(seen.announcements.map((m) => m.text)).toEqual(['Hei']);
      const later = (await (
        await fetch(
          `${base}/api/sessions/${session.session}/messages?inboxAfter=${seen.announcements[0]?.seq}`,
        )
      ).json()) as { announcements: unknown[] };
      expect(later.announcements).toEqual([]);
    } finally {
      await local.close();
    }
  });
});
