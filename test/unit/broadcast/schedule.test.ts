import { describe, expect, it } from 'vitest';
import type { RecipientPlan } from '../../../src/broadcast/model.ts';
import { initialEntry } from '../../../src/broadcast/plan.ts';
import { notReachedCsv, progressOf } from '../../../src/broadcast/progress.ts';
import {
  estimateSeconds,
  parseQuietHours,
  quietDelayMs,
  summarise,
} from '../../../src/broadcast/schedule.ts';

const quiet = parseQuietHours('21:00-07:00');

describe('quiet hours (Europe/Oslo)', () => {
  it('parses HH:MM-HH:MM and refuses nonsense', () => {
    expect(quiet).toEqual({ start: 21 * 60, end: 7 * 60 });
    expect(parseQuietHours('25:00-07:00')).toBeUndefined();
    expect(parseQuietHours('07:00-07:00')).toBeUndefined();
  });

  it('holds an SMS due in the evening or the night until 07:00 local, and lets a daytime one go', () => {
    if (!quiet) throw new Error('no quiet hours');
    // 22:30 Oslo summer time (UTC+2) → 07:00 next morning: 8.5 h.
    expect(quietDelayMs(new Date('2025-09-01T20:30:00Z'), quiet)).toBe(8.5 * 3600_000);
    // 05:00 Oslo winter time (UTC+1) → 07:00: 2 h.
    expect(quietDelayMs(new Date('2025-12-01T04:00:00Z'), quiet)).toBe(2 * 3600_000);
    // 12:00 Oslo: no wait.
    expect(quietDelayMs(new Date('2025-09-01T10:00:00Z'), quiet)).toBe(0);
    // Across the switch to summer time (30 March 2025, 02:00 → 03:00): 23:00 → 07:00 is 7 h.
    expect(quietDelayMs(new Date('2025-03-29T22:00:00Z'), quiet)).toBe(7 * 3600_000);
  });
});

describe('pacing', () => {
  it('paces SMS by segments, not messages', () => {
    expect(estimateSeconds('sms', { messages: 100, segments: 300 }, 10)).toBe(30);
    expect(estimateSeconds('teams', { messages: 300 }, 10)).toBe(10);
  });
});

const plan = (
  id: string,
  lang: string,
  channel: 'sms' | 'web' | null,
  extra: Partial<RecipientPlan> = {},
): RecipientPlan => ({
  guardianId: id,
  name: id,
  lang,
  classIds: ['3a'],
  routes: channel ? [{ channel, address: channel === 'sms' ? '+47' : 'inbox:x' }] : [],
  smsOptedOut: false,
  ...extra,
});

describe('summarise (the preview)', () => {
  it('counts guardians per language and channel, SMS segments (UCS-2 for Arabic) and cost, and time per channel', () => {
    const arabic = 'مرحبا '.repeat(20).trim(); // 119 UTF-16 units: UCS-2, 2 segments
    const s = summarise(
      [
        plan('a', 'ar', 'sms'),
        plan('b', 'ar', 'sms'),
        plan('c', 'nb', 'sms'),
        plan('d', 'nb', 'web'),
        plan('e', 'so', null, { smsOptedOut: true }),
        plan('f', 'so', null),
      ],
      {
        nb: { text: 'Foreldremøte tirsdag.', translated: false, edited: false },
        ar: { text: arabic, translated: true, edited: false },
        so: { text: 'Kulan waalidka', translated: true, edited: false },
      },
      {
        families: 5,
        smsSegmentsPerSecond: 10,
        pricePerSegmentNok: 0.5,
        startAt: new Date('2025-09-01T10:00:00Z'),
      },
    );
    const ar = s.languages.find((l) => l.lang === 'ar');
    expect(ar).toMatchObject({
      guardians: 2,
      channels: { sms: 2 },
      sms: { encoding: 'UCS-2', segmentsPerMessage: 2, segments: 4, nok: 2 },
    });
    expect(s.sms).toEqual({ messages: 3, segments: 5, nok: 2.5 });
    expect(s.channels).toEqual(
      expect.arrayContaining([
        { channel: 'sms', messages: 3, segments: 5, seconds: 1 },
        { channel: 'web', messages: 1, seconds: 1 },
      ]),
    );
    expect({ optedOut: s.optedOut, unreachable: s.unreachable, smsOptedOut: s.smsOptedOut }).toEqual({
      optedOut: 1,
      unreachable: 1,
      smsOptedOut: 1,
    });
    expect(s.smsDeferredUntil).toBeUndefined();
  });

  it('says when the SMS part waits for the end of quiet hours', () => {
    const s = summarise(
      [plan('a', 'nb', 'sms')],
      { nb: { text: 'x', translated: false, edited: false } },
      {
        families: 1,
        smsSegmentsPerSecond: 10,
        pricePerSegmentNok: 0.6,
        startAt: new Date('2025-09-01T20:30:00Z'),
        ...(quiet ? { quiet } : {}),
      },
    );
    expect(s.smsDeferredUntil).toBe('2025-09-02T05:00:00.000Z');
  });
});

describe('progress and the CSV', () => {
  const at = '2025-09-01T10:00:00.000Z';
  const opts = {
    now: new Date('2025-09-01T10:10:00Z'),
    receiptTimeoutMs: 30 * 60_000,
    receiptChannels: new Set(['sms'] as const),
  };

  it('counts by status, channel and language, and lists who is not reached once nothing is pending', () => {
    const sentSms = { ...initialEntry(plan('a', 'ar', 'sms'), at), status: 'sent' as const };
    const web = { ...initialEntry(plan('b', 'nb', 'web'), at), status: 'sent' as const };
    const gone = initialEntry(plan('c', 'so', null, { smsOptedOut: true }), at);
    const p = progressOf([sentSms, web, gone], opts);
    expect(p.byStatus).toEqual({ sent: 2, 'opted-out': 1 });
    expect(p.byChannel).toEqual({ sms: { sent: 1 }, web: { sent: 1 }, none: { 'opted-out': 1 } });
    expect(p.settled).toBe(false); // the SMS may still be confirmed
    expect(p.notReached.map((r) => [r.guardianId, r.reason])).toEqual([['c', 'opted-out']]);
    const later = progressOf([sentSms, web, gone], { ...opts, now: new Date('2025-09-01T11:00:00Z') });
    expect(later.settled).toBe(true);
    expect(later.notReached.map((r) => [r.guardianId, r.reason])).toEqual([
      ['a', 'no-receipt'],
      ['c', 'opted-out'],
    ]);
  });

  it('writes RFC 4180 CSV and keeps a would-be formula as text', () => {
    const csv = notReachedCsv([
      {
        guardianId: 'g1',
        name: '=HYPERLINK("x")',
        lang: 'so',
        classIds: ['3a', '6a'],
        channel: 'sms',
        status: 'failed',
        reason: 'address_invalid',
      },
      {
        guardianId: 'g2',
        name: 'Khan, Fatima',
        lang: 'ur',
        classIds: ['3a'],
        channel: null,
        status: 'unreachable',
        reason: 'no-channel',
      },
    ]);
    expect(csv.split('\r\n')).toEqual([
      'guardian_id,name,language,class_ids,channel,status,reason',
      `g1,"'=HYPERLINK(""x"")",so,3a 6a,sms,failed,address_invalid`,
      'g2,"Khan, Fatima",ur,3a,,unreachable,no-channel',
      '',
    ]);
  });
});
