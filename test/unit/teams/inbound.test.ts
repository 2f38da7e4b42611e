import { describe, expect, it } from 'vitest';
import {
  conversationBase,
  inboundJobOf,
  installation,
  type MessageActivity,
  messageActivity,
  parseActivity,
  referenceOf,
  replyChain,
  teamsMessageId,
} from '../../../adapters/teams/inbound.ts';

const KARI = '2d7f3b10-8c4e-4a9b-b1f6-5e0a9c3d7b33';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const BOT = '28:3f6e2a1b-7c4d-4e8f-9a0b-1c2d3e4f5a6b';
const AT = new Date('2026-11-23T07:00:00.000Z');

/** A personal-chat message as Teams sends it. */
const activity = (over: Record<string, unknown> = {}) => ({
  type: 'message',
  id: '1795416000123',
  timestamp: '2026-11-23T07:00:00.000Z',
  serviceUrl: 'https://smba.trafficmanager.net/emea/',
  channelId: 'msteams',
  from: { id: '29:1kari', name: 'Kari Nordmann', aadObjectId: KARI },
  conversation: { conversationType: 'personal', tenantId: TENANT, id: 'a:1karichat' },
  recipient: { id: BOT, name: 'Skolebro' },
  textFormat: 'plain',
  locale: 'nb-NO',
  text: 'Når er neste foreldremøte?',
  entities: [{ type: 'clientInfo', locale: 'nb-NO', country: 'NO', platform: 'Web' }],
  channelData: { tenant: { id: TENANT } },
  ...over,
});
const message = (over: Record<string, unknown> = {}): MessageActivity =>
  messageActivity.parse(activity(over));

describe('parsing activities', () => {
  it('takes a Teams message, keeping fields it does not know', () => {
    const parsed = parseActivity(activity({ attachments: [] }));
    expect(parsed).toMatchObject({ ok: true, activity: { type: 'message', attachments: [] } });
  });

  it('refuses what is not an activity, or an activity of no known type, with a reason', () => {
    for (const body of [null, 'text', [], {}, { type: 3 }]) {
      expect(parseActivity(body)).toEqual({
        ok: false,
        refusal: expect.objectContaining({ error: 'invalid_activity' }),
      });
    }
    expect(parseActivity(activity({ type: 'teleport' }))).toEqual({
      ok: false,
      refusal: { error: 'activity_unknown', message: 'Unknown activity type "teleport".' },
    });
  });

  it('says which field of a message is wrong', () => {
    const { from: _from, ...noSender } = activity();
    const result = parseActivity(noSender);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.refusal.message).toMatch(/from/);
    expect(parseActivity(activity({ channelId: 'webchat' }))).toMatchObject({ ok: false });
    expect(parseActivity(activity({ serviceUrl: 'javascript:alert(1)' }))).toMatchObject({ ok: false });
    expect(parseActivity(activity({ text: 'x'.repeat(10_001) }))).toMatchObject({ ok: false });
  });

  it('acknowledges known activity types it does not act on', () => {
    expect(parseActivity({ type: 'messageReaction' })).toEqual({
      ok: true,
      activity: { type: 'ignored', original: 'messageReaction' },
    });
  });
});

describe('conversation references', () => {
  it('keeps what a proactive send needs, without display names', () => {
    expect(referenceOf(message())).toEqual({
      v: 1,
      channelId: 'msteams',
      serviceUrl: 'https://smba.trafficmanager.net/emea/',
      conversation: { id: 'a:1karichat', conversationType: 'personal', tenantId: TENANT },
      user: { id: '29:1kari', aadObjectId: KARI },
      bot: { id: BOT },
      locale: 'nb-NO',
    });
    expect(JSON.stringify(referenceOf(message()))).not.toContain('Kari');
  });

  it('reads the tenant from channelData when the conversation does not name it', () => {
    const ref = referenceOf(message({ conversation: { id: 'a:1x', conversationType: 'personal' } }));
    expect(ref.conversation.tenantId).toBe(TENANT);
  });

  it('tells an installation from a removal', () => {
    const update = (over: Record<string, unknown>) =>
      parseActivity(activity({ type: 'conversationUpdate', text: undefined, ...over }));
    const added = update({ membersAdded: [{ id: BOT }] });
    const removed = update({ membersRemoved: [{ id: BOT }] });
    if (!added.ok || !removed.ok || added.activity.type === 'ignored' || removed.activity.type === 'ignored')
      throw new Error('unexpected');
    expect(installation(added.activity as never)).toBe('added');
    expect(installation(removed.activity as never)).toBe('removed');
    for (const [action, expected] of [
      ['add', 'added'],
      ['remove', 'removed'],
      ['remove-upgrade', undefined],
    ] as const) {
      const parsed = parseActivity(activity({ type: 'installationUpdate', action }));
      if (!parsed.ok) throw new Error('unexpected');
      expect(installation(parsed.activity as never)).toBe(expected);
    }
  });
});

describe('inbound jobs', () => {
  it('normalises a parent’s message', () => {
    expect(inboundJobOf(message(), { at: AT })).toEqual({
      channel: 'teams',
      messageId: teamsMessageId('1795416000123', 'a:1karichat'),
      conversationId: 'a:1karichat',
      senderId: KARI,
      text: 'Når er neste foreldremøte?',
      at: '2026-11-23T07:00:00.000Z',
    });
  });

  it('folds the conversation into the message id: Teams ids are unique per conversation only', () => {
    const id = teamsMessageId('1795416000123', 'a:1karichat');
    expect(id).toMatch(/^1795416000123@[\w-]{12}$/);
    expect(teamsMessageId('1795416000123', 'a:1otherchat')).not.toBe(id);
    // A channel thread's replies share the channel's id space.
    expect(teamsMessageId('17', '19:abc@thread.tacv2;messageid=1')).toBe(
      teamsMessageId('17', '19:abc@thread.tacv2'),
    );
  });

  it('turns an Adaptive Card submit into a choice, with the button’s label as the text', () => {
    const job = inboundJobOf(
      message({ text: undefined, value: { choice: 'child:p-ola', label: 'Ola (6A)' } }),
      {
        at: AT,
      },
    );
    expect(job).toMatchObject({ choice: 'child:p-ola', text: 'Ola (6A)' });
  });

  it('takes out the bot’s own @mention, and nobody else’s', () => {
    const job = inboundJobOf(
      message({
        text: '<at>Skolebro</at> Takk, <at>Per Olsen</at> ser på det.',
        entities: [
          { type: 'mention', text: '<at>Skolebro</at>', mentioned: { id: BOT, name: 'Skolebro' } },
          { type: 'mention', text: '<at>Per Olsen</at>', mentioned: { id: '29:1per', name: 'Per Olsen' } },
        ],
      }),
      { at: AT },
    );
    expect(job?.text).toBe('Takk, <at>Per Olsen</at> ser på det.');
  });

  it('makes a reply in a staff notice’s chain a staff reply to its thread, never a choice', () => {
    const job = inboundJobOf(message({ text: 'Takk, jeg ringer deg.', value: { choice: 'x' } }), {
      at: AT,
      thread: 'sms:+4791000002',
    });
    expect(job).toMatchObject({ thread: 'sms:+4791000002', text: 'Takk, jeg ringer deg.' });
    expect(job).not.toHaveProperty('choice');
  });

  it('has nothing to enqueue for a message with neither text nor choice (an image only)', () => {
    expect(inboundJobOf(message({ text: undefined }), { at: AT })).toBeUndefined();
    expect(inboundJobOf(message({ text: '  ' }), { at: AT })).toBeUndefined();
  });

  it('falls back to the Bot Framework user id when Teams gives no AAD object id', () => {
    const job = inboundJobOf(message({ from: { id: '29:1guest' } }), { at: AT });
    expect(job?.senderId).toBe('29:1guest');
  });
});

describe('reply chains', () => {
  it('looks at the message replied to, then the channel thread’s root', () => {
    expect(replyChain({ conversation: { id: 'a:1chat' } })).toEqual([]);
    expect(replyChain({ conversation: { id: 'a:1chat' }, replyToId: '1795' })).toEqual(['1795']);
    expect(
      replyChain({ conversation: { id: '19:abc@thread.tacv2;messageid=1700' }, replyToId: '1795' }),
    ).toEqual(['1795', '1700']);
    expect(
      replyChain({ conversation: { id: '19:abc@thread.tacv2;messageid=1700' }, replyToId: '1700' }),
    ).toEqual(['1700']);
    expect(conversationBase('19:abc@thread.tacv2;messageid=1700')).toBe('19:abc@thread.tacv2');
  });
});
