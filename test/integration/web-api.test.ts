import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEBCHAT_ERRORS } from '../../src/i18n/locales.ts';
import { nextBotReply, startApp } from '../helpers/app.ts';
import { locales } from '../helpers/world.ts';

let app: Awaited<ReturnType<typeof startApp>>;
let session: string;

const post = (
  path: string,
  body: unknown,
  headers: Record<string, string> = { 'content-type': 'application/json' },
) =>
  fetch(`${app.url}${path}`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

beforeAll(async () => {
  app = await startApp({ now: () => new Date('2026-11-23T07:00:00Z') });
  const res = await post('/api/sessions', { login: 'amina' });
  expect(res.status).toBe(201);
  session = ((await res.json()) as { session: string }).session;
});
afterAll(async () => app?.close());

async function say(text: string, id = randomUUID()) {
  const before = (await (await fetch(`${app.url}/api/sessions/${session}/messages`)).json()) as {
    messages: Array<{ seq: number }>;
  };
  const after = Math.max(0, ...before.messages.map((m) => m.seq));
  const res = await post(`/api/sessions/${session}/messages`, { id, text });
  return { res, after };
}

describe('web chat API over HTTP', () => {
  it('serves the chat page', async () => {
    const res = await fetch(`${app.url}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<title>Skolebro</title>');
  });

  it('answers a Somali question about the kontaktlærer in Somali, naming the teacher', async () => {
    const { res, after } = await say('Yaa ah macalinka fasalka ee wiilkayga?');
    expect(res.status).toBe(202);
    const reply = await nextBotReply(app.url, session, after);
    expect(reply.lang).toBe('so');
    expect(reply.text).toContain('Ingrid Berg');
  });

  it('treats a retried POST with the same id as one message', async () => {
    const id = randomUUID();
    const first = await say('Hello', id);
    const again = await post(`/api/sessions/${session}/messages`, { id, text: 'Hello' });
    expect(((await again.json()) as { duplicate: boolean }).duplicate).toBe(true);
    await nextBotReply(app.url, session, first.after);
    await new Promise((r) => setTimeout(r, 100));
    const { messages } = (await (
      await fetch(`${app.url}/api/sessions/${session}/messages?after=${first.after}`)
    ).json()) as {
      messages: Array<{ from: string }>;
    };
    expect(messages.filter((m) => m.from === 'bot')).toHaveLength(1);
    expect(messages.filter((m) => m.from === 'user')).toHaveLength(1);
  });

  describe('bad input gets a clear answer, never a crash', () => {
    it('empty and whitespace-only messages: 400 with a message', async () => {
      for (const text of ['', '   \n\t ']) {
        const { res } = await say(text);
        expect(res.status).toBe(400);
        expect(((await res.json()) as { message: string }).message).toMatch(/Write a message/);
      }
    });

    it('a 10,000-character message is answered; 10,001 is refused with a reason', async () => {
      const long = `${'Hvem er kontaktlæreren? '.repeat(417)}`.slice(0, 10_000);
      const ok = await say(long);
      expect(ok.res.status).toBe(202);
      expect((await nextBotReply(app.url, session, ok.after)).text.length).toBeGreaterThan(0);
      const tooLong = await say(`${long}x`);
      expect(tooLong.res.status).toBe(400);
      expect(((await tooLong.res.json()) as { message: string }).message).toMatch(/10000/);
    });

    it('emoji-only, binary garbage and mixed-script text each get a reply', async () => {
      for (const text of [
        '😀🙏😀',
        '\u0000\u0001\uFFFD\uD7FF garbage \u0007',
        'Salam kontaktlærer مرحبا Привет 你好',
      ]) {
        const { res, after } = await say(text);
        expect(res.status).toBe(202);
        const reply = await nextBotReply(app.url, session, after);
        expect(reply.text.trim().length).toBeGreaterThan(0);
      }
    });

    it('malformed JSON: 400 saying so', async () => {
      const res = await post(`/api/sessions/${session}/messages`, '{"id": "x", "text": ');
      expect(res.status).toBe(400);
      expect(((await res.json()) as { message: string }).message).toMatch(/not valid JSON/);
    });

    it('wrong fields: 400 naming the field', async () => {
      const res = await post(`/api/sessions/${session}/messages`, { id: 'not-a-uuid', text: 'hi', extra: 1 });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { message: string }).message).toMatch(/id/);
    });

    it('an oversized body: 413', async () => {
      const res = await post(
        `/api/sessions/${session}/messages`,
        JSON.stringify({ id: randomUUID(), text: 'x'.repeat(200_000) }),
      );
      expect(res.status).toBe(413);
    });

    it('an unknown session: 404; an unknown demo login: 403', async () => {
      const res = await post(`/api/sessions/${randomUUID()}/messages`, { id: randomUUID(), text: 'hi' });
      expect(res.status).toBe(404);
      expect((await post('/api/sessions', { login: 'nobody' })).status).toBe(403);
    });

    it('serves the chat’s status texts for every error code in every language; the API keeps its codes', async () => {
      const { languages } = (await (await fetch(`${app.url}/api/languages`)).json()) as {
        languages: Array<{ code: string; dir: string; errors: Record<string, string> }>;
      };
      expect(languages.map((l) => l.code)).toEqual(locales.languages.map((l) => l.code));
      for (const l of languages) {
        expect(Object.keys(l.errors).sort(), l.code).toEqual([...WEBCHAT_ERRORS].sort());
        for (const code of WEBCHAT_ERRORS) expect(l.errors[code]?.trim(), `${l.code} ${code}`).toBeTruthy();
      }
      const so = languages.find((l) => l.code === 'so');
      expect(so?.errors.unknown_session).toBe(locales.ui.get('so')?.webchat.unknown_session);
      expect(so?.errors.unknown_session).not.toBe(
        languages.find((l) => l.code === 'en')?.errors.unknown_session,
      );
      expect(languages.find((l) => l.code === 'ar')?.dir).toBe('rtl');

      const res = await post(`/api/sessions/${randomUUID()}/messages`, { id: randomUUID(), text: 'hi' });
      expect(await res.json()).toEqual({ error: 'unknown_session', message: expect.any(String) });
    });

    it('the server still answers after all of that', async () => {
      const { res, after } = await say('hei');
      expect(res.status).toBe(202);
      expect((await nextBotReply(app.url, session, after)).text.length).toBeGreaterThan(0);
    });
  });
});
