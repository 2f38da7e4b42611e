import { describe, expect, it } from 'vitest';
import {
  type BlockActions,
  choiceJob,
  decideMessage,
  eventsEnvelope,
  fromSlackText,
  messageJob,
  routeMessage,
  tsToIso,
  type UserMessage,
} from '../../../adapters/slack/inbound.ts';

const dm = (extra: Record<string, unknown> = {}) => ({
  type: 'message',
  user: 'U07JOHN0001',
  channel: 'D07JOHN0001',
  channel_type: 'im',
  text: 'Hello',
  ts: '1763884800.000100',
  client_msg_id: 'c1',
  ...extra,
});

describe('decideMessage', () => {
  it("takes a person's message", () => {
    expect(decideMessage(dm())).toMatchObject({
      kind: 'message',
      message: { user: 'U07JOHN0001', text: 'Hello' },
    });
    expect(decideMessage(dm({ subtype: 'thread_broadcast', thread_ts: '1763884700.000100' }))).toMatchObject({
      kind: 'message',
    });
  });

  it('ignores bots, our own posts included, and every other subtype, by name', () => {
    expect(decideMessage(dm({ bot_id: 'B0SKOLEBRO' }))).toEqual({ kind: 'ignore', reason: 'bot' });
    expect(decideMessage({ type: 'message', subtype: 'bot_message', bot_id: 'B1', text: 'x' })).toEqual({
      kind: 'ignore',
      reason: 'bot',
    });
    for (const subtype of [
      'message_changed',
      'message_deleted',
      'channel_join',
      'file_share',
      'bot_message',
    ]) {
      expect(decideMessage({ type: 'message', subtype, channel: 'D1', ts: '1.1' })).toEqual({
        kind: 'ignore',
        reason: `subtype:${subtype}`,
      });
    }
    expect(decideMessage(dm({ text: '   ' }))).toEqual({ kind: 'ignore', reason: 'empty' });
  });

  it('calls a message without the fields we need invalid, with the reason', () => {
    const missing = decideMessage({
      type: 'message',
      channel: 'D07JOHN0001',
      text: 'x',
      ts: '1763884800.000100',
    });
    expect(missing.kind).toBe('invalid');
    expect(missing.kind === 'invalid' && missing.reason).toMatch(/user/);
    expect(decideMessage(dm({ ts: 'yesterday' })).kind).toBe('invalid');
    expect(decideMessage(dm({ text: 'x'.repeat(10_001) }))).toMatchObject({ kind: 'invalid' });
  });
});

describe('routeMessage and messageJob', () => {
  const message = (extra: Record<string, unknown> = {}) => {
    const d = decideMessage(dm(extra));
    if (d.kind !== 'message') throw new Error('not a message');
    return d.message as UserMessage;
  };

  it('maps a DM to a turn of the DM conversation, keyed by the event id', () => {
    const m = message();
    expect(routeMessage(m, undefined)).toEqual({ kind: 'dm' });
    expect(messageJob('Ev0001AAAA', m, { kind: 'dm' })).toEqual({
      channel: 'slack',
      messageId: 'Ev0001AAAA',
      conversationId: 'D07JOHN0001',
      senderId: 'U07JOHN0001',
      text: 'Hello',
      at: '2025-11-23T08:00:00.000Z',
    });
  });

  it('maps a reply in one of our staff threads to a relay to that thread', () => {
    const m = message({ user: 'U07INGRID01', channel: 'D07INGRID01', thread_ts: '1763884700.000001' });
    const route = routeMessage(m, 'sms:+4791000001');
    expect(route).toEqual({ kind: 'staff-reply', threadId: 'sms:+4791000001' });
    expect(messageJob('Ev0002BBBB', m, route)).toMatchObject({
      conversationId: 'D07INGRID01:1763884700.000001',
      senderId: 'U07INGRID01',
      thread: 'sms:+4791000001',
    });
  });

  it('keeps a DM in an unknown thread a DM, and ignores channel messages that are not in our threads', () => {
    expect(routeMessage(message({ thread_ts: '1763884700.000001' }), undefined)).toEqual({ kind: 'dm' });
    const inChannel = message({ channel: 'C0GENERAL01', channel_type: 'channel' });
    expect(routeMessage(inChannel, undefined)).toEqual({ kind: 'ignore', reason: 'not-direct' });
    expect(routeMessage({ ...inChannel, thread_ts: '1763884700.000001' }, undefined)).toEqual({
      kind: 'ignore',
      reason: 'unknown-thread',
    });
    expect(messageJob('Ev1', inChannel, { kind: 'ignore', reason: 'not-direct' })).toBeUndefined();
    // A thread's root itself (thread_ts === ts) is not a reply in it.
    const root = message({ thread_ts: '1763884800.000100' });
    expect(routeMessage(root, 'sms:+4791000001')).toEqual({ kind: 'dm' });
  });
});

describe('choiceJob', () => {
  const body: BlockActions = {
    type: 'block_actions',
    user: { id: 'U07JOHN0001' },
    container: { channel_id: 'D07JOHN0001', message_ts: '1763884800.000100' },
    actions: [{ type: 'button', action_id: 'choice:1' }],
  };

  it('maps one of our buttons to a choice, keyed by message and button', () => {
    const action = {
      type: 'button',
      action_id: 'choice:1',
      value: 'relay:start',
      text: { type: 'plain_text', text: 'Send a message' },
      action_ts: '1763884860.000200',
    };
    expect(choiceJob(body, action, new Date())).toEqual({
      channel: 'slack',
      messageId: 'action:D07JOHN0001:1763884800.000100:choice:1',
      conversationId: 'D07JOHN0001',
      senderId: 'U07JOHN0001',
      text: 'Send a message',
      choice: 'relay:start',
      at: '2025-11-23T08:01:00.000Z',
    });
  });

  it('ignores other buttons', () => {
    expect(choiceJob(body, { type: 'button', action_id: 'other', value: 'x' }, new Date())).toBeUndefined();
  });
});

describe('Slack text', () => {
  it('turns links, mentions and entities into plain text', () => {
    expect(fromSlackText('See <https://example.org/a?b=1&amp;c=2|the page> &amp; <https://x.no>')).toBe(
      'See the page & https://x.no',
    );
    expect(fromSlackText('<@U07INGRID01> hi <!here> <mailto:a@b.no|a@b.no> 3 &lt; 4 &gt; 2')).toBe(
      '@U07INGRID01 hi @here a@b.no 3 < 4 > 2',
    );
    expect(fromSlackText('&amp;lt;')).toBe('&lt;');
  });

  it('reads a ts as a time', () => {
    expect(tsToIso('1763884800.000100')).toBe('2025-11-23T08:00:00.000Z');
  });
});

describe('eventsEnvelope', () => {
  it('knows url_verification, event_callback and app_rate_limited, and nothing else', () => {
    expect(eventsEnvelope.safeParse({ type: 'url_verification', challenge: 'abc' }).success).toBe(true);
    expect(eventsEnvelope.safeParse({ type: 'app_rate_limited', minute_rate_limited: 1 }).success).toBe(true);
    expect(
      eventsEnvelope.safeParse({
        type: 'event_callback',
        event_id: 'Ev0123ABCD',
        event_time: 1,
        event: { type: 'message' },
      }).success,
    ).toBe(true);
    expect(eventsEnvelope.safeParse({ type: 'interactive' }).success).toBe(false);
    expect(
      eventsEnvelope.safeParse({ type: 'event_callback', event_id: 'bad', event_time: 1, event: {} }).success,
    ).toBe(false);
  });
});
