import { describe, expect, it } from 'vitest';
import { MemorySlackState } from '../../../adapters/slack/state.ts';

describe('MemorySlackState', () => {
  it('maps a thread both ways, per place', async () => {
    const state = new MemorySlackState();
    const root = { channel: 'D07INGRID01', ts: '1763884800.000100' };
    await state.saveThread('sms:+4791000001', 'U07INGRID01', root);
    expect(await state.thread('sms:+4791000001', 'U07INGRID01')).toEqual(root);
    expect(await state.thread('sms:+4791000001', 'U07LARS0001')).toBeUndefined();
    expect(await state.threadAt('D07INGRID01', '1763884800.000100')).toBe('sms:+4791000001');
    expect(await state.threadAt('D07INGRID01', '1763884800.000200')).toBeUndefined();
  });

  it('forgets a thread after its lifetime, and sent parts after theirs', async () => {
    let now = new Date('2026-11-23T08:00:00Z');
    const state = new MemorySlackState({ threadTtlSeconds: 60, sentTtlSeconds: 10 }, () => now);
    await state.saveThread('t', 'U1', { channel: 'D1', ts: '1.1' });
    await state.markPartSent('r1', 0, { channel: 'D1', ts: '1.2' });
    now = new Date(now.getTime() + 11_000);
    expect(await state.sentPart('r1', 0)).toBeUndefined();
    expect(await state.thread('t', 'U1')).toEqual({ channel: 'D1', ts: '1.1' });
    now = new Date(now.getTime() + 60_000);
    expect(await state.thread('t', 'U1')).toBeUndefined();
    expect(await state.threadAt('D1', '1.1')).toBeUndefined();
  });

  it('lets one claimant start a thread at a time, until released or expired', async () => {
    let now = new Date('2026-11-23T08:00:00Z');
    const state = new MemorySlackState({}, () => now);
    expect(await state.claimThread('t', 'C1', 1000)).toBe(true);
    expect(await state.claimThread('t', 'C1', 1000)).toBe(false);
    expect(await state.claimThread('t', 'C2', 1000)).toBe(true);
    await state.releaseThread('t', 'C1');
    expect(await state.claimThread('t', 'C1', 1000)).toBe(true);
    now = new Date(now.getTime() + 1001);
    expect(await state.claimThread('t', 'C1', 1000)).toBe(true);
  });

  it('remembers DM channels', async () => {
    const state = new MemorySlackState();
    expect(await state.dmChannel('U1')).toBeUndefined();
    await state.saveDmChannel('U1', 'D1');
    expect(await state.dmChannel('U1')).toBe('D1');
  });
});
