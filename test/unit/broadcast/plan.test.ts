import { describe, expect, it } from 'vitest';
import type { Channel, TrackEntry } from '../../../src/broadcast/model.ts';
import {
  channelOrder,
  familiesOf,
  initialEntry,
  membersOf,
  nextTry,
  planRecipient,
  transition,
} from '../../../src/broadcast/plan.ts';
import type { Guardian } from '../../../src/directory/model.ts';

const ALL = new Set<Channel>(['web', 'sms', 'slack', 'teams']);
const g = (over: Partial<Guardian> = {}): Guardian => ({
  id: 'g1',
  schoolId: 's',
  name: 'G',
  preferredLang: 'so',
  phone: '+4791000001',
  ...over,
});
const AT = '2025-09-01T10:00:00.000Z';

describe('channelOrder', () => {
  it('tries Teams, Slack, SMS, then the web inbox, only where the guardian has an address and we have the channel', () => {
    const full = g({ teamsId: 't', slackId: 'u', webLogin: 'w' });
    expect(channelOrder(full, ALL, false).routes).toEqual([
      { channel: 'teams', address: 't' },
      { channel: 'slack', address: 'u' },
      { channel: 'sms', address: '+4791000001' },
      { channel: 'web', address: 'inbox:w' },
    ]);
    expect(channelOrder(full, new Set<Channel>(['sms', 'web']), false).routes.map((r) => r.channel)).toEqual([
      'sms',
      'web',
    ]);
    expect(channelOrder(g({ phone: undefined }), ALL, false).routes).toEqual([]);
  });

  it('skips SMS for an opted-out phone and says so', () => {
    expect(channelOrder(g({ webLogin: 'w' }), ALL, true)).toEqual({
      routes: [{ channel: 'web', address: 'inbox:w' }],
      smsOptedOut: true,
    });
  });
});

describe('members and entries', () => {
  it('gives every guardian of a child one entry, two guardians of one child two, with their classes', () => {
    const members = membersOf([
      { classId: '3a', guardianIds: ['a', 'b'] },
      { classId: '6a', guardianIds: ['a', 'b'] },
      { classId: '3a', guardianIds: ['c'] },
    ]);
    expect(members).toEqual([
      { guardianId: 'a', classIds: ['3a', '6a'] },
      { guardianId: 'b', classIds: ['3a', '6a'] },
      { guardianId: 'c', classIds: ['3a'] },
    ]);
    expect(
      familiesOf([{ guardianIds: ['a', 'b'] }, { guardianIds: ['b', 'a'] }, { guardianIds: ['c'] }]),
    ).toBe(2);
  });

  it('counts an opted-out guardian without another channel as opted-out, and one with no channel as unreachable', () => {
    const member = { guardianId: 'g1', classIds: ['3a'] };
    expect(initialEntry(planRecipient(g(), member, ALL, true), AT).status).toBe('opted-out');
    expect(initialEntry(planRecipient(g({ phone: undefined }), member, ALL, false), AT).status).toBe(
      'unreachable',
    );
    const queued = initialEntry(planRecipient(g(), member, ALL, false), AT);
    expect(queued).toMatchObject({ status: 'queued', attempt: 0, lang: 'so', classIds: ['3a'] });
  });
});

describe('transition', () => {
  const entry = (): TrackEntry =>
    initialEntry(planRecipient(g({ webLogin: 'w' }), { guardianId: 'g1', classIds: [] }, ALL, false), AT);

  it('moves a try forward only, and ignores repeats, stale tries and late words', () => {
    const sent = transition(entry(), { attempt: 0, status: 'sent', at: AT }) as TrackEntry;
    expect(sent.status).toBe('sent');
    expect(transition(sent, { attempt: 0, status: 'sent', at: AT })).toBeNull();
    expect(transition(sent, { attempt: 0, status: 'queued', at: AT })).toBeNull();
    const delivered = transition(sent, { attempt: 0, status: 'delivered', at: AT }) as TrackEntry;
    expect(transition(delivered, { attempt: 0, status: 'failed', error: 'x', at: AT })).toBeNull();
    expect(transition(delivered, { attempt: 0, status: 'read', at: AT })?.status).toBe('read');
    expect(delivered.history.map((h) => h.status)).toEqual(['queued', 'sent', 'delivered']);
  });

  it('after a failure, queues the next channel; a report about the old try then changes nothing', () => {
    const failed = transition(entry(), {
      attempt: 0,
      status: 'failed',
      error: 'address_invalid',
      at: AT,
    }) as TrackEntry;
    const next = nextTry(failed, AT) as TrackEntry;
    expect(next).toMatchObject({ attempt: 1, status: 'queued' });
    expect(next.routes[next.attempt]?.channel).toBe('web');
    expect(transition(next, { attempt: 0, status: 'delivered', at: AT })).toBeNull();
    const lastFailed = transition(next, { attempt: 1, status: 'failed', at: AT }) as TrackEntry;
    expect(nextTry(lastFailed, AT)).toBeNull();
  });

  it('cancels only a message that has not left', () => {
    expect(transition(entry(), { attempt: 0, status: 'cancelled', at: AT })?.status).toBe('cancelled');
    const sent = transition(entry(), { attempt: 0, status: 'sent', at: AT }) as TrackEntry;
    expect(transition(sent, { attempt: 0, status: 'cancelled', at: AT })).toBeNull();
  });
});
