import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import type { Thread, ThreadEntry } from '../../src/store/store.ts';
import { type FakeTranslator, startFakeTranslator } from '../helpers/fake-translator.ts';
import { type ChatMessage, sleep, WebClient } from '../helpers/processes.ts';
import { startRedis, type TestRedis, uniquePrefix } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait.ts';
import { data, locales, nlu, ROOT } from '../helpers/world.ts';

/**
 * The parent <-> staff relay end to end: the web chat and the staff inbox over HTTP,
 * BullMQ and the store on a private redis-server, and the fake Translator over loopback.
 */

let redis: TestRedis;
let mt: FakeTranslator;
let app: App;
let url: string;
const parent = new WebClient(() => url);

// A Wednesday morning in Oslo, running at real speed: the escalation clock counts school time.
const BASE = Date.parse('2026-11-25T09:00:00.000Z');
const started = Date.now();
const now = () => new Date(BASE + (Date.now() - started));

beforeAll(async () => {
  redis = await startRedis();
  mt = await startFakeTranslator();
  const config = loadConfig(
    {
      LOG_LEVEL: 'silent',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniquePrefix('relay'),
      TRANSLATOR_ENDPOINT: mt.url,
      TRANSLATOR_KEY: mt.key,
      // 1.2 s of school time.
      ESCALATE_AFTER_MINUTES: '0.02',
    },
    ROOT,
  );
  app = await createApp(
    { ...config, LOCALES_DIR: join(ROOT, 'locales') },
    { locales, nlu: nlu(), directory: data },
    { log: createLogger('silent'), now },
  );
  await app.server.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(app.server.server.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await app?.close();
  await mt?.close();
  await redis?.stop();
}, 30_000);

async function post(path: string, body: unknown) {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function staffSession(login: string) {
  const { status, body } = await post('/api/staff/sessions', { login });
  expect(status).toBe(201);
  return body.session as string;
}

async function threads(session: string) {
  const res = await fetch(`${url}/api/staff/sessions/${session}/threads`);
  return ((await res.json()) as { threads: Array<{ id: string; child: { name: string } | null }> }).threads;
}

async function openThread(session: string, id: string) {
  const res = await fetch(`${url}/api/staff/sessions/${session}/threads/${encodeURIComponent(id)}`);
  return {
    status: res.status,
    body: (await res.json()) as { entries: ThreadEntry[]; thread: { lang: string } },
  };
}

/** Sends a message and waits until the bot has answered it; returns the history after. */
async function say(session: string, text: string, choice?: string): Promise<ChatMessage[]> {
  const id = crypto.randomUUID();
  const res = await post(`/api/sessions/${session}/messages`, { id, text, ...(choice ? { choice } : {}) });
  expect(res.status).toBe(202);
  return waitFor(`a reply to ${text}`, async () => {
    const history = await parent.messages(session);
    return history.some((m) => m.id.startsWith(`web:${id}:`)) ? history : undefined;
  });
}

/** A Somali parent asks for the kontaktlærer and passes a message on. */
async function somaliParentWrites(text: string) {
  const session = await parent.session('amina');
  await say(session, 'Yaa waaye macallinka fasalka Yusuf?');
  await say(session, '', 'relay:start');
  await say(session, text);
  return session;
}

describe('parent <-> staff relay through Redis and the Translator', () => {
  let amina: string;
  let threadId: string;
  const ingrid = { session: '' };

  it('brings a Somali message to the kontaktlærer in Norwegian, with the original', async () => {
    amina = await somaliParentWrites('Macallin, Yusuf wuu xanuunsan yahay berri.');
    ingrid.session = await staffSession('ingrid');
    const list = await waitFor('the thread in the inbox', async () => {
      const t = await threads(ingrid.session);
      return t.length > 0 ? t : undefined;
    });
    expect(list).toHaveLength(1);
    threadId = (list[0] as { id: string }).id;
    expect(list[0]?.child?.name).toBe('Yusuf');
    const { status, body } = await openThread(ingrid.session, threadId);
    expect(status).toBe(200);
    expect(body.thread.lang).toBe('so');
    const message = body.entries.find((e) => e.kind === 'message') as ThreadEntry;
    expect(message.original).toEqual({ text: 'Macallin, Yusuf wuu xanuunsan yahay berri.', lang: 'so' });
    expect(message.norwegian).toEqual({
      text: '[nb] Macallin, Yusuf wuu xanuunsan yahay berri.',
      translated: true,
    });
    const request = mt.requests.find((r) => r.texts.some((t) => t.includes('Yusuf wuu')));
    expect(request?.query).toMatchObject({ to: ['nb'], from: 'so' });
  });

  it("brings the teacher's Norwegian reply to the parent in Somali, glossary terms kept, and bills it once", async () => {
    const text = 'Takk for beskjeden. Vi snakkes på foreldremøtet, hilsen kontaktlærer Ingrid.';
    const before = mt.stats.billedCharacters;
    const first = await post(
      `/api/staff/sessions/${ingrid.session}/threads/${encodeURIComponent(threadId)}/replies`,
      {
        id: crypto.randomUUID(),
        text,
      },
    );
    expect(first.status).toBe(202);
    const reply = await waitFor('the reply at the parent', async () => {
      const history = await parent.messages(amina);
      return history.find((m) => m.from === 'staff');
    });
    expect(reply.lang).toBe('so');
    expect(reply.text).toContain('Ingrid Berg');
    // The fake's marker; the first letter of a paragraph is capitalised.
    expect(reply.text).toMatch(/\[so\] Takk for beskjeden/i);
    // Protected by the glossary: not "parents meeting" / "contact teacher".
    expect(reply.text).toContain('foreldremøtet');
    expect(reply.text).not.toMatch(/parents meeting|contact teacher/);
    expect(reply.original).toEqual({ text, lang: 'nb', label: 'Muuji qoraalka asalka ah ee af-Noorweji' });
    const request = mt.requests.find(
      (r) => r.query.to.includes('so') && r.raw.includes('Takk for beskjeden'),
    );
    expect(request?.query).toMatchObject({ from: 'nb', textType: 'html' });
    expect(request?.raw).toContain('notranslate');
    const billed = mt.stats.billedCharacters - before;
    expect(billed).toBeGreaterThan(0);

    // The same words again: served from the cache, nothing billed.
    const requests = mt.stats.requests;
    await post(`/api/staff/sessions/${ingrid.session}/threads/${encodeURIComponent(threadId)}/replies`, {
      id: crypto.randomUUID(),
      text,
    });
    await waitFor('the second reply', async () => {
      const history = await parent.messages(amina);
      return history.filter((m) => m.from === 'staff').length === 2 ? true : undefined;
    });
    expect(mt.stats.billedCharacters - before).toBe(billed);
    expect(mt.stats.requests).toBe(requests);
  });

  it('keeps a teacher of another class out of the thread', async () => {
    const lars = await staffSession('lars');
    expect(await threads(lars)).toEqual([]);
    expect((await openThread(lars, threadId)).status).toBe(403);
    const refused = await post(
      `/api/staff/sessions/${lars}/threads/${encodeURIComponent(threadId)}/replies`,
      {
        id: crypto.randomUUID(),
        text: 'Hei fra en annen lærer',
      },
    );
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe('not_your_thread');
    await sleep(300);
    const history = await parent.messages(amina);
    expect(history.filter((m) => m.from === 'staff')).toHaveLength(2);
  });

  it('delays, but neither loses nor doubles, a message during a 429 storm', async () => {
    mt.throttle(4, { retryAfterSeconds: 1 });
    const session = await somaliParentWrites('Fadlan i soo wac, waxaan qabaa su’aal ku saabsan AKS.');
    const entry = await waitFor('the relayed message', async () => {
      const thread = (await app.store.thread(`web:${session}`)) as Thread | null;
      return thread?.entries.find((e) => e.kind === 'message');
    });
    expect(entry.norwegian?.translated).toBe(true);
    expect(mt.requests.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(4);
    await sleep(500);
    const thread = (await app.store.thread(`web:${session}`)) as Thread;
    expect(thread.entries.filter((e) => e.kind === 'message')).toHaveLength(1);
  });

  it('alerts kontaktlærer and rektor at once about bullying, and the office when nobody answers', async () => {
    const session = await parent.session('amina');
    const history = await say(session, 'Yusuf waa la bullyeeyaa dugsiga maalin walba, wuu baqayaa.');
    expect(history.some((m) => m.from === 'bot')).toBe(true);
    const key = `web:${session}`;
    const thread = await waitFor('the safety report', async () => {
      const t = await app.store.thread(key);
      return t?.entries.some((e) => e.kind === 'safety') ? t : undefined;
    });
    expect(thread.staffIds).toEqual(['s-per', 't-ingrid']);
    expect(thread.escalations).toHaveLength(1);
    expect(await app.store.threadsFor('s-kontor')).toEqual([]);
    const escalated = await waitFor(
      'the escalation to the office',
      async () => {
        const t = await app.store.thread(key);
        return t?.entries.find((e) => e.kind === 'escalated');
      },
      15_000,
    );
    expect(escalated.to).toEqual(['s-kontor']);
    expect((await app.store.threadsFor('s-kontor')).map((t) => t.meta.id)).toEqual([key]);
  });

  it('does not escalate a safety report that the kontaktlærer opened in time', async () => {
    const session = await parent.session('amina');
    await say(session, 'Yusuf waa la bullyeeyaa dugsiga maalin walba, wuu baqayaa.');
    const key = `web:${session}`;
    await waitFor('the safety report', async () => {
      const t = await app.store.thread(key);
      return t?.entries.some((e) => e.kind === 'safety') ? true : undefined;
    });
    // Polling the thread is not taking it up; opening it in the page (ack) is.
    expect((await openThread(ingrid.session, key)).status).toBe(200);
    const listed = await fetch(`${url}/api/staff/sessions/${ingrid.session}/threads`);
    const mine = (
      (await listed.json()) as { threads: Array<{ id: string; flags: string[]; openEscalations: number }> }
    ).threads.find((t) => t.id === key);
    expect(mine).toMatchObject({ flags: ['safety'], openEscalations: 1 });
    const ack = await post(
      `/api/staff/sessions/${ingrid.session}/threads/${encodeURIComponent(key)}/ack`,
      {},
    );
    expect(ack.body).toEqual({ acknowledged: 1 });
    await sleep(2500);
    const thread = (await app.store.thread(key)) as Thread;
    expect(thread.escalations[0]).toMatchObject({ ackedBy: 't-ingrid' });
    expect(thread.entries.some((e) => e.kind === 'escalated')).toBe(false);
  });
});
