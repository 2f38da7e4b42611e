import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { CLAIM_MS, digest, flowRunner, laterWork, progressFollower } from '../../../src/broadcast/follow.ts';
import type { ProgressView, Result } from '../../../src/broadcast/service.ts';
import { type FollowedWatch, MemoryWatchStore } from '../../../src/broadcast/watch.ts';
import type { Staff } from '../../../src/directory/model.ts';
import { ErrorCode, PermanentError, TransientError } from '../../../src/errors.ts';
import { progressView } from '../../helpers/broadcast.ts';

/** A logger whose lines a test can read. */
function recordingLog() {
  const lines: Array<{ level: number; msg: string; [k: string]: unknown }> = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines, said: () => lines.map((l) => l.msg) };
}

const START = Date.parse('2026-03-02T10:00:00Z');
const SENDER = { id: 't-ingrid' } as Staff;

/** A watch whose message is `message:<id>`; sending began `ageMs` before START. */
const watch = (
  id: string,
  over: Partial<FollowedWatch> = {},
  ageMs = 0,
): FollowedWatch & { message: string } => ({
  id,
  staffId: 't-ingrid',
  audience: 'klasse 3A',
  lang: 'nb',
  since: new Date(START - ageMs).toISOString(),
  message: `message:${id}`,
  ...over,
});

type W = ReturnType<typeof watch>;

/**
 * A follower over watches in memory, a clock the test moves, progress the test sets per
 * announcement, and a platform whose updates are recorded (or fail with `refuse.next`).
 */
function rig(opts: { permanent?: (err: unknown) => boolean; maxAgeMs?: number } = {}) {
  let clock = START;
  const now = () => new Date(clock);
  const watches = new MemoryWatchStore<W>(now);
  const progress = new Map<string, Result<ProgressView>>();
  const updates: Array<{ id: string; where: string; shown: string }> = [];
  const refuse: { next?: unknown } = {};
  const { log, lines, said } = recordingLog();
  const follower = progressFollower({
    name: 'test broadcast',
    service: {
      sender: async (staffId) => (staffId === SENDER.id ? SENDER : undefined),
      progress: async (_sender, id) =>
        progress.get(id) ?? { ok: false, status: 404, error: 'not_found', message: 'gone' },
    },
    watches,
    render: (view, w) => `${view.guardians} of ${w.audience}`,
    update: async (w, shown) => {
      const err = refuse.next;
      refuse.next = undefined;
      if (err) throw err;
      updates.push({ id: w.id, where: w.message, shown });
    },
    ...(opts.permanent ? { permanent: opts.permanent } : {}),
    ...(opts.maxAgeMs ? { maxAgeMs: opts.maxAgeMs } : {}),
    intervalMs: 10,
    log,
    now,
  });
  const sending = (id: string, over: Partial<ProgressView> = {}) =>
    progress.set(id, { ok: true, value: progressView({ id, ...over }) });
  return {
    follower,
    watches,
    updates,
    refuse,
    lines,
    said,
    sending,
    advance: (ms: number) => {
      clock += ms;
    },
    now,
  };
}

describe('digest', () => {
  it('is short, equal for equal messages, and differs when what is shown differs', () => {
    const a = digest({ text: 'Sender …', blocks: [1, 2] });
    expect(a).toHaveLength(22);
    expect(digest({ text: 'Sender …', blocks: [1, 2] })).toBe(a);
    expect(digest({ text: 'Ferdig', blocks: [1, 2] })).not.toBe(a);
  });
});

describe('work after answering', () => {
  it('runs in the background, logs a failure with its name, and idle waits for work started meanwhile', async () => {
    const { log, lines } = recordingLog();
    const { later, idle } = laterWork('test broadcast', log);
    const done: string[] = [];
    later('first', async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      done.push('first');
      later('second', async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        done.push('second');
      });
    });
    later('broken', async () => {
      throw Object.assign(new Error('boom'), { code: 'E_TEST' });
    });
    expect(done).toEqual([]);
    await idle();
    expect(done).toEqual(['first', 'second']);
    expect(lines).toMatchObject([
      {
        msg: 'test broadcast: failed after answering',
        what: 'broken',
        err: { message: 'boom', code: 'E_TEST' },
      },
    ]);
  });

  it('settled waits once for the work in flight', async () => {
    const { later, settled } = laterWork('test broadcast');
    let finished = false;
    later('slow', async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      finished = true;
    });
    await settled();
    expect(finished).toBe(true);
  });
});

describe('the progress follower', () => {
  it('updates a message only when what it shows changed, sooner while young, then once a minute', async () => {
    const r = rig();
    await r.watches.add(watch('bc1'));
    r.sending('bc1', { guardians: 4 });
    await r.follower.tick();
    expect(r.updates).toEqual([{ id: 'bc1', where: 'message:bc1', shown: '4 of klasse 3A' }]);
    expect(await r.watches.get('bc1')).toMatchObject({ last: digest('4 of klasse 3A'), due: START + 10 });

    // Not due yet: not checked.
    r.sending('bc1', { guardians: 5 });
    await r.follower.tick();
    expect(r.updates).toHaveLength(1);

    // Due, and unchanged: nothing sent, due again later.
    r.sending('bc1', { guardians: 4 });
    r.advance(10);
    await r.follower.tick();
    expect(r.updates).toHaveLength(1);
    expect((await r.watches.get('bc1'))?.due).toBe(START + 20);

    // Older than 15 minutes: checked once a minute.
    r.advance(15 * 60_000);
    r.sending('bc1', { guardians: 5 });
    await r.follower.tick();
    expect(r.updates.at(-1)?.shown).toBe('5 of klasse 3A');
    expect((await r.watches.get('bc1'))?.due).toBe(r.now().getTime() + 60_000);
  });

  it('drops a watch once settled (after showing it), too old, or no longer readable', async () => {
    const r = rig({ maxAgeMs: 60_000 });
    await r.watches.add(watch('settled'));
    r.sending('settled', { guardians: 2, settled: true });
    await r.watches.add(watch('old', {}, 61_000));
    r.sending('old', { guardians: 2 });
    await r.watches.add(watch('gone'));
    await r.watches.add(watch('stranger', { staffId: 't-unknown' }));
    r.sending('stranger');
    await r.follower.tick();
    expect(r.updates.map((u) => u.id)).toEqual(['settled', 'old']);
    expect(await r.watches.all()).toEqual([]);
    expect(r.said()).toEqual([
      'test broadcast progress: no longer readable, not followed',
      'test broadcast progress: no longer readable, not followed',
    ]);
  });

  it('tries a failed update again after Retry-After, or the interval; drops one refused for good', async () => {
    const r = rig();
    await r.watches.add(watch('bc1'));
    r.sending('bc1', { guardians: 4 });
    r.refuse.next = new TransientError(ErrorCode.RateLimited, 'slow down', { retryAfterMs: 3000 });
    await r.follower.tick();
    expect(r.updates).toEqual([]);
    expect(await r.watches.get('bc1')).toMatchObject({ due: START + 3000 });
    expect((await r.watches.get('bc1'))?.last).toBeUndefined();

    r.advance(3000);
    r.refuse.next = new Error('socket hang up');
    await r.follower.tick();
    expect((await r.watches.get('bc1'))?.due).toBe(START + 3010);

    r.advance(10);
    r.refuse.next = new PermanentError(ErrorCode.AddressInvalid, 'message deleted');
    await r.follower.tick();
    expect(await r.watches.all()).toEqual([]);
    expect(r.lines.at(-1)).toMatchObject({
      msg: 'test broadcast progress: update refused, not followed',
      code: ErrorCode.AddressInvalid,
    });
  });

  it('asks the adapter which errors are permanent', async () => {
    const r = rig({ permanent: (err) => (err as Error).message === 'channel_not_found' });
    await r.watches.add(watch('bc1'));
    await r.watches.add(watch('bc2'));
    r.sending('bc1', { guardians: 1 });
    r.sending('bc2', { guardians: 1 });
    r.refuse.next = new Error('channel_not_found');
    await r.follower.tick();
    expect((await r.watches.all()).map((w) => w.id)).toEqual(['bc2']);
    r.refuse.next = new PermanentError(ErrorCode.AddressInvalid, 'not permanent for this adapter');
    r.sending('bc2', { guardians: 2 });
    r.advance(10);
    await r.follower.tick();
    expect((await r.watches.all()).map((w) => w.id)).toEqual(['bc2']);
    expect(r.refuse.next).toBeUndefined();
    expect((await r.watches.get('bc2'))?.due).toBe(START + 20);
  });

  it('leaves a watch another process has claimed, and releases its own claim after each check', async () => {
    const r = rig();
    await r.watches.add(watch('bc1'));
    await r.watches.add(watch('bc2'));
    r.sending('bc1', { guardians: 1 });
    r.sending('bc2', { guardians: 1 });
    expect(await r.watches.claim('bc1', CLAIM_MS)).toBe(true);
    await r.follower.tick();
    expect(r.updates.map((u) => u.id)).toEqual(['bc2']);
    expect(await r.watches.claim('bc2', CLAIM_MS)).toBe(true);
  });

  it('keeps going past a check that fails, and past watches it cannot read', async () => {
    const r = rig();
    await r.watches.add(watch('bc1'));
    await r.watches.add(watch('bc2'));
    r.sending('bc2', { guardians: 1 });
    const broken = r.watches.claim.bind(r.watches);
    r.watches.claim = async (id, ttl) => {
      if (id === 'bc1') throw new Error('redis unavailable');
      return broken(id, ttl);
    };
    await r.follower.tick();
    expect(r.updates.map((u) => u.id)).toEqual(['bc2']);
    expect(r.lines[0]).toMatchObject({ msg: 'test broadcast progress: check failed', broadcastId: 'bc1' });

    r.watches.all = async () => {
      throw new Error('redis unavailable');
    };
    await expect(r.follower.tick()).resolves.toBeUndefined();
    expect(r.said().at(-1)).toBe('test broadcast progress: watches unreadable');
  });

  it('runs on its timer once started, and not after stop', async () => {
    const r = rig();
    await r.watches.add(watch('bc1'));
    r.sending('bc1', { guardians: 1 });
    r.follower.start();
    r.follower.start();
    for (let i = 0; i < 50 && r.updates.length === 0; i++) await new Promise((ok) => setTimeout(ok, 10));
    expect(r.updates).toHaveLength(1);
    await r.follower.stop();
    r.follower.start();
    r.sending('bc1', { guardians: 2 });
    r.advance(10);
    await new Promise((ok) => setTimeout(ok, 50));
    expect(r.updates).toHaveLength(1);
    // A round after stop checks nothing.
    await r.follower.tick();
    expect(r.updates).toHaveLength(1);
  });
});

describe('the flow runner', () => {
  it('runs the follower and the work after answering; stop waits for both', async () => {
    const watches = new MemoryWatchStore<W>();
    const updates: string[] = [];
    const { later, ...runner } = flowRunner({
      name: 'test broadcast',
      service: {
        sender: async () => SENDER,
        progress: async (_sender, id) => ({ ok: true, value: progressView({ id, guardians: 3 }) }),
      },
      watches,
      render: (view) => `${view.guardians}`,
      update: async (w, shown) => void updates.push(`${w.id}:${shown}`),
      intervalMs: 10,
      now: () => new Date(),
    });
    expect(Object.keys(runner).sort()).toEqual(['idle', 'start', 'stop', 'tick']);
    let finished = false;
    later('post', async () => {
      await watches.add(watch('bc1', { since: new Date().toISOString() }));
      await new Promise((resolve) => setTimeout(resolve, 30));
      finished = true;
    });
    await runner.tick();
    expect(updates).toEqual(['bc1:3']);
    await runner.stop();
    expect(finished).toBe(true);
  });
});
