import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTeamsBroadcastTexts } from '../../../adapters/teams/broadcast.ts';
import { type BroadcastApi, teamsBroadcasts } from '../../../adapters/teams/broadcast-flow.ts';
import { MemoryTeamsBroadcastState } from '../../../adapters/teams/broadcast-watch.ts';
import type { OutgoingMessage } from '../../../adapters/teams/cards.ts';
import { type MessageActivity, messageActivity } from '../../../adapters/teams/inbound.ts';
import type { BroadcastService } from '../../../src/broadcast/service.ts';
import { ErrorCode, PermanentError, TransientError } from '../../../src/errors.ts';
import { demoBroadcastService, demoStaffOf, markingTranslator, nextCheck } from '../../helpers/broadcast.ts';
import { ROOT } from '../../helpers/world.ts';

/** Demo people: Sofie is kontaktlærer of 6A and Per the rektor, both on Teams; Kari is a guardian. */
const SOFIE = '6f1c2a9e-0b7d-4d3e-9a51-3c2b7e8f0a11';
const PER = '9b2e4c71-5d8a-4f60-b3e2-7a1d0c9e4f22';
const KARI = '2d7f3b10-8c4e-4a9b-b1f6-5e0a9c3d7b33';
/** The guardians of 6A (demo school), each by SMS. */
const CLASS_6A = ['+4791000002', '+4791000003', '+4791000006', '+4791000009', '+4791000012'];

const texts = loadTeamsBroadcastTexts(join(ROOT, 'locales'));

interface Posted {
  conversationId: string;
  id: string;
  message: OutgoingMessage;
}

function world(opts: { service?: (real: BroadcastService) => BroadcastApi; gated?: boolean } = {}) {
  const { translator, open } = markingTranslator({ gated: opts.gated });
  const { service: real, bus } = demoBroadcastService(translator);
  const posted: Posted[] = [];
  const updates: Array<{ conversationId: string; activityId: string; message: OutgoingMessage }> = [];
  const refuse: { next?: Error } = {};
  const state = new MemoryTeamsBroadcastState();
  const flow = teamsBroadcasts({
    service: opts.service?.(real) ?? real,
    staffOf: demoStaffOf('teamsId'),
    texts,
    state,
    chat: {
      post: async (conversationId, message) => {
        const id = `17954160${String(posted.length).padStart(5, '0')}`;
        posted.push({ conversationId, id, message });
        return id;
      },
      update: async (conversationId, activityId, message) => {
        const err = refuse.next;
        refuse.next = undefined;
        if (err) throw err;
        updates.push({ conversationId, activityId, message });
      },
    },
    intervalMs: 10,
    now: () => new Date(),
  });
  return { bus, service: real, flow, posted, updates, state, refuse, open };
}

let activityIds = 0;
/** A message in `aad`'s personal chat with the bot. */
const message = (aad: string, over: Record<string, unknown> = {}): MessageActivity =>
  messageActivity.parse({
    type: 'message',
    id: String(1795416000000 + ++activityIds),
    serviceUrl: 'https://smba.trafficmanager.net/emea/',
    channelId: 'msteams',
    from: { id: `29:1${aad.slice(0, 6)}`, aadObjectId: aad },
    conversation: { conversationType: 'personal', id: `a:1chat-${aad.slice(0, 6)}` },
    recipient: { id: '28:bot' },
    ...over,
  });
const say = (aad: string, text: string) => message(aad, { text });
const press = (aad: string, skolebro: 'broadcast-send' | 'broadcast-cancel', id: string) =>
  message(aad, { value: { skolebro, id } });

type Card = { body: unknown[]; actions?: Array<{ data: { skolebro: string; id: string } }> };
const cardOf = (m: OutgoingMessage | undefined) => m?.attachments?.[0]?.content as Card | undefined;
const shown = (m: OutgoingMessage | undefined) => JSON.stringify(cardOf(m) ?? m);
const previewOf = (posted: Posted[]) => posted.find((p) => cardOf(p.message)?.actions);

describe('a broadcast command from Teams', () => {
  it('is taken at once; the note, the translation and the preview follow the answer', async () => {
    const w = world({ gated: true });
    const command = say(SOFIE, 'kunngjøring klasse 6A Husk foreldremøtet torsdag');
    expect(await w.flow.handle(command, command.text ?? '')).toBe(true);
    // The translation has not come back, yet the request is answered.
    expect(previewOf(w.posted)).toBeUndefined();
    w.open();
    await w.flow.idle();
    expect(w.posted[0]?.message.text).toMatch(/^Lager forhåndsvisning …/);
    const preview = previewOf(w.posted);
    expect(preview?.conversationId).toBe(command.conversation.id);
    const json = shown(preview?.message);
    expect(json).toContain('Forhåndsvisning: kunngjøring til klasse 6A');
    for (const lang of [
      'urdu (ur)',
      'arabisk (ar)',
      'vietnamesisk (vi)',
      'engelsk (en)',
      'norsk bokmål (nb)',
    ])
      expect(json).toContain(lang);
    expect(json).toContain('[ur] Husk foreldremøtet torsdag');
    const id = cardOf(preview?.message)?.actions?.[0]?.data.id as string;
    expect(await w.state.preview(id)).toMatchObject({
      staffId: 't-sofie',
      activityId: preview?.id,
      audience: 'klasse 6A',
      lang: 'nb',
    });
    expect(w.bus.outbound).toEqual([]);
  });

  it('leaves parents, other chats and other messages to the dialog engine', async () => {
    const w = world();
    const parent = say(KARI, 'kunngjøring klasse 6A Hei alle sammen');
    expect(await w.flow.handle(parent, parent.text ?? '')).toBe(false);
    const channel = message(SOFIE, {
      text: 'kunngjøring klasse 6A Hei',
      conversation: { conversationType: 'channel', id: '19:staff@thread.tacv2' },
    });
    expect(await w.flow.handle(channel, channel.text ?? '')).toBe(false);
    const question = say(SOFIE, 'Når er neste foreldremøte?');
    expect(await w.flow.handle(question, question.text ?? '')).toBe(false);
    const choice = message(SOFIE, { value: { choice: 'intent:contact.teacher' } });
    expect(await w.flow.handle(choice, '')).toBe(false);
    await w.flow.idle();
    expect(w.posted).toEqual([]);
  });

  it('takes a message delivered twice (a Teams retry) once', async () => {
    const w = world();
    const command = say(SOFIE, 'kunngjøring klasse 6A Husk foreldremøtet');
    expect(await w.flow.handle(command, command.text ?? '')).toBe(true);
    expect(await w.flow.handle(command, command.text ?? '')).toBe(true);
    await w.flow.idle();
    expect(w.posted.filter((p) => cardOf(p.message)?.actions)).toHaveLength(1);
    expect(w.posted).toHaveLength(2);
  });

  it('explains refusals and mistakes in the chat, and drafts nothing', async () => {
    const w = world();
    for (const text of [
      'kunngjøring skole Hei alle sammen',
      'kunngjøring klasse 9Z Hei',
      'kunngjøring klasse 6A',
      'kunngjøring foreldrene Hei',
    ]) {
      const command = say(SOFIE, text);
      expect(await w.flow.handle(command, text)).toBe(true);
    }
    await w.flow.idle();
    expect(w.posted.map((p) => p.message.text)).toEqual([
      'Som kontaktlærer kan du bare sende til din egen klasse.',
      'Fant ikke den skolen, det trinnet eller den klassen.',
      expect.stringMatching(
        /^Skriv teksten i kunngjøringen etter mottakerne\.\nSkriv for eksempel: kunngjøring/,
      ),
      expect.stringMatching(/^Hvem skal kunngjøringen til\?\nSkriv for eksempel:/),
    ]);
    expect(w.posted.every((p) => p.message.textFormat === 'plain')).toBe(true);
  });
});

describe('Send and Avbryt on the preview', () => {
  async function drafted(w: ReturnType<typeof world>) {
    const command = say(SOFIE, 'kunngjøring klasse 6A Husk foreldremøtet torsdag');
    await w.flow.handle(command, command.text ?? '');
    await w.flow.idle();
    const preview = previewOf(w.posted);
    if (!preview) throw new Error('no preview');
    return { preview, id: cardOf(preview.message)?.actions?.[0]?.data.id as string };
  }

  it('sends, turns the preview into a progress card and follows it to 100 % and done', async () => {
    const w = world();
    const { preview, id } = await drafted(w);
    expect(await w.flow.handle(press(SOFIE, 'broadcast-send', id), '')).toBe(true);
    await w.flow.idle();
    expect(w.updates[0]).toMatchObject({ conversationId: preview.conversationId, activityId: preview.id });
    expect(shown(w.updates[0]?.message)).toContain('Kunngjøring til klasse 6A');
    expect(cardOf(w.updates[0]?.message)?.actions).toBeUndefined();
    expect(await w.state.watches.all()).toHaveLength(1);

    // A second press changes nothing: the card already follows the sending.
    await w.flow.handle(press(SOFIE, 'broadcast-send', id), '');
    await w.flow.idle();
    expect(w.updates).toHaveLength(1);

    // The worker side: the fan-out, then every SMS delivered.
    await w.service.fanOut({ id });
    expect(w.bus.outbound.map((j) => j.conversationId).sort()).toEqual([...CLASS_6A].sort());
    await nextCheck(w.flow);
    expect(w.updates.at(-1)?.activityId).toBe(preview.id);
    // All five queued, none left yet.
    expect(shown(w.updates.at(-1)?.message)).toContain('0 % sendt (0 av 5 foresatte)');
    expect(shown(w.updates.at(-1)?.message)).toContain('Sender …');
    const count = w.updates.length;
    await nextCheck(w.flow);
    expect(w.updates).toHaveLength(count); // nothing changed, nothing updated
    for (const job of w.bus.outbound) await w.service.afterSend(job, { status: 'delivered' });
    await nextCheck(w.flow);
    expect(shown(w.updates.at(-1)?.message)).toContain('100 % sendt (5 av 5 foresatte)');
    expect(shown(w.updates.at(-1)?.message)).toContain('Ferdig: 5 av 5 foresatte nådd.');
    expect(await w.state.watches.all()).toEqual([]);
    // Only the note and the preview were ever posted.
    expect(w.posted).toHaveLength(2);
    await w.flow.stop();
  });

  it('cancels a draft on Avbryt; a late Send sends nothing and leaves the card', async () => {
    const w = world();
    const { preview, id } = await drafted(w);
    await w.flow.handle(press(SOFIE, 'broadcast-cancel', id), '');
    await w.flow.idle();
    expect(w.updates).toHaveLength(1);
    expect(w.updates[0]?.activityId).toBe(preview.id);
    expect(shown(w.updates[0]?.message)).toContain('Avbrutt. Ingenting ble sendt.');
    expect(cardOf(w.updates[0]?.message)?.actions).toBeUndefined();
    await w.flow.handle(press(SOFIE, 'broadcast-send', id), '');
    await w.flow.idle();
    expect(w.updates).toHaveLength(1);
    expect(w.bus.outbound).toEqual([]);
    expect(await w.state.watches.all()).toEqual([]);
  });

  it('answers a press on a preview it does not know (or someone else’s) in words, and sends nothing', async () => {
    const w = world();
    const { id } = await drafted(w);
    await w.flow.handle(press(SOFIE, 'broadcast-send', 'bc-unknown'), '');
    // Per is rektor and may send anything at the school, but this card is not in his chat.
    await w.flow.handle(press(PER, 'broadcast-send', id), '');
    await w.flow.idle();
    expect(w.posted.slice(2).map((p) => p.message.text)).toEqual([
      'Fant ikke denne forhåndsvisningen lenger. Skriv kunngjøringen på nytt for å få en ny.',
      'Fant ikke denne forhåndsvisningen lenger. Skriv kunngjøringen på nytt for å få en ny.',
    ]);
    expect(w.updates).toEqual([]);
    expect(w.bus.outbound).toEqual([]);
  });

  it('lets the channel retry a press whose handling failed', async () => {
    let failures = 1;
    const w = world({
      service: (real) => ({
        sender: (staffId) => real.sender(staffId),
        classes: (schoolId) => real.classes(schoolId),
        draft: (sender, input) => real.draft(sender, input),
        cancel: (sender, id) => real.cancel(sender, id),
        progress: (sender, id) => real.progress(sender, id),
        explain: (reason, sender, lang) => real.explain(reason, sender, lang),
        send: async (sender, id) => {
          if (failures-- > 0) throw new Error('redis unavailable');
          return real.send(sender, id);
        },
      }),
    });
    const { id } = await drafted(w);
    const send = press(SOFIE, 'broadcast-send', id);
    await expect(w.flow.handle(send, '')).rejects.toThrow('redis unavailable');
    // Teams delivers the same activity again: this time it goes through.
    expect(await w.flow.handle(send, '')).toBe(true);
    await w.flow.idle();
    expect(w.updates).toHaveLength(1);
    expect(await w.state.watches.all()).toHaveLength(1);
  });

  it('turns the card into the progress card on the next check when Teams was briefly unavailable', async () => {
    const w = world();
    const { preview, id } = await drafted(w);
    w.refuse.next = new TransientError(ErrorCode.Unavailable, 'Bot Connector unavailable (502)');
    await w.flow.handle(press(SOFIE, 'broadcast-send', id), '');
    await w.flow.idle();
    expect(w.updates).toEqual([]);
    expect(await w.state.watches.all()).toHaveLength(1);
    await w.flow.tick();
    expect(w.updates).toHaveLength(1);
    expect(w.updates[0]?.activityId).toBe(preview.id);
    expect(shown(w.updates[0]?.message)).toContain('Kunngjøring til klasse 6A');
  });

  it('stops following a card Teams refuses to update', async () => {
    const w = world();
    const { id } = await drafted(w);
    await w.flow.handle(press(SOFIE, 'broadcast-send', id), '');
    await w.flow.idle();
    await w.service.fanOut({ id });
    w.refuse.next = new PermanentError(
      ErrorCode.AddressInvalid,
      'Teams cannot reach that conversation (403)',
    );
    await nextCheck(w.flow);
    expect(await w.state.watches.all()).toEqual([]);
  });
});

describe('the cards’ state in memory', () => {
  it('keeps a removed watch removed, claims for a while, and takes a message once', async () => {
    let clock = Date.parse('2026-03-02T10:00:00Z');
    const state = new MemoryTeamsBroadcastState(() => new Date(clock), { previewTtlSeconds: 60 });
    const card = {
      id: 'bc1',
      staffId: 't-sofie',
      conversationId: 'a:1',
      activityId: '17',
      audience: 'klasse 6A',
      lang: 'nb',
      text: 'Hei',
    };
    await state.savePreview(card);
    expect(await state.preview('bc1')).toEqual(card);
    await state.watches.add({ ...card, since: new Date(clock).toISOString() });
    await state.watches.remove('bc1');
    await state.watches.save({ ...card, since: new Date(clock).toISOString(), last: 'x' });
    expect(await state.watches.all()).toEqual([]);
    expect(await state.watches.claim('bc1', 1000)).toBe(true);
    expect(await state.watches.claim('bc1', 1000)).toBe(false);
    expect(await state.firstDelivery('m1', 5000)).toBe(true);
    expect(await state.firstDelivery('m1', 5000)).toBe(false);
    clock += 61_000;
    expect(await state.watches.claim('bc1', 1000)).toBe(true);
    expect(await state.firstDelivery('m1', 5000)).toBe(true);
    expect(await state.preview('bc1')).toBeUndefined();
  });
});
