import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTwilio } from '../../adapters/sms/fake-twilio.ts';
import { FakeConnector, type FakeUser, type PostedActivity } from '../../adapters/teams/fake-connector.ts';
import { type App, createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { type FakeTranslator, startFakeTranslator } from '../helpers/fake-translator.ts';
import { startRedis, type TestRedis, uniquePrefix } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait.ts';
import { data, locales, nlu, ROOT } from '../helpers/world.ts';

/**
 * Teams end to end, in the running app (web and worker in one process, BullMQ and the
 * store on a private redis-server): a parent's SMS in Urdu reaches the kontaktlærer as an
 * Adaptive Card in Teams, her Norwegian reply in the card's reply chain reaches the
 * parent's phone in Urdu; and a parent on Teams gets her answers as cards with buttons.
 * The fake Bot Connector signs every inbound activity; the app checks it with the SDK.
 */

const PUBLIC = 'https://skolebro.example';
const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
const SMS_TOKEN = 'sms-secret-token';
const APP_ID = '3f6e2a1b-7c4d-4e8f-9a0b-1c2d3e4f5a6b';
const APP_PASSWORD = randomBytes(16).toString('hex');
const FATIMA = '+4791000002'; // Urdu; Ali in 3A, Sara in 6A
const SOFIE = '6f1c2a9e-0b7d-4d3e-9a51-3c2b7e8f0a11'; // kontaktlærer 6A
const KARI = '2d7f3b10-8c4e-4a9b-b1f6-5e0a9c3d7b33'; // guardian of Ola (6A), Norwegian

let redis: TestRedis;
let mt: FakeTranslator;
let twilio: FakeTwilio;
let teams: FakeConnector;
let app: App;
let url: string;
let sofie: FakeUser;
let kari: FakeUser;

beforeAll(async () => {
  redis = await startRedis();
  mt = await startFakeTranslator();
  twilio = await FakeTwilio.start({
    accountSid: ACCOUNT_SID,
    authToken: SMS_TOKEN,
    route: (u) => u.replace(PUBLIC, url),
  });
  teams = await FakeConnector.start({ appId: APP_ID, appPassword: APP_PASSWORD });
  const config = loadConfig(
    {
      LOG_LEVEL: 'silent',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniquePrefix('teams-e2e'),
      TRANSLATOR_ENDPOINT: mt.url,
      TRANSLATOR_KEY: mt.key,
      SMS_ACCOUNT_SID: ACCOUNT_SID,
      SMS_AUTH_TOKEN: SMS_TOKEN,
      SMS_FROM: '+4759440000',
      SMS_API_BASE_URL: twilio.url,
      PUBLIC_BASE_URL: PUBLIC,
      TEAMS_APP_ID: APP_ID,
      TEAMS_APP_PASSWORD: APP_PASSWORD,
      TEAMS_OPENID_METADATA_URL: teams.openIdMetadataUrl,
      TEAMS_LOGIN_URL: teams.loginUrl,
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
  sofie = teams.user(SOFIE, 'Sofie Haugen');
  kari = teams.user(KARI, 'Kari Nordmann');
}, 60_000);

afterAll(async () => {
  await app?.close();
  await teams?.close();
  await twilio?.close();
  await mt?.close();
  await redis?.stop();
}, 30_000);

async function text(body: string) {
  const [res] = await twilio.post(`${PUBLIC}/webhooks/sms`, twilio.inboundParams({ from: FATIMA, body }));
  expect(res?.status).toBe(200);
}
const sentToFatima = () => twilio.sent.filter((m) => m.to === FATIMA);
/** Waits for the next SMS to Fatima after `count` of them. */
const nextSms = (count: number) => waitFor(`SMS number ${count + 1}`, () => sentToFatima()[count]);
/** The number of the option whose label matches, in a numbered SMS list ("2) Sara (6A)"). */
function option(body: string, label: RegExp): string {
  const line = body.split('\n').find((l) => /^\d+\)/.test(l) && label.test(l));
  if (!line) throw new Error(`no option ${label} in:\n${body}`);
  return line.slice(0, line.indexOf(')'));
}

async function teamsPost(activity: unknown) {
  const [res] = await teams.post(`${url}/api/messages`, activity);
  expect(res?.status).toBe(200);
}
type Card = { body: Array<Record<string, unknown>>; actions?: Array<{ title: string; data?: unknown }> };
const cardOf = (p: PostedActivity | undefined) => p?.activity.attachments?.[0]?.content as Card | undefined;
const nextPost = (user: FakeUser, count: number) =>
  waitFor(`Teams message number ${count + 1} to ${user.name}`, () => teams.postedTo(user)[count]);

describe('a parent on SMS and her child’s kontaktlærer on Teams', () => {
  let notice: PostedActivity;

  it('carries Fatima’s Urdu SMS to Sofie as an Adaptive Card: Norwegian and the original side by side', async () => {
    // Sofie has installed Skolebro in Teams: its conversationUpdate left a conversation reference.
    await teamsPost(teams.installed(sofie));

    await text('سارہ کی ٹیچر کو میسج بھیجنا ہے');
    const which = await nextSms(0);
    await text(option(which.body, /Sara/));
    const teacher = await nextSms(1);
    expect(teacher.body).toContain('Sofie Haugen');
    await text(option(teacher.body, /پیغام بھیجیں/));
    await nextSms(2);
    await text('سارہ کی ریاضی کی کتاب گم ہو گئی ہے۔ کیا آپ کلاس میں دیکھ سکتی ہیں؟');
    await nextSms(3);

    notice = await nextPost(sofie, 0);
    expect(notice.via).toBe('create');
    const card = cardOf(notice) as Card;
    expect(card.body[0]).toMatchObject({
      type: 'TextBlock',
      text: expect.stringMatching(/Fatima Khan.*Sara \(6A\)/),
    });
    const columns = (
      card.body[1] as { type: string; columns: Array<{ rtl?: boolean; items: Array<{ text: string }> }> }
    ).columns;
    expect(columns[0]?.items[1]?.text).toMatch(/^\[nb\] سارہ کی ریاضی/);
    expect(columns[1]).toMatchObject({ rtl: true });
    expect(columns[1]?.items[0]?.text).toBe('Original (ur)');
    expect(columns[1]?.items[1]?.text).toBe(
      'سارہ کی ریاضی کی کتاب گم ہو گئی ہے۔ کیا آپ کلاس میں دیکھ سکتی ہیں؟',
    );
    expect(JSON.stringify(card.body.slice(2))).toMatch(/Svar i tråden/);
  });

  it('brings Sofie’s Norwegian reply in the reply chain back to Fatima by SMS, in Urdu', async () => {
    const before = sentToFatima().length;
    await teamsPost(
      teams.message(sofie, {
        text: 'Takk for beskjeden! Jeg ser etter boka i klasserommet i dag.',
        replyToId: notice.id,
      }),
    );
    const answer = await nextSms(before);
    expect(answer.body).toContain('Sofie Haugen');
    // The fake Translator marks its work with the target language; the renderer capitalises it.
    expect(answer.body).toMatch(/\[ur\] Takk for beskjeden! Jeg ser etter boka i klasserommet i dag\./i);
    expect(answer.body).toMatch(/مشینی ترجمہ/);
    const thread = await app.store.thread(`sms:${FATIMA}`);
    expect(thread?.entries.filter((e) => e.kind === 'reply')).toEqual([
      expect.objectContaining({ from: 'staff', staffId: 't-sofie' }),
    ]);
  });
});

describe('a parent on Teams', () => {
  it('answers Kari’s question in Norwegian on a card with buttons, and follows a button press', async () => {
    await teamsPost(teams.message(kari, { text: 'Når er neste foreldremøte?' }));
    const answer = cardOf(await nextPost(kari, 0)) as Card;
    const said = String(answer.body[0]?.text);
    expect(said).toMatch(/foreldremøte/);
    expect(said).toMatch(/12\. februar 2027/);
    const button = answer.actions?.find(
      (a) => (a.data as { choice?: string }).choice === 'intent:contact.teacher',
    );
    expect(button).toBeDefined();

    // Pressing the button posts its data back as the message's value.
    await teamsPost(teams.message(kari, { value: button?.data }));
    const next = await nextPost(kari, 1);
    const shown = next.activity.text ?? String(cardOf(next)?.body[0]?.text);
    expect(shown).toContain('Sofie Haugen');
    expect(shown).toMatch(/kontaktlærer/i);
  });
});
