import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack, type PostedMessage } from '../../adapters/slack/fake-slack.ts';
import { COMMANDS_PATH, INTERACTIONS_PATH } from '../../adapters/slack/index.ts';
import { type BroadcastApp, startBroadcastApp } from '../helpers/broadcast-app.ts';
import { sleep } from '../helpers/processes.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * `/skolebro kunngjøring` through the running app: createApp on a private redis-server
 * (BullMQ, the Redis store and broadcast store), the demo school, the fake Translator, SMS
 * through the fake Twilio and Slack through the fake Slack. A kontaktlærer drafts from
 * Slack, sees the preview in her DM with the bot, presses Send; her class's guardians get
 * it by SMS in their languages, and her progress message is updated to 100 %. A teacher
 * of another class asking for the whole school is refused, and nothing happens.
 */

const SIGNING_SECRET = 'slack-signing-secret-for-broadcast';
const BOT_TOKEN = 'xoxb-2222222222-broadcast-skolebro';
const INGRID = 'U07INGRID01'; // t-ingrid, kontaktlærer for 3A
const LARS = 'U07LARS0001'; // t-lars, kontaktlærer for 3B
/** The guardians of 3A (demo school): Somali, Urdu, Ukrainian, Persian; all by SMS first. */
const CLASS_3A = {
  so: '+4791000001', // Amina
  ur: '+4791000002', // Fatima
  uk: '+4791000008', // Olena
  fa: '+4791000010', // Arash
};

let world: BroadcastApp;
let slack: FakeSlack;

beforeAll(async () => {
  slack = await FakeSlack.start({ botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET });
  world = await startBroadcastApp('slack-broadcast', {
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_API_BASE_URL: slack.url,
    SLACK_BROADCAST_PROGRESS_SECONDS: '0.2',
  });
}, 60_000);

afterAll(async () => {
  await world?.close();
  await slack?.close();
}, 30_000);

async function command(user: string, text: string) {
  const started = Date.now();
  const res = await slack.postCommand(`${world.url}${COMMANDS_PATH}`, { user, text });
  expect(res.status).toBe(200);
  return { ms: Date.now() - started, body: (await res.json()) as { response_type: string; text: string } };
}

const sentTo = (phone: string) => world.twilio.sent.filter((m) => m.to === phone);
const blockText = (m: { blocks: unknown[] }) => JSON.stringify(m.blocks);
const hasButtons = (m: PostedMessage) => m.blocks.some((b) => b.type === 'actions');
const draftKeys = async () => (await world.client.keys(`${world.prefix}:bc:*`)).length;

describe('a broadcast from Slack', () => {
  it('refuses a kontaktlærer the whole school, with the explanation, and sends nothing', async () => {
    const { mt, twilio } = world;
    const before = { keys: await draftKeys(), mt: mt.stats.requests, sms: twilio.sent.length };
    const { body } = await command(LARS, 'kunngjøring skole Husk juleavslutningen');
    expect(body).toEqual({
      response_type: 'ephemeral',
      text: 'Som kontaktlærer kan du bare sende til din egen klasse.',
    });
    await sleep(500);
    expect(slack.postedTo(slack.dmOf(LARS))).toEqual([]);
    expect(await draftKeys()).toBe(before.keys);
    expect(mt.stats.requests).toBe(before.mt);
    expect(twilio.sent).toHaveLength(before.sms);
  });

  it('previews, sends to the class in each language, and updates the progress message to 100 %', async () => {
    const { mt, twilio, client, prefix, url } = world;
    const dm = slack.dmOf(INGRID);
    // The translation is slow; the command's answer does not wait for it.
    mt.stall(1, 2500);
    const { body, ms } = await command(INGRID, 'kunngjøring klasse 3A Husk foreldremøtet torsdag');
    expect(body.response_type).toBe('ephemeral');
    expect(body.text).toMatch(/^Lager forhåndsvisning …/);
    expect(ms).toBeLessThan(2000);

    const preview = await waitFor('the preview', () => slack.postedTo(dm).find(hasButtons));
    const shown = blockText(preview);
    expect(shown).toContain('Forhåndsvisning: kunngjøring til klasse 3A');
    expect(shown).toContain('4 familier · 4 foresatte · 4 språk');
    expect(shown).toMatch(/SMS: 4 meldinger, 4 SMS-deler, ca\. \d+,\d\d\skr/);
    expect(shown).toContain('Beregnet tid: under ett minutt');
    for (const lang of Object.keys(CLASS_3A)) {
      expect(shown).toContain(`(${lang})*`);
      expect(shown).toContain(`[${lang}] Husk`);
    }
    expect(slack.postedTo(dm)).toHaveLength(1);
    expect(twilio.sent).toEqual([]);

    const click = await slack.postButtonClick(`${url}${INTERACTIONS_PATH}`, {
      user: INGRID,
      message: preview,
      actionId: 'broadcast:send',
    });
    expect(click.status).toBe(200);

    // Each guardian of 3A gets it once by SMS, in their language; nobody else gets anything.
    await waitFor('the SMS', () =>
      Object.values(CLASS_3A).every((phone) => sentTo(phone).length === 1) ? true : undefined,
    );
    for (const [lang, phone] of Object.entries(CLASS_3A)) {
      expect(sentTo(phone)[0]?.body).toMatch(new RegExp(`^\\[${lang}\\] Husk`));
    }
    expect(twilio.sent).toHaveLength(4);

    // The preview lost its buttons; the progress message follows the sending.
    const progress = await waitFor('the progress message', () =>
      slack.postedTo(dm).find((m) => m.text.startsWith('Kunngjøring til klasse 3A')),
    );
    const settled = slack.updates.find((u) => u.ts === preview.ts);
    expect(settled && blockText(settled)).toContain('Sendt. Framdriften vises i meldingen under.');
    expect(settled && blockText(settled)).not.toContain('"actions"');
    await waitFor('the progress at 100 % sent', () =>
      slack.updates.find((u) => u.ts === progress.ts && u.text.includes('100 % sendt')),
    );

    // The operator confirms delivery; the message ends at 100 %, done.
    for (const m of twilio.sent) await twilio.postStatus(m.sid, 'delivered');
    const done = await waitFor('the progress message done', () =>
      slack.updates.find((u) => u.ts === progress.ts && u.text.includes('Ferdig')),
    );
    expect(blockText(done)).toContain('100 % sendt (4 av 4 foresatte)');
    expect(blockText(done)).toContain('Ferdig: 4 av 4 foresatte nådd.');
    expect(blockText(done)).toContain('*Levert*\\n4');

    // Settled: no longer followed, so no more updates.
    await sleep(800);
    const count = slack.updates.length;
    await sleep(800);
    expect(slack.updates).toHaveLength(count);
    expect(await client.hlen(`${prefix}:slack:bc-watch`)).toBe(0);
    // Only the preview and the progress message were posted to her.
    expect(slack.postedTo(dm)).toHaveLength(2);
  });

  it('names the command in the help once broadcasts are on', async () => {
    const { body } = await command(INGRID, '');
    expect(body.text).toContain('/skolebro kunngjøring klasse 3A');
    const { body: usage } = await command(INGRID, 'kunngjøring');
    expect(usage.text).toMatch(/^Hvem skal kunngjøringen til\?\nSkriv for eksempel:/);
  });
});
