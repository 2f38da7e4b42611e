import { describe, expect, it } from 'vitest';
import { MemorySegmentPacer, takeTokens } from '../../../adapters/sms/pace.ts';
import { ErrorCode } from '../../../src/errors.ts';

/** A pacer on a clock the test moves. */
function paced(perSecond: number) {
  let ms = Date.parse('2025-09-01T08:00:00Z');
  const pacer = new MemorySegmentPacer({ perSecond }, () => new Date(ms));
  return {
    take: (segments: number) => pacer.take(segments),
    advance(by: number) {
      ms += by;
    },
    set(to: number) {
      ms = to;
    },
    get now() {
      return ms;
    },
  };
}

describe('MemorySegmentPacer', () => {
  it("lets one second's worth go at once, then asks to wait for the segments missing", async () => {
    const p = paced(10);
    expect([await p.take(3), await p.take(3), await p.take(3)]).toEqual([0, 0, 0]);
    // 1 segment left, 3 needed: 2 more at 10 a second.
    expect(await p.take(3)).toBe(200);
    // Asking again takes nothing: the same answer.
    expect(await p.take(3)).toBe(200);
    expect(await p.take(1)).toBe(0);
    expect(await p.take(1)).toBe(100);
  });

  it('refills at the pace, never above one second', async () => {
    const p = paced(10);
    expect(await p.take(10)).toBe(0);
    p.advance(300);
    expect(await p.take(3)).toBe(0);
    expect(await p.take(1)).toBe(100);
    p.advance(60_000);
    expect(await p.take(10)).toBe(0);
    expect(await p.take(1)).toBe(100);
  });

  it('lets a message larger than the bucket go when it is full, and the next ones wait out the debt', async () => {
    const p = paced(2);
    expect(await p.take(1)).toBe(0);
    // Not full: a 3-segment message waits until it is (1 more segment at 2 a second).
    expect(await p.take(3)).toBe(500);
    p.advance(500);
    expect(await p.take(3)).toBe(0);
    // 2 - 3 = -1: one segment owed, then one more for the next message.
    expect(await p.take(1)).toBe(1000);
    p.advance(1000);
    expect(await p.take(1)).toBe(0);
  });

  it('never lets more than one second plus the pace through in any window', async () => {
    const perSecond = 20;
    const p = paced(perSecond);
    const start = p.now;
    const sent: Array<{ at: number; segments: number }> = [];
    // Messages of 1-3 segments from a queue that is never empty, asked for every 7 ms.
    const sizes = [3, 1, 2, 3, 3, 2, 1, 3];
    let next = 0;
    while (p.now - start < 30_000) {
      const segments = sizes[next % sizes.length] as number;
      if ((await p.take(segments)) === 0) {
        sent.push({ at: p.now - start, segments });
        next++;
      } else p.advance(7);
    }
    for (const window of [1000, 2500, 30_000]) {
      for (const { at: from } of sent) {
        const within = sent
          .filter((s) => s.at >= from && s.at < from + window)
          .reduce((n, s) => n + s.segments, 0);
        expect(within).toBeLessThanOrEqual(perSecond + (perSecond * window) / 1000);
      }
    }
    // And it keeps the pace: 30 s at 20 a second, plus the first second's burst, less what the 7 ms steps lose.
    const total = sent.reduce((n, s) => n + s.segments, 0);
    expect(total).toBeGreaterThan(perSecond * 30 * 0.95);
  });

  it('refills nothing while the clock stands or steps back', async () => {
    const p = paced(10);
    expect(await p.take(10)).toBe(0);
    const at = p.now;
    p.set(at - 5000);
    expect(await p.take(1)).toBe(100);
    p.set(at + 100);
    expect(await p.take(1)).toBe(0);
  });

  it('lets an empty message through without taking anything, and refuses a pace that is not positive', async () => {
    const p = paced(1);
    expect(await p.take(0)).toBe(0);
    expect(await p.take(1)).toBe(0);
    for (const perSecond of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new MemorySegmentPacer({ perSecond })).toThrow(
        expect.objectContaining({ code: ErrorCode.Config }),
      );
    }
  });
});

describe('takeTokens', () => {
  it('starts full and reports the bucket after the take', () => {
    expect(takeTokens(undefined, 3, 1000, 10)).toEqual({ bucket: { tokens: 7, at: 1000 }, waitMs: 0 });
    expect(takeTokens({ tokens: 0.5, at: 1000 }, 1, 1000, 10)).toEqual({
      bucket: { tokens: 0.5, at: 1000 },
      waitMs: 50,
    });
  });

  it('waits at least a millisecond when a rounding error is all that is missing', () => {
    expect(takeTokens({ tokens: 2.9999999, at: 0 }, 3, 0, 10).waitMs).toBe(1);
  });
});
