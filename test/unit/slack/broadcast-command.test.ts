import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SlackMessage } from '../../../adapters/slack/blocks.ts';
import {
  BROADCAST_KEYS,
  broadcastTextsFrom,
  CANCEL_ACTION,
  findClass,
  isBroadcastCommand,
  loadBroadcastTexts,
  PREVIEW_CHARS,
  parseBroadcast,
  progressNumbers,
  renderPreview,
  renderProgress,
  SEND_ACTION,
  settlePreview,
  toAudience,
} from '../../../adapters/slack/broadcast.ts';
import { slackBroadcasts } from '../../../adapters/slack/broadcast-flow.ts';
import { MemoryProgressWatches } from '../../../adapters/slack/broadcast-watch.ts';
import { checkBlocks } from '../../../adapters/slack/fake-slack.ts';
import type { BlockActions, SlashCommand } from '../../../adapters/slack/inbound.ts';
import type { PreviewView } from '../../../src/broadcast/service.ts';
import {
  demoBroadcastService,
  demoStaffOf,
  markingTranslator,
  nextCheck,
  progressView as progress,
} from '../../helpers/broadcast.ts';
import { data, ROOT } from '../../helpers/world.ts';

const texts = loadBroadcastTexts(join(ROOT, 'locales'));
const INGRID = 'U07INGRID01';
const LARS = 'U07LARS0001';
const JOHN = 'U07JOHN0001';

const valid = (m: SlackMessage) => checkBlocks(m.blocks as unknown as Array<Record<string, unknown>>);
const shown = (m: SlackMessage) => JSON.stringify(m.blocks);

describe('parseBroadcast', () => {
  it('knows the subcommand in Norwegian and English', () => {
    for (const text of ['kunngjøring klasse 3A Hei', 'Kunngjoring skole Hei', 'broadcast class 3A Hi'])
      expect(isBroadcastCommand(text), text).toBe(true);
    for (const text of ['', 'innboks', 'hjelp', 'klasse 3A'])
      expect(isBroadcastCommand(text), text).toBe(false);
  });

  it('reads a class by name or id, a trinn, or the school, and keeps the text as written', () => {
    expect(parseBroadcast('kunngjøring klasse 3A Husk foreldremøtet torsdag')).toEqual({
      ok: true,
      audience: { kind: 'class', ref: '3A' },
      text: 'Husk foreldremøtet torsdag',
    });
    expect(parseBroadcast('broadcast class bjerkedalen-3a: Hello')).toEqual({
      ok: true,
      audience: { kind: 'class', ref: 'bjerkedalen-3a' },
      text: 'Hello',
    });
    expect(parseBroadcast('kunngjøring trinn 3 Turdag')).toMatchObject({
      audience: { kind: 'trinn', trinn: 3 },
    });
    expect(parseBroadcast('kunngjøring 6. trinn Turdag')).toMatchObject({
      audience: { kind: 'trinn', trinn: 6 },
    });
    expect(parseBroadcast('kunngjøring skole Stengt i dag')).toMatchObject({
      audience: { kind: 'school' },
      text: 'Stengt i dag',
    });
    expect(parseBroadcast('kunngjøring hele skolen Stengt i dag')).toMatchObject({
      audience: { kind: 'school' },
    });
    expect(parseBroadcast('broadcast school Closed today')).toMatchObject({ audience: { kind: 'school' } });
    // Slack's escaping is undone; line breaks stay.
    expect(parseBroadcast('kunngjøring klasse 3A Mat &amp; drikke\nkl. 18 &lt;3')).toMatchObject({
      text: 'Mat & drikke\nkl. 18 <3',
    });
  });

  it('says what is missing', () => {
    expect(parseBroadcast('kunngjøring')).toEqual({ ok: false, problem: 'noAudience' });
    expect(parseBroadcast('kunngjøring foreldrene Hei')).toEqual({ ok: false, problem: 'noAudience' });
    expect(parseBroadcast('kunngjøring klasse 3A')).toEqual({ ok: false, problem: 'noText' });
    expect(parseBroadcast('kunngjøring skole   ')).toEqual({ ok: false, problem: 'noText' });
    expect(parseBroadcast(`kunngjøring skole ${'x'.repeat(10_001)}`)).toEqual({
      ok: false,
      problem: 'tooLong',
    });
    // "skolestart" is not "skole".
    expect(parseBroadcast('kunngjøring skolestart i morgen')).toEqual({ ok: false, problem: 'noAudience' });
  });
});

describe('the audience', () => {
  it('finds a class of the school by name, short id or id, and only of that school', () => {
    expect(findClass('3a', 'bjerkedalen', data.classes)?.id).toBe('bjerkedalen-3a');
    expect(findClass('3A', 'bjerkedalen', data.classes)?.id).toBe('bjerkedalen-3a');
    expect(findClass('bjerkedalen-6a', 'bjerkedalen', data.classes)?.name).toBe('6A');
    expect(findClass('3A', 'another-school', data.classes)).toBeUndefined();
  });

  it("is the service's audience, with a name for the sender", () => {
    const cls = toAudience({ kind: 'class', ref: '3A' }, 'bjerkedalen', data.classes);
    expect(cls.audience).toEqual({ kind: 'class', id: 'bjerkedalen-3a', schoolId: 'bjerkedalen' });
    expect(texts('nb', cls.name.key, cls.name.params)).toBe('klasse 3A');
    const trinn = toAudience({ kind: 'trinn', trinn: 3 }, 'bjerkedalen', data.classes);
    expect(trinn.audience).toEqual({ kind: 'trinn', id: '3', schoolId: 'bjerkedalen' });
    expect(texts('nb', trinn.name.key, trinn.name.params)).toBe('3. trinn');
    expect(toAudience({ kind: 'school' }, 'bjerkedalen', data.classes).audience).toEqual({
      kind: 'school',
      id: 'bjerkedalen',
    });
    // Not found: left as written, for the service to refuse as unknown.
    expect(toAudience({ kind: 'class', ref: '9Z' }, 'bjerkedalen', data.classes).audience.id).toBe('9Z');
  });
});

describe('the texts', () => {
  it('has every key in nb and en, and gives Norwegian to other languages', () => {
    expect(texts('nb', 'broadcast.working')).toMatch(/^Lager forhåndsvisning/);
    expect(texts('en', 'broadcast.working')).toMatch(/^Making the preview/);
    expect(texts('so', 'broadcast.button.cancel')).toBe('Avbryt');
    for (const key of BROADCAST_KEYS) {
      expect(texts('nb', key)).not.toBe(key);
      expect(texts('en', key)).not.toBe(key);
    }
  });

  it('fails fast when a key is missing', () => {
    const all = Object.fromEntries(BROADCAST_KEYS.map((k) => [k, k]));
    const { 'broadcast.working': _dropped, ...some } = all;
    expect(() => broadcastTextsFrom(new Map([['nb', all]]))).toThrow(/en\/ui.json lacks/);
    expect(() =>
      broadcastTextsFrom(
        new Map([
          ['nb', some],
          ['en', all],
        ]),
      ),
    ).toThrow(/nb\/ui.json lacks slack.broadcast.working/);
  });
});

const view = (over: Partial<PreviewView['preview']> = {}): PreviewView => ({
  id: 'bc123',
  status: 'draft',
  audience: { kind: 'class', id: 'bjerkedalen-3a', schoolId: 'bjerkedalen', classes: [] },
  text: 'Husk foreldremøtet torsdag <kl. 18> & ta med kaffe.',
  translation: { languages: ['so', 'uk'], characters: 100 },
  preview: {
    guardians: 4,
    families: 3,
    languages: [
      {
        lang: 'so',
        text: `[so] ${'Xusuuso kulanka waalidiinta. '.repeat(20)}`,
        translated: true,
        edited: false,
        guardians: 2,
        channels: { sms: 2 },
        sms: { encoding: 'GSM-7', segmentsPerMessage: 4, messages: 2, segments: 8, nok: 4.8 },
      },
      {
        lang: 'uk',
        text: '[uk] Нагадування',
        translated: false,
        edited: true,
        guardians: 1,
        channels: { web: 1 },
      },
      { lang: 'nb', text: 'Husk', translated: false, edited: false, guardians: 1, channels: { sms: 1 } },
    ],
    channels: [
      { channel: 'sms', messages: 3, segments: 9, seconds: 1 },
      { channel: 'web', messages: 1, seconds: 1 },
    ],
    sms: { messages: 3, segments: 9, nok: 5.4 },
    smsOptedOut: 0,
    optedOut: 0,
    unreachable: 0,
    ...over,
  },
});

describe('the preview', () => {
  const now = new Date('2026-03-02T10:00:00Z');
  it('shows per language its name, parents, SMS segments and the start of its text, with Send and Avbryt', () => {
    const m = renderPreview(view(), { lang: 'nb', audience: 'klasse 3A', texts, now });
    expect(valid(m)).toBeUndefined();
    expect(m.blocks[0]).toMatchObject({
      type: 'header',
      text: { text: 'Forhåndsvisning: kunngjøring til klasse 3A' },
    });
    const json = shown(m);
    expect(json).toContain('3 familier · 4 foresatte · 3 språk');
    expect(json).toMatch(/SMS: 3 meldinger, 9 SMS-deler, ca\. 5,40\skr/);
    expect(json).toContain('Beregnet tid: under ett minutt');
    expect(json).toContain('*somali (so)*\\n2 foresatte · maskinoversatt\\nSMS: 4 del(er) per melding');
    expect(json).toContain('*ukrainsk (uk)*\\n1 foresatte · rettet for hånd');
    // The Norwegian text in plain text (no markup), escaped only in the fallback.
    expect(json).toContain('Husk foreldremøtet torsdag <kl. 18> & ta med kaffe.');
    expect(m.text).toContain('&lt;kl. 18&gt; &amp;');
    const so = m.blocks.find((b) => b.type === 'section' && JSON.stringify(b).includes('somali')) as {
      fields: Array<{ text: string }>;
    };
    expect(so.fields[1]?.text.length).toBe(PREVIEW_CHARS);
    expect(so.fields[1]?.text.endsWith('…')).toBe(true);
    const actions = m.blocks.at(-1) as {
      type: string;
      elements: Array<{ action_id: string; value: string }>;
    };
    expect(actions.type).toBe('actions');
    expect(actions.elements.map((e) => e.action_id)).toEqual([SEND_ACTION, CANCEL_ACTION]);
    expect(JSON.parse(actions.elements[0]?.value ?? '')).toEqual({ id: 'bc123', audience: 'klasse 3A' });
  });

  it('stays within 50 blocks with many languages, and tells of quiet hours and parents not reachable', () => {
    const many = Array.from({ length: 60 }, (_, i) => ({
      lang: `x${i}`,
      text: 'tekst',
      translated: true,
      edited: false,
      guardians: 1,
      channels: { web: 1 },
    }));
    const m = renderPreview(
      view({ languages: many, smsDeferredUntil: '2026-03-03T06:00:00Z', optedOut: 1, unreachable: 2 }),
      { lang: 'en', audience: 'the whole school', texts, now },
    );
    expect(valid(m)).toBeUndefined();
    expect(m.blocks.length).toBeLessThanOrEqual(50);
    const json = shown(m);
    expect(json).toContain('… and 20 more languages.');
    expect(json).toContain('SMS are held back until 3 March 07:00 (quiet hours).');
    expect(json).toContain('3 parents cannot be reached');
  });

  it('loses its buttons once used, and says what happened', () => {
    const m = renderPreview(view(), { lang: 'nb', audience: 'klasse 3A', texts, now });
    const after = settlePreview(m.blocks, m.text, texts('nb', 'broadcast.cancelled'));
    expect(valid(after)).toBeUndefined();
    expect(after.blocks.some((b) => b.type === 'actions')).toBe(false);
    expect(after.blocks.at(-1)).toMatchObject({
      type: 'context',
      elements: [{ text: 'Avbrutt. Ingenting ble sendt.' }],
    });
  });
});

describe('the progress message', () => {
  it('goes from starting through sending and waiting to done at 100 %', () => {
    const ctx = { lang: 'nb', audience: 'klasse 3A', texts };
    const starting = progressNumbers(progress({}));
    expect(starting).toMatchObject({ state: 'starting', percent: 0 });
    const sending = progressNumbers(progress({ guardians: 4, byStatus: { queued: 3, sent: 1 } }));
    expect(sending).toMatchObject({ state: 'sending', percent: 25, done: 1, sent: 1, queued: 3 });
    // All left but the fan-out is not over: not 100 % yet.
    expect(progressNumbers(progress({ guardians: 2, byStatus: { sent: 2 } }))).toMatchObject({ percent: 99 });
    const waiting = progress({
      guardians: 4,
      fannedOut: true,
      status: 'sent',
      byStatus: { sent: 3, delivered: 1 },
    });
    expect(progressNumbers(waiting)).toMatchObject({ state: 'waiting', percent: 100, delivered: 1, sent: 3 });
    const done = progress({
      guardians: 4,
      fannedOut: true,
      status: 'sent',
      settled: true,
      byStatus: { delivered: 3, 'opted-out': 1 },
      notReached: [
        {
          guardianId: 'g',
          name: 'G',
          lang: 'fa',
          classIds: [],
          channel: null,
          status: 'opted-out',
          reason: 'opted-out',
        },
      ],
    });
    expect(progressNumbers(done)).toMatchObject({ state: 'done', percent: 100, reached: 3, notReached: 1 });
    const m = renderProgress(done, ctx);
    expect(valid(m)).toBeUndefined();
    const json = shown(m);
    expect(json).toContain('██████████  100 % sendt (4 av 4 foresatte)');
    expect(json).toContain('Ferdig: 3 av 4 foresatte nådd. Kontaktlæreren får en liste');
    expect(json).toContain('*Ikke nådd*\\n1');
    expect(shown(renderProgress(progress({ status: 'cancelled' }), ctx))).toContain(
      'Utsendingen er stoppet.',
    );
    expect(
      shown(renderProgress(progress({ guardians: 4, byStatus: { queued: 3, sent: 1 } }), ctx)),
    ).toContain('██░░░░░░░░  25 % sendt (1 av 4 foresatte)');
  });
});

// ---- the flow, with the real broadcast service over the demo school ---------------------

function world() {
  const { service, bus } = demoBroadcastService(markingTranslator().translator);
  const posted: Array<SlackMessage & { channel: string; ts: string }> = [];
  const updates: Array<SlackMessage & { channel: string; ts: string }> = [];
  const watches = new MemoryProgressWatches();
  const flow = slackBroadcasts({
    service,
    staffOf: demoStaffOf('slackId'),
    texts,
    watches,
    api: {
      postMessage: async (m) => {
        const ref = { channel: m.channel, ts: `1700000000.${String(posted.length).padStart(6, '0')}` };
        posted.push({ ...m, ...ref });
        return ref;
      },
      update: async (m) => void updates.push(m),
    },
    dm: async (user) => `D${user.slice(1)}`,
    intervalMs: 10,
    now: () => new Date(),
  });
  return { bus, service, flow, posted, updates, watches };
}

const command = (user: string, text: string): SlashCommand => ({
  command: '/skolebro',
  text,
  user_id: user,
  channel_id: 'C0STAFF0001',
  team_id: 'T0OSLO0001',
});

const click = (user: string, message: SlackMessage & { channel: string; ts: string }, actionId: string) => {
  const actions = message.blocks.at(-1) as { elements: Array<{ action_id: string; value: string }> };
  const button = actions.elements.find((e) => e.action_id === actionId);
  const body = {
    type: 'block_actions',
    user: { id: user },
    container: { channel_id: message.channel, message_ts: message.ts },
    message: { ts: message.ts, text: message.text, blocks: message.blocks },
    actions: [{ type: 'button', action_id: actionId, value: button?.value }],
  } as unknown as BlockActions;
  return [body, body.actions[0]] as const;
};

describe('the flow', () => {
  it('answers at once, posts the preview to the DM, sends on Send and follows the progress to 100 %', async () => {
    const w = world();
    const answer = await w.flow.command(command(INGRID, 'kunngjøring klasse 3A Husk foreldremøtet torsdag'));
    expect(answer).toEqual({
      response_type: 'ephemeral',
      text: expect.stringMatching(/^Lager forhåndsvisning …/),
    });
    await w.flow.idle();
    const preview = w.posted[0];
    if (!preview) throw new Error('no preview');
    expect(preview.channel).toBe('D07INGRID01');
    const json = shown(preview);
    for (const lang of ['somali (so)', 'urdu (ur)', 'ukrainsk (uk)', 'persisk (fa)'])
      expect(json).toContain(lang);
    expect(json).toContain('[so] Husk foreldremøtet torsdag');

    await w.flow.action(...click(INGRID, preview, SEND_ACTION));
    await w.flow.idle();
    // The preview lost its buttons; a progress message was posted and is followed.
    expect(w.updates[0]?.ts).toBe(preview.ts);
    expect(shown(w.updates[0] as SlackMessage)).toContain('Sendt. Framdriften vises i meldingen under.');
    const progressMessage = w.posted[1];
    expect(progressMessage?.text).toContain('Kunngjøring til klasse 3A');
    expect(await w.watches.all()).toHaveLength(1);

    // The worker side: fan-out, then every SMS delivered.
    const id = JSON.parse(
      (preview.blocks.at(-1) as { elements: Array<{ value: string }> }).elements[0]?.value ?? '',
    ).id;
    await w.service.fanOut({ id });
    expect(w.bus.outbound.map((j) => j.conversationId).sort()).toEqual(
      ['+4791000001', '+4791000002', '+4791000008', '+4791000010'].sort(),
    );
    await w.flow.tick();
    const mid = w.updates.at(-1) as SlackMessage & { ts: string };
    expect(mid.ts).toBe(progressMessage?.ts);
    expect(shown(mid)).toContain('0 % sendt (0 av 4 foresatte)');
    const count = w.updates.length;
    await nextCheck(w.flow);
    expect(w.updates).toHaveLength(count); // nothing changed, nothing updated
    for (const job of w.bus.outbound) await w.service.afterSend(job, { status: 'delivered' });
    await nextCheck(w.flow);
    expect(shown(w.updates.at(-1) as SlackMessage)).toContain('100 % sendt (4 av 4 foresatte)');
    expect(shown(w.updates.at(-1) as SlackMessage)).toContain('Ferdig: 4 av 4 foresatte nådd.');
    expect(await w.watches.all()).toEqual([]);
    await w.flow.stop();
  });

  it('refuses with the service explanation in the answer, and drafts nothing', async () => {
    const w = world();
    const answer = await w.flow.command(command(LARS, 'kunngjøring skole Hei alle sammen'));
    expect(answer.text).toBe('Som kontaktlærer kan du bare sende til din egen klasse.');
    const unknown = await w.flow.command(command(INGRID, 'kunngjøring klasse 9Z Hei'));
    expect(unknown.text).toBe('Fant ikke den skolen, det trinnet eller den klassen.');
    const notStaff = await w.flow.command(command(JOHN, 'kunngjøring klasse 6A Hi'));
    expect(notStaff.text).toMatch(/^Kunngjøringer kan bare sendes av ansatte/);
    const usage = await w.flow.command(command(INGRID, 'kunngjøring klasse 3A'));
    expect(usage.text).toMatch(/^Skriv teksten i kunngjøringen etter mottakerne\.\nSkriv for eksempel:/);
    await w.flow.idle();
    expect(w.posted).toEqual([]);
  });

  it('cancels a draft on Avbryt: nothing is sent', async () => {
    const w = world();
    await w.flow.command(command(INGRID, 'kunngjøring klasse 3A Hei'));
    await w.flow.idle();
    const preview = w.posted[0];
    if (!preview) throw new Error('no preview');
    await w.flow.action(...click(INGRID, preview, CANCEL_ACTION));
    await w.flow.idle();
    expect(shown(w.updates[0] as SlackMessage)).toContain('Avbrutt. Ingenting ble sendt.');
    // A late Send on the cancelled draft is refused with the service's words.
    await w.flow.action(...click(INGRID, preview, SEND_ACTION));
    await w.flow.idle();
    expect(shown(w.updates[1] as SlackMessage)).toContain('allerede sendt eller avlyst');
    expect(w.bus.outbound).toEqual([]);
    expect(w.posted).toHaveLength(1);
  });
});
