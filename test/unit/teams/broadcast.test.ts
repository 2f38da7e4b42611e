import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  broadcastRequestOf,
  loadTeamsBroadcastTexts,
  PREVIEW_CHARS,
  previewCard,
  progressCard,
  SHARED_BROADCAST_KEYS,
  settledPreviewCard,
  shorten,
  TEAMS_BROADCAST_KEYS,
  teamsBroadcastTextsFrom,
} from '../../../adapters/teams/broadcast.ts';
import { bytes, MAX_CARD_BYTES, type OutgoingMessage } from '../../../adapters/teams/cards.ts';
import { type MessageActivity, messageActivity } from '../../../adapters/teams/inbound.ts';
import { isBroadcastCommand, parseBroadcastCommand } from '../../../src/broadcast/command.ts';
import type { PreviewView } from '../../../src/broadcast/service.ts';
import { progressView as progress } from '../../helpers/broadcast.ts';
import { ROOT } from '../../helpers/world.ts';

const texts = loadTeamsBroadcastTexts(join(ROOT, 'locales'));

/** A message in Sofie's personal chat with the bot, as Teams sends it. */
const activity = (over: Record<string, unknown> = {}): MessageActivity =>
  messageActivity.parse({
    type: 'message',
    id: '1795416000123',
    serviceUrl: 'https://smba.trafficmanager.net/emea/',
    channelId: 'msteams',
    from: { id: '29:1sofie', aadObjectId: '6f1c2a9e-0b7d-4d3e-9a51-3c2b7e8f0a11' },
    conversation: { conversationType: 'personal', id: 'a:1sofiechat' },
    recipient: { id: '28:bot' },
    ...over,
  });

describe('which messages are broadcast requests', () => {
  it('takes the command in a personal chat, with its text as written', () => {
    const text = 'kunngjøring klasse 6A Mat &amp; drikke';
    expect(broadcastRequestOf(activity({ text }), text)).toEqual({ kind: 'command', text });
    expect(broadcastRequestOf(activity(), 'broadcast school Closed today')).toMatchObject({
      kind: 'command',
    });
  });

  it('leaves everything else to the dialog engine', () => {
    expect(broadcastRequestOf(activity(), 'Når er neste foreldremøte?')).toBeUndefined();
    expect(broadcastRequestOf(activity(), '')).toBeUndefined();
    // In a channel or group chat the preview would be shown to everyone there.
    const channel = activity({ conversation: { conversationType: 'channel', id: '19:abc@thread.tacv2' } });
    expect(broadcastRequestOf(channel, 'kunngjøring skole Hei')).toBeUndefined();
    const group = activity({ conversation: { conversationType: 'groupChat', id: '19:grp@thread.v2' } });
    expect(broadcastRequestOf(group, 'kunngjøring skole Hei')).toBeUndefined();
  });

  it('reads Send and Avbryt from the submit value, and nothing else', () => {
    const press = (value: unknown) => broadcastRequestOf(activity({ value }), '');
    expect(press({ skolebro: 'broadcast-send', id: 'bc1' })).toEqual({
      kind: 'submit',
      action: 'send',
      id: 'bc1',
    });
    expect(press({ skolebro: 'broadcast-cancel', id: 'bc1' })).toEqual({
      kind: 'submit',
      action: 'cancel',
      id: 'bc1',
    });
    // A reply's choice button, someone else's card, or a value tampered with: not ours.
    expect(press({ choice: 'intent:contact.teacher', label: 'Kontakt' })).toBeUndefined();
    expect(press({ skolebro: 'broadcast-delete', id: 'bc1' })).toBeUndefined();
    expect(press({ skolebro: 'broadcast-send' })).toBeUndefined();
    expect(press({ skolebro: 'broadcast-send', id: '' })).toBeUndefined();
    expect(press({ skolebro: 'broadcast-send', id: 'x'.repeat(101) })).toBeUndefined();
    expect(press('broadcast-send')).toBeUndefined();
    // A press is a press even with text beside it; text starting with the command is not a press.
    expect(
      broadcastRequestOf(activity({ value: { skolebro: 'broadcast-send', id: 'bc1' } }), 'kunngjøring'),
    ).toEqual({ kind: 'submit', action: 'send', id: 'bc1' });
  });
});

describe('the command, shared with Slack', () => {
  it('is the same grammar, and keeps Teams text as written (no Slack unescaping)', () => {
    expect(isBroadcastCommand('Kunngjøring klasse 6A Hei')).toBe(true);
    expect(isBroadcastCommand('kunngjøringer er fine')).toBe(false);
    expect(parseBroadcastCommand('kunngjøring klasse 6A Mat &amp; drikke\nkl. 18')).toEqual({
      ok: true,
      audience: { kind: 'class', ref: '6A' },
      text: 'Mat &amp; drikke\nkl. 18',
    });
    expect(parseBroadcastCommand('kunngjøring 6. trinn Turdag')).toMatchObject({
      audience: { kind: 'trinn', trinn: 6 },
    });
    expect(parseBroadcastCommand('kunngjøring hele skolen')).toEqual({ ok: false, problem: 'noText' });
    expect(parseBroadcastCommand('kunngjøring alle Hei')).toEqual({ ok: false, problem: 'noAudience' });
  });
});

describe('the texts', () => {
  it('has every key in nb and en, and gives Norwegian to other languages', () => {
    for (const key of [...TEAMS_BROADCAST_KEYS, ...SHARED_BROADCAST_KEYS]) {
      expect(texts('nb', key), key).not.toBe(key);
      expect(texts('en', key), key).not.toBe(key);
    }
    // Teams' own words: no slash command in Teams.
    expect(texts('nb', 'broadcast.usage')).toMatch(/^Skriv for eksempel: kunngjøring klasse 3A/);
    expect(texts('en', 'broadcast.usage')).toMatch(/^For example: broadcast class 3A/);
    // Shared with Slack.
    expect(texts('nb', 'broadcast.button.cancel')).toBe('Avbryt');
    expect(texts('so', 'broadcast.button.cancel')).toBe('Avbryt');
  });

  it('takes shared words from the slack section unless the teams section has its own', () => {
    const all = (prefix: string, keys: readonly string[]) =>
      Object.fromEntries(keys.map((k) => [k, `${prefix}${k}`]));
    const section = {
      teams: { ...all('teams:', TEAMS_BROADCAST_KEYS), 'broadcast.button.send': 'Send nå' },
      slack: all('slack:', SHARED_BROADCAST_KEYS),
    };
    const t = teamsBroadcastTextsFrom(
      new Map([
        ['nb', section],
        ['en', section],
      ]),
    );
    expect(t('nb', 'broadcast.working')).toBe('teams:broadcast.working');
    expect(t('nb', 'broadcast.preview.check')).toBe('slack:broadcast.preview.check');
    expect(t('nb', 'broadcast.button.send')).toBe('Send nå');
  });

  it('fails fast, naming each key missing', () => {
    const { 'broadcast.expired': _dropped, ...teams } = Object.fromEntries(
      TEAMS_BROADCAST_KEYS.map((k) => [k, k]),
    );
    const slack = Object.fromEntries(SHARED_BROADCAST_KEYS.map((k) => [k, k]));
    const { 'broadcast.progress.done': _also, ...someSlack } = slack;
    expect(() =>
      teamsBroadcastTextsFrom(
        new Map([
          ['nb', { teams, slack }],
          ['en', { teams: { ...teams, 'broadcast.expired': 'x' }, slack: someSlack }],
        ]),
      ),
    ).toThrow(
      'locales: missing nb/ui.json teams.broadcast.expired, en/ui.json slack.broadcast.progress.done',
    );
  });
});

const view = (over: Partial<PreviewView['preview']> = {}): PreviewView => ({
  id: 'bc123',
  status: 'draft',
  audience: { kind: 'class', id: 'bjerkedalen-6a', schoolId: 'bjerkedalen', classes: [] },
  text: 'Husk foreldremøtet torsdag kl. 18.',
  translation: { languages: ['ur', 'pl'], characters: 66 },
  preview: {
    guardians: 4,
    families: 3,
    languages: [
      {
        lang: 'ur',
        text: '[ur] یاد رکھیں foreldremøtet',
        translated: true,
        edited: false,
        guardians: 2,
        channels: { sms: 1, teams: 1 },
        sms: { encoding: 'UCS-2', segmentsPerMessage: 2, messages: 1, segments: 2, nok: 1.2 },
      },
      {
        lang: 'pl',
        text: '[pl] Pamiętaj',
        translated: false,
        edited: true,
        guardians: 1,
        channels: { web: 1 },
      },
      { lang: 'nb', text: 'Husk', translated: false, edited: false, guardians: 1, channels: {} },
    ],
    channels: [
      { channel: 'sms', messages: 1, segments: 2, seconds: 1 },
      { channel: 'teams', messages: 1, seconds: 1 },
      { channel: 'web', messages: 1, seconds: 1 },
    ],
    sms: { messages: 1, segments: 2, nok: 1.2 },
    smsOptedOut: 0,
    optedOut: 0,
    unreachable: 1,
    ...over,
  },
});

type Card = { body: Array<Record<string, unknown>>; actions?: Array<Record<string, unknown>>; rtl?: boolean };
const cardOf = (m: OutgoingMessage) => m.attachments?.[0]?.content as Card;
const shown = (m: OutgoingMessage) => JSON.stringify(cardOf(m));
/** Every TextBlock's text, depth first. */
function lines(elements: unknown[]): string[] {
  return elements.flatMap((e) => {
    const el = e as { type?: string; text?: string; items?: unknown[] };
    if (el.type === 'TextBlock') return [el.text ?? ''];
    return el.items ? lines(el.items) : [];
  });
}
const NOW = new Date('2026-03-02T10:00:00Z');

describe('the preview card', () => {
  const ctx = { lang: 'nb', audience: 'klasse 6A', texts, now: NOW };

  it('shows the text, the numbers, each language with its parents per channel and its text, and Send / Avbryt', () => {
    const m = previewCard(view(), ctx);
    expect(m.type).toBe('message');
    expect(m.attachments?.[0]?.contentType).toBe('application/vnd.microsoft.card.adaptive');
    const card = cardOf(m);
    expect(lines(card.body)).toEqual([
      'Forhåndsvisning: kunngjøring til klasse 6A',
      'Teksten på norsk',
      'Husk foreldremøtet torsdag kl. 18.',
      '3 familier · 4 foresatte · 3 språk',
      'SMS: 1 meldinger, 2 SMS-deler, ca. 1,20\u00a0kr',
      'Beregnet tid: under ett minutt',
      '1 foresatte kan vi ikke nå (reservert mot SMS eller ingen kanal).',
      'urdu (ur)',
      '2 foresatte · maskinoversatt',
      'Kanaler: Teams 1 · SMS 1',
      'SMS: 2 del(er) per melding',
      '[ur] یاد رکھیں foreldremøtet',
      'polsk (pl)',
      '1 foresatte · rettet for hånd',
      'Kanaler: nettprat 1',
      '[pl] Pamiętaj',
      'norsk bokmål (nb)',
      '1 foresatte',
      'Husk',
      'Les gjennom før du sender. Ingenting er sendt før du trykker Send.',
    ]);
    expect(card.actions).toEqual([
      {
        type: 'Action.Submit',
        title: 'Send',
        style: 'positive',
        data: { skolebro: 'broadcast-send', id: 'bc123' },
      },
      { type: 'Action.Submit', title: 'Avbryt', data: { skolebro: 'broadcast-cancel', id: 'bc123' } },
    ]);
    // The Urdu text runs right to left; the others do not.
    const containers = card.body.filter((e) => e.type === 'Container') as Array<{ items: Card['body'] }>;
    expect(containers.map((c) => c.items.at(-1)?.rtl)).toEqual([true, undefined, undefined]);
  });

  it('speaks English to staff who read English, and tells of SMS held for quiet hours', () => {
    const m = previewCard(view({ smsDeferredUntil: '2026-03-02T06:00:00Z', unreachable: 0 }), {
      ...ctx,
      lang: 'en',
      audience: 'class 6A',
    });
    const said = lines(cardOf(m).body);
    expect(said[0]).toBe('Preview: announcement to class 6A');
    expect(said).toContain('SMS are held back until 07:00 (quiet hours).');
    expect(said).toContain('Channels: web chat 1');
    expect(cardOf(m).actions?.map((a) => a.title)).toEqual(['Send', 'Cancel']);
  });

  it('cuts each language at 1000 characters and counts the languages that do not fit one Teams message', () => {
    const long = 'Dette er en lang setning om foreldremøtet. '.repeat(60);
    const langs = 'ar so ur pl ta tr vi fa ku ti sq ru uk lt th fil kmr prs ps en de fr es it nl'.split(' ');
    const many = view({
      languages: langs.map((lang) => ({
        lang,
        text: `[${lang}] ${long}`,
        translated: true,
        edited: false,
        guardians: 10,
        channels: { sms: 10 },
      })),
    });
    const m = previewCard(many, ctx);
    expect(bytes(m)).toBeLessThanOrEqual(MAX_CARD_BYTES);
    const said = lines(cardOf(m).body);
    const texts = said.filter((l) => l.startsWith('['));
    expect(texts.length).toBeGreaterThan(0);
    expect(texts.length).toBeLessThan(langs.length);
    for (const t of texts) {
      expect(t.length).toBeLessThanOrEqual(PREVIEW_CHARS);
      expect(t.endsWith('…')).toBe(true);
    }
    expect(said).toContain(`… og ${langs.length - texts.length} språk til.`);
    // The buttons are always there.
    expect(cardOf(m).actions).toHaveLength(2);
    // A roomier limit shows them all.
    const all = previewCard(many, { ...ctx, maxBytes: 1_000_000 });
    expect(lines(cardOf(all).body).filter((l) => l.startsWith('['))).toHaveLength(langs.length);
  });

  it('shortens at a word, never past the limit', () => {
    expect(shorten('  kort  ', 10)).toBe('kort');
    expect(shorten('Husk foreldremøtet torsdag', 12)).toBe('Husk…');
    expect(shorten('x'.repeat(50), 10)).toHaveLength(10);
  });
});

describe('the progress card', () => {
  const ctx = { lang: 'nb', audience: 'klasse 6A', texts, text: 'Husk foreldremøtet torsdag kl. 18.' };
  const facts = (m: OutgoingMessage) =>
    (cardOf(m).body.find((e) => e.type === 'FactSet') as { facts: unknown[] }).facts;

  it('shows a bar, the counts and where the sending stands, with the text, and no buttons', () => {
    const m = progressCard(progress({ guardians: 4, byStatus: { queued: 3, sent: 1 } }), ctx);
    const said = lines(cardOf(m).body);
    expect(said[0]).toBe('Kunngjøring til klasse 6A');
    expect(said[1]).toBe('██░░░░░░░░  25 % sendt (1 av 4 foresatte)');
    expect(said[2]).toBe('Sender …');
    expect(said).toContain('Husk foreldremøtet torsdag kl. 18.');
    expect(facts(m)).toEqual([
      { title: 'Levert', value: '0' },
      { title: 'Sendt', value: '1' },
      { title: 'I kø', value: '3' },
      { title: 'Ikke nådd', value: '0' },
    ]);
    expect(cardOf(m).actions).toBeUndefined();
  });

  it('ends at 100 % and done, naming the families not reached; or stopped', () => {
    const done = progressCard(
      progress({
        guardians: 2,
        status: 'sent',
        fannedOut: true,
        settled: true,
        byStatus: { delivered: 1, failed: 1 },
        notReached: [
          {
            guardianId: 'g',
            name: 'G',
            lang: 'ur',
            classIds: [],
            channel: 'sms',
            status: 'failed',
            reason: '30003',
          },
        ],
      }),
      ctx,
    );
    expect(lines(cardOf(done).body).slice(1, 3)).toEqual([
      '██████████  100 % sendt (2 av 2 foresatte)',
      'Ferdig: 1 av 2 foresatte nådd. Kontaktlæreren får en liste over familiene som ikke ble nådd.',
    ]);
    expect(shown(progressCard(progress({ status: 'cancelled' }), ctx))).toContain('Utsendingen er stoppet.');
    const en = progressCard(
      progress({ guardians: 2, fannedOut: true, status: 'sent', byStatus: { sent: 2 } }),
      {
        ...ctx,
        lang: 'en',
        audience: 'class 6A',
      },
    );
    expect(lines(cardOf(en).body).slice(0, 3)).toEqual([
      'Announcement to class 6A',
      '██████████  100% sent (2 of 2 parents)',
      'Everything is sent. Waiting for delivery receipts from the mobile operators.',
    ]);
  });
});

describe('a preview settled without sending', () => {
  it('keeps its heading and text, says what happened, and loses its buttons', () => {
    const m = settledPreviewCard({
      lang: 'nb',
      audience: 'klasse 6A',
      texts,
      text: 'Husk foreldremøtet.',
      note: texts('nb', 'broadcast.cancelled'),
    });
    expect(lines(cardOf(m).body)).toEqual([
      'Forhåndsvisning: kunngjøring til klasse 6A',
      'Avbrutt. Ingenting ble sendt.',
      'Teksten på norsk',
      'Husk foreldremøtet.',
    ]);
    expect(cardOf(m).actions).toBeUndefined();
  });
});
