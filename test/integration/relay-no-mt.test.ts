import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import type { Thread, ThreadEntry } from '../../src/store/store.ts';
import { startApp } from '../helpers/app.ts';
import { type ChatMessage, sleep, WebClient } from '../helpers/processes.ts';

/**
 * Without a Translator key nothing is machine-translated, and both sides are told:
 * the teacher sees the parent's words as written, marked "not translated", and the
 * parent sees the teacher's Norwegian with a note saying it was not translated.
 */
let app: App & { url: string };
const client = new WebClient(() => app.url);

beforeAll(async () => {
  app = await startApp();
}, 60_000);

afterAll(async () => {
  await app?.close();
});

async function post(path: string, body: unknown) {
  const res = await fetch(`${app.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function until<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(30);
  }
}

async function say(session: string, text: string, choice?: string) {
  const id = crypto.randomUUID();
  await post(`/api/sessions/${session}/messages`, { id, text, ...(choice ? { choice } : {}) });
  await until('the reply', async () =>
    (await client.messages(session)).some((m) => m.id.startsWith(`web:${id}:`)) ? true : undefined,
  );
}

describe('the relay without machine translation', () => {
  it('tells the teacher and the parent that nothing was translated', async () => {
    const session = await client.session('amina');
    await say(session, 'Yaa waaye macallinka fasalka Yusuf?');
    await say(session, '', 'relay:start');
    await say(session, 'Yusuf wuu xanuunsan yahay maanta.');
    const thread = await until('the thread', async () => {
      const t = (await app.store.thread(`web:${session}`)) as Thread | null;
      return t?.entries.find((e) => e.kind === 'message') ? t : undefined;
    });
    const message = thread.entries.find((e) => e.kind === 'message') as ThreadEntry;
    expect(message.norwegian).toEqual({ text: 'Yusuf wuu xanuunsan yahay maanta.', translated: false });

    const staff = await post('/api/staff/sessions', { login: 'ingrid' });
    const reply = await post(
      `/api/staff/sessions/${staff.body.session}/threads/${encodeURIComponent(`web:${session}`)}/replies`,
      { id: crypto.randomUUID(), text: 'God bedring!' },
    );
    expect(reply.status).toBe(202);
    const received = await until('the reply at the parent', async () =>
      (await client.messages(session)).find((m): m is ChatMessage => m.from === 'staff'),
    );
    expect(received.text).toContain('God bedring!');
    // The Somali note that the message is shown in Norwegian, untranslated.
    expect(received.text).toContain('Lama turjumin');
  });
});
