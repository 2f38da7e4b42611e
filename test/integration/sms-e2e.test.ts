import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTwilio } from '../../adapters/sms/fake-twilio.ts';
import { type App, createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import type { Thread } from '../../src/store/store.ts';
import { type FakeTranslator, startFakeTranslator } from '../helpers/fake-translator.ts';
import { sleep } from '../helpers/processes.ts';
import { startRedis, type TestRedis, uniquePrefix } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait.ts';
import { data, locales, nlu, ROOT } from '../helpers/world.ts';

/**
 * A parent on SMS, end to end: a signed Twilio webhook into the running app, BullMQ
 * and the store on a private redis-server, the reply out through the fake Twilio, and a
 * teacher's Norwegian answer from the staff inbox back to the parent's phone in Somali.
 */

const PUBLIC = 'https://skolebro.example';
const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
const TOKEN = 'sms-secret-token';
const AMINA = '+4791000001';

let redis: TestRedis;
let mt: FakeTranslator;
let twilio: FakeTwilio;
let app: App;
let url: string;

beforeAll(async () => {
  redis = await startRedis();
  mt = await startFakeTranslator();
  twilio = await FakeTwilio.start({
    accountSid: ACCOUNT_SID,
    authToken: TOKEN,
    route: (u) => u.replace(PUBLIC, url),
  });
  const config = loadConfig(
    {
      LOG_LEVEL: 'silent',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniquePrefix('sms-e2e'),
      TRANSLATOR_ENDPOINT: mt.url,
      TRANSLATOR_KEY: mt.key,
      SMS_ACCOUNT_SID: ACCOUNT_SID,
      SMS_AUTH_TOKEN: TOKEN,
      SMS_FROM: '+4759440000',
      SMS_API_BASE_URL: twilio.url,
      PUBLIC_BASE_URL: PUBLIC,
    },
    ROOT,
  );
  app = await createApp(
    { ...config, LOCALES_DIR: join(ROOT, 'locales') },
    { locales, nlu: nlu(), directory: data },
    { log: createLogger('silent') },
  );
  await app.server.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(app.server.server.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await app?.close();
  await twilio?.close();
  await mt?.close();
  await redis?.stop();
}, 30_000);

async function text(from: string, body: string, times = 1) {
  const responses = await twilio.post(`${PUBLIC}/webhooks/sms`, twilio.inboundParams({ from, body }), {
    times,
  });
  for (const r of responses) expect(r.status).toBe(200);
}

const sentTo = (phone: string) => twilio.sent.filter((m) => m.to === phone);

describe('a parent on SMS, through the whole pipeline', () => {
  it('answers a Somali text in Somali, once even when Twilio delivers it three times', async () => {
    await text(AMINA, 'Yaa waaye macallinka fasalka Yusuf?', 3);
    const reply = await waitFor('the SMS reply', () => sentTo(AMINA)[0]);
    expect(reply.body).toContain('Ingrid Berg');
    expect(reply.body).toMatch(/macallinka/);
    // Buttons become numbered options on SMS.
    expect(reply.body).toMatch(/1\)/);
    await sleep(800);
    expect(sentTo(AMINA)).toHaveLength(1);
  });

  it("relays a message to the kontaktlærer and brings the teacher's Norwegian answer back by SMS in Somali", async () => {
    const options = sentTo(AMINA)[0]?.body ?? '';
    // The relay offer is one of the numbered options; answering with its number picks it.
    const relayLine = options.split('\n').find((l) => /^\d\)/.test(l) && /fariin|farriin|dir|u dir/i.test(l));
    const number = relayLine ? relayLine.slice(0, 1) : '1';
    await text(AMINA, number);
    await waitFor('the ask for the message', () => (sentTo(AMINA).length >= 2 ? true : undefined));
    await text(AMINA, 'Yusuf wuu xanuunsan yahay maanta, ma imaan karo dugsiga.');
    const thread = await waitFor('the thread', async () => {
      const t = (await app.store.thread(`sms:${AMINA}`)) as Thread | null;
      return t?.entries.some((e) => e.kind === 'message') ? t : undefined;
    });
    expect(thread.staffIds).toContain('t-ingrid');

    const session = (await (
      await fetch(`${url}/api/staff/sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ login: 'ingrid' }),
      })
    ).json()) as { session: string };
    const before = sentTo(AMINA).length;
    const res = await fetch(
      `${url}/api/staff/sessions/${session.session}/threads/${encodeURIComponent(`sms:${AMINA}`)}/replies`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          id: crypto.randomUUID(),
          text: 'God bedring til Yusuf! Vi sees på foreldremøtet.',
        }),
      },
    );
    expect(res.status).toBe(202);
    const answer = await waitFor('the answer by SMS', () => sentTo(AMINA)[before]);
    expect(answer.body).toContain('Ingrid Berg');
    expect(answer.body).toMatch(/\[so\] God bedring til Yusuf/i);
    expect(answer.body).toContain('foreldremøtet');
    expect(answer.body).toMatch(/mashiin/);
    // The delivery receipt was kept.
    const receipt = await app.store.receiptByPlatformId('sms', answer.sid);
    expect(receipt?.status).toBe('sent');
  });

  it('stops all messages to a number after STOP, staff replies included, until START', async () => {
    await text(AMINA, 'STOP');
    const count = sentTo(AMINA).length;
    const session = (await (
      await fetch(`${url}/api/staff/sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ login: 'ingrid' }),
      })
    ).json()) as { session: string };
    await fetch(
      `${url}/api/staff/sessions/${session.session}/threads/${encodeURIComponent(`sms:${AMINA}`)}/replies`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: crypto.randomUUID(), text: 'Hei igjen.' }),
      },
    );
    await waitFor('the refused send to be recorded', async () => {
      const thread = await app.store.thread(`sms:${AMINA}`);
      return thread?.entries.filter((e) => e.kind === 'reply').length === 2 ? true : undefined;
    });
    await sleep(800);
    expect(sentTo(AMINA)).toHaveLength(count);
    await text(AMINA, 'START');
    await text(AMINA, 'Yaa waaye macallinka fasalka Yusuf?');
    await waitFor('replies again', () => (sentTo(AMINA).length > count ? true : undefined));
  });

  it('gives an unknown number no personal data until it proves the registered phone with a one-time code', async () => {
    const stranger = '+4799900001';
    await text(stranger, 'Hvem er kontaktlæreren til barnet mitt?');
    const first = await waitFor('the general answer', () => sentTo(stranger)[0]);
    expect(first.body).not.toMatch(/Ingrid|Yusuf|3A|\+4790000001/);
    const link = first.body.split('\n').find((l) => /^\d\)/.test(l) && /Koble/.test(l)) as string;
    expect(link).toBeDefined();
    await text(stranger, link.slice(0, 1));
    await waitFor('the ask for the number', () => sentTo(stranger)[1]);

    // A number the school does not have: the same answer, and no code goes anywhere.
    const codesBefore = twilio.sent.filter((m) => /Skolebro: Koden din er/.test(m.body)).length;
    await text(stranger, '98765432');
    await waitFor('the neutral answer', () => sentTo(stranger)[2]);
    await sleep(300);
    expect(twilio.sent.filter((m) => /Skolebro: Koden din er/.test(m.body)).length).toBe(codesBefore);

    // Amina's registered number: the code goes to her phone, not to the stranger's.
    await text(stranger, 'Nei, det er 910 00 001');
    const codeSms = await waitFor('the code at the registered phone', () =>
      sentTo(AMINA).find((m) => /\b\d{6}\b/.test(m.body) && /Skolebro/.test(m.body)),
    );
    const code = /\b(\d{6})\b/.exec(codeSms.body)?.[1] as string;
    expect(sentTo(stranger).some((m) => m.body.includes(code))).toBe(false);
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    const seen = sentTo(stranger).length;
    await text(stranger, wrong);
    await waitFor('the wrong-code answer', () => sentTo(stranger)[seen]);
    await text(stranger, code);
    const linked = await waitFor('the linked answer', () => sentTo(stranger)[seen + 1]);
    expect(linked.body).toMatch(/koblet|linked|xiriir/i);

    const before = sentTo(stranger).length;
    await text(stranger, 'Hvem er kontaktlæreren til barnet mitt?');
    const answer = await waitFor('the personal answer', () => sentTo(stranger)[before]);
    expect(answer.body).toContain('Ingrid Berg');
  });
});
