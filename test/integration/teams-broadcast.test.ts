import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeConnector, type FakeUser, type PostedActivity } from '../../adapters/teams/fake-connector.ts';
import type { DirectoryData } from '../../src/directory/model.ts';
import { type BroadcastApp, startBroadcastApp } from '../helpers/broadcast-app.ts';
import { sleep } from '../helpers/processes.ts';
import { waitFor } from '../helpers/wait.ts';
import { data } from '../helpers/world.ts';

/**
 * `kunngjøring …` from Teams through the running app: createApp on a private redis-server
 * (BullMQ, the Redis store and broadcast store), the fake Translator, SMS through the fake
 * Twilio and Teams through the fake Bot Connector (which signs every activity; the app
 * checks it with the SDK). Sofie, kontaktlærer of 6A, writes the command in her chat with
 * the bot, sees a preview card with two languages, presses Send; Kari gets it on Teams in
 * Norwegian, Fatima by SMS in Urdu, and the card turns into a progress card updated in
 * place until 100 % and done. Nina, FAU for 3A only, asking for the whole school is
 * refused in her chat, and nothing happens.
 */

const APP_ID = '3f6e2a1b-7c4d-4e8f-9a0b-1c2d3e4f5a6b';
const APP_PASSWORD = randomBytes(16).toString('hex');
const SOFIE = '6f1c2a9e-0b7d-4d3e-9a51-3c2b7e8f0a11'; // t-sofie, kontaktlærer 6A
const KARI = '2d7f3b10-8c4e-4a9b-b1f6-5e0a9c3d7b33'; // g-kari, Ola's guardian (6A), Norwegian, on Teams
const NINA = '4c8d2e6f-1a3b-4c5d-8e9f-0a1b2c3d4e5f'; // f-nina, FAU with scope class:bjerkedalen-3a
const FATIMA = '+4791000002'; // g-fatima, Sara's guardian (6A), Urdu, SMS

/**
 * The demo school with 6A down to two families (Ola: Kari, Norwegian, on Teams; Sara:
 * Fatima, Urdu, SMS), so the preview has two languages on two channels; and Nina's Teams
 * account linked.
 */
const school: DirectoryData = {
  ...data,
  pupils: data.pupils.filter((p) => p.classId !== 'bjerkedalen-6a' || p.id === 'p-ola' || p.id === 'p-sara'),
  staff: data.staff.map((s) => (s.id === 'f-nina' ? { ...s, teamsId: NINA } : s)),
};

let world: BroadcastApp;
let teams: FakeConnector;
let sofie: FakeUser;
let kari: FakeUser;
let nina: FakeUser;

beforeAll(async () => {
  teams = await FakeConnector.start({ appId: APP_ID, appPassword: APP_PASSWORD });
  world = await startBroadcastApp(
    'teams-broadcast',
    {
      TEAMS_APP_ID: APP_ID,
      TEAMS_APP_PASSWORD: APP_PASSWORD,
      TEAMS_OPENID_METADATA_URL: teams.openIdMetadataUrl,
      TEAMS_LOGIN_URL: teams.loginUrl,
      TEAMS_BROADCAST_PROGRESS_SECONDS: '0.2',
    },
    school,
  );
  sofie = teams.user(SOFIE, 'Sofie Haugen');
  kari = teams.user(KARI, 'Kari Nordmann');
  nina = teams.user(NINA, 'Nina Dahl');
  // Each has installed Skolebro in Teams: the conversationUpdate leaves a conversation reference.
  for (const user of [sofie, kari, nina]) await teamsPost(teams.installed(user));
}, 60_000);

afterAll(async () => {
  await world?.close();
  await teams?.close();
}, 30_000);

/** Posts an activity to the messaging endpoint as Teams; resolves to how long the answer took. */
async function teamsPost(activity: unknown): Promise<number> {
  const started = Date.now();
  const [res] = await teams.post(`${world.url}/api/messages`, activity);
  expect(res?.status).toBe(200);
  return Date.now() - started;
}

type Card = { body: unknown[]; actions?: Array<{ type: string; title: string; data?: unknown }> };
const cardOf = (activity: PostedActivity['activity'] | undefined) =>
  activity?.attachments?.[0]?.content as Card | undefined;
const shown = (activity: PostedActivity['activity'] | undefined) =>
  JSON.stringify(cardOf(activity) ?? activity);
const draftKeys = async () => (await world.client.keys(`${world.prefix}:bc:*`)).length;
const smsToFatima = () => world.twilio.sent.filter((m) => m.to === FATIMA);

describe('a broadcast from Teams', () => {
  it('refuses an FAU member of one class the whole school, explained in her chat, and sends nothing', async () => {
    const { mt, twilio } = world;
    const before = { keys: await draftKeys(), mt: mt.stats.requests, sms: twilio.sent.length };
    await teamsPost(teams.message(nina, { text: 'kunngjøring hele skolen Husk dugnaden på lørdag' }));

    const answer = await waitFor('the refusal', () => teams.postedTo(nina)[0]);
    expect(answer.activity.text).toBe('Som FAU-medlem kan du bare sende til klassen bjerkedalen-3a.');
    await sleep(500);
    // One answer, and not the dialog engine's: the command never reached it.
    expect(teams.postedTo(nina)).toHaveLength(1);
    expect(await draftKeys()).toBe(before.keys);
    expect(mt.stats.requests).toBe(before.mt);
    expect(twilio.sent).toHaveLength(before.sms);
  });

  it('previews in two languages, sends to the class on Send, and updates the card to 100 %', async () => {
    const { mt, twilio, client, prefix } = world;
    // The translation is slow; the webhook's answer does not wait for it.
    mt.stall(1, 2500);
    const ms = await teamsPost(
      teams.message(sofie, { text: 'kunngjøring klasse 6A Husk foreldremøtet torsdag kl. 18' }),
    );
    expect(ms).toBeLessThan(2000);

    const working = await waitFor('the working note', () => teams.postedTo(sofie)[0]);
    expect(working.activity.text).toMatch(/^Lager forhåndsvisning …/);
    const preview = await waitFor('the preview card', () =>
      teams.postedTo(sofie).find((p) => cardOf(p.activity)?.actions),
    );
    const card = shown(preview.activity);
    expect(card).toContain('Forhåndsvisning: kunngjøring til klasse 6A');
    expect(card).toContain('Husk foreldremøtet torsdag kl. 18');
    expect(card).toContain('2 familier · 2 foresatte · 2 språk');
    // Urdu is UCS-2 (70 characters a segment): two segments.
    expect(card).toMatch(/SMS: 1 meldinger, 2 SMS-deler, ca\. \d+,\d\d\skr/);
    expect(card).toContain('SMS: 2 del(er) per melding');
    expect(card).toContain('Beregnet tid: under ett minutt');
    // Per language its parents per channel and its text: Urdu translated with the term kept, Norwegian as written.
    expect(card).toContain('urdu (ur)');
    expect(card).toContain('Kanaler: SMS 1');
    expect(card).toMatch(/\[ur\] Husk \S*foreldremøtet/);
    expect(card).not.toContain('parents meeting');
    expect(card).toContain('"rtl":true');
    expect(card).toContain('norsk bokmål (nb)');
    expect(card).toContain('Kanaler: Teams 1');
    const [send, cancel] = cardOf(preview.activity)?.actions ?? [];
    expect(send).toMatchObject({
      type: 'Action.Submit',
      title: 'Send',
      data: { skolebro: 'broadcast-send' },
    });
    expect(cancel).toMatchObject({ title: 'Avbryt', data: { skolebro: 'broadcast-cancel' } });
    expect(twilio.sent).toEqual([]);
    expect(teams.postedTo(kari)).toEqual([]);

    // Send: Teams posts the button's data back as the message's value, replying to the card.
    await teamsPost(teams.message(sofie, { value: send?.data, replyToId: preview.id }));

    // Fatima gets it by SMS in Urdu, Kari on Teams in Norwegian; once each.
    const sms = await waitFor('the SMS', () => smsToFatima()[0]);
    expect(sms.body).toMatch(/^\[ur\] Husk/);
    const onTeams = await waitFor('the Teams message', () => teams.postedTo(kari)[0]);
    expect(onTeams.activity.text).toBe('Husk foreldremøtet torsdag kl. 18');

    // The preview card became the progress card, updated in place until everything has left.
    const sent = await waitFor('the card at 100 % sent', () =>
      teams.updatesOf(preview.id).find((u) => shown(u.activity).includes('100 % sendt')),
    );
    expect(sent.conversationId).toBe(sofie.conversationId);
    expect(cardOf(sent.activity)?.actions).toBeUndefined();
    expect(shown(sent.activity)).toContain('Kunngjøring til klasse 6A');

    // The operator confirms the SMS; the card ends done.
    for (const m of smsToFatima()) await twilio.postStatus(m.sid, 'delivered');
    const done = await waitFor('the card done', () =>
      teams.updatesOf(preview.id).find((u) => shown(u.activity).includes('Ferdig')),
    );
    expect(shown(done.activity)).toContain('100 % sendt (2 av 2 foresatte)');
    expect(shown(done.activity)).toContain('Ferdig: 2 av 2 foresatte nådd.');
    expect(shown(done.activity)).toContain('{"title":"Levert","value":"1"}');

    // Settled: no longer followed, so no more updates.
    await sleep(800);
    const count = teams.updates.length;
    await sleep(800);
    expect(teams.updates).toHaveLength(count);
    expect(await client.hlen(`${prefix}:teams:bc-watch`)).toBe(0);
    // Only the note and the preview were posted to her; the rest were updates of the card.
    expect(teams.postedTo(sofie)).toHaveLength(2);
    expect(smsToFatima()).toHaveLength(1);
    expect(teams.postedTo(kari)).toHaveLength(1);
  });

  it('leaves a parent’s “kunngjøring …” to the dialog engine', async () => {
    const before = { keys: await draftKeys(), posts: teams.postedTo(kari).length };
    await teamsPost(teams.message(kari, { text: 'kunngjøring klasse 6A Hei alle sammen' }));
    const reply = await waitFor('the dialog’s answer', () => teams.postedTo(kari)[before.posts]);
    expect(shown(reply.activity)).not.toContain('broadcast-send');
    expect(await draftKeys()).toBe(before.keys);
  });
});
