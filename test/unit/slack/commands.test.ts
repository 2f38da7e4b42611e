import { describe, expect, it } from 'vitest';
import { commandReply, storeInbox } from '../../../adapters/slack/commands.ts';
import type { SlashCommand } from '../../../adapters/slack/inbound.ts';
import { SLACK_KEYS, slackTexts } from '../../../adapters/slack/texts.ts';
import { createRenderer } from '../../../src/i18n/render.ts';
import { MemoryStore } from '../../../src/store/memory.ts';
import { directory, locales, renderer } from '../../helpers/world.ts';

const texts = slackTexts(renderer);
const command = (text = '', user = 'U07INGRID01'): SlashCommand => ({
  command: '/skolebro',
  text,
  user_id: user,
  channel_id: 'D07INGRID01',
  team_id: 'T0OSLO0001',
});

describe('slackTexts', () => {
  it('has every key in nb and en, and falls back to English for other languages', () => {
    for (const key of SLACK_KEYS) {
      expect(renderer.has('nb', key), key).toBe(true);
      expect(renderer.has('en', key), key).toBe(true);
    }
    expect(texts('so', 'slack.relay.original')).toBe('The Norwegian original:');
    expect(texts('nb', 'slack.relay.original')).toBe('Originalen på norsk:');
  });

  it('fails fast when nb or en lacks a key', () => {
    const en = locales.ui.get('en');
    if (!en) throw new Error('no en');
    const { 'slack.help': _dropped, ...messages } = en.messages;
    const broken = createRenderer({ ...locales, ui: new Map([...locales.ui, ['en', { ...en, messages }]]) });
    expect(() => slackTexts(broken)).toThrow(/en\/ui.json lacks slack.help/);
  });
});

describe('commandReply', () => {
  it('answers with help, ephemeral, in the given language, and says broadcasts come later', async () => {
    const nb = await commandReply(command(), { texts, lang: 'nb' });
    expect(nb.response_type).toBe('ephemeral');
    expect(nb.text).toMatch(/^Skolebro i Slack:/);
    expect(nb.text).toContain('/skolebro kunngjøring');
    const en = await commandReply(command('what?'), { texts, lang: 'en' });
    expect(en.text).toContain('/skolebro kunngjøring');
  });

  it('lists the inbox for innboks, or explains it is for staff', async () => {
    const inbox = async (user: string) =>
      user === 'U07INGRID01'
        ? [
            {
              guardian: 'Amina Hassan',
              child: { name: 'Yusuf', className: '3A' },
              lastAt: '2026-11-23T07:00:00Z',
            },
            { lastAt: '2026-11-22T07:00:00Z' },
          ]
        : undefined;
    const list = await commandReply(command('innboks'), { texts, lang: 'nb', inbox });
    expect(list.text.split('\n')).toEqual([
      'Trådene dine som venter på svar (nyeste først):',
      '• Amina Hassan om Yusuf (3A), sist mandag 23. november 2026 kl. 08:00',
      '• En forelder som ikke er registrert, sist søndag 22. november 2026 kl. 08:00',
    ]);
    expect(
      (await commandReply(command('INBOX', 'U0OTHER0001'), { texts, lang: 'nb', inbox })).text,
    ).toContain('for ansatte');
    expect((await commandReply(command('innboks'), { texts, lang: 'nb', inbox: async () => [] })).text).toBe(
      'Ingen tråder venter på svar fra deg.',
    );
  });
});

describe('storeInbox', () => {
  it("lists a staff member's threads whose last word is not theirs, newest first", async () => {
    const store = new MemoryStore();
    const meta = (phone: string, guardianId?: string) => ({
      id: `sms:${phone}`,
      channel: 'sms',
      conversationId: phone,
      lang: 'so',
      ...(guardianId ? { guardianId } : {}),
    });
    await store.addToThread(
      meta('+4791000001', 'g-amina'),
      { id: 'e1', at: '2026-11-23T07:00:00Z', from: 'parent', kind: 'message', to: ['t-ingrid'] },
      ['t-ingrid'],
    );
    await store.addToThread(
      meta('+4791000099'),
      { id: 'e2', at: '2026-11-23T06:00:00Z', from: 'parent', kind: 'message', to: ['t-ingrid'] },
      ['t-ingrid'],
    );
    await store.addToThread(
      meta('+4791000098', 'g-amina'),
      { id: 'e3', at: '2026-11-23T05:00:00Z', from: 'parent', kind: 'message', to: ['t-ingrid'] },
      ['t-ingrid'],
    );
    await store.addToThread(
      meta('+4791000098', 'g-amina'),
      { id: 'e4', at: '2026-11-23T05:30:00Z', from: 'staff', kind: 'reply', staffId: 't-ingrid' },
      ['t-ingrid'],
    );
    const inbox = storeInbox({ store, directory });
    const items = await inbox('U07INGRID01');
    expect(items?.map((i) => i.guardian ?? null)).toEqual(['Amina Hassan', null]);
    expect(items?.[0]?.lastAt).toBe('2026-11-23T07:00:00Z');
    expect(await inbox('U07JOHN0001')).toBeUndefined();
  });
});
