import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smsAdapter } from '../../adapters/sms/index.ts';
import { RedisSegmentPacer, type SegmentPacer } from '../../adapters/sms/pace.ts';
import { countSegments } from '../../adapters/sms/segments.ts';
import { ErrorCode, TransientError } from '../../src/errors.ts';
import type { OutboundJob } from '../../src/queue/jobs.ts';
import { type SmsWorld, smsTexts, startSmsWorld } from '../conformance/sms-harness.ts';
import { sleep } from '../helpers/processes.ts';
import { startRedis, type TestRedis, uniquePrefix } from '../helpers/redis-server.ts';

/**
 * The Redis pacer against a private redis-server: several workers, each with its own
 * connection, share one sender's bucket; and the SMS adapter asks it before every part.
 */

const FROM = '+4759440000';
/** About 150 UTF-16 units of Urdu: UCS-2, three segments. */
const URDU =
  'محترم والدین، کل اسکول میں والدین کی میٹنگ شام چھ بجے ہوگی۔ براہ کرم وقت پر تشریف لائیں اور اپنے بچے کی ' +
  'ہفتہ وار منصوبہ بندی ساتھ لائیں۔ شکریہ، کلاس ٹیچر';

let server: TestRedis;
const connections: Redis[] = [];
const connect = () => {
  const redis = new Redis(server.url);
  connections.push(redis);
  return redis;
};

beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await Promise.all(connections.map((r) => r.quit()));
  await server?.stop();
});

describe('RedisSegmentPacer', () => {
  it('the test message is three UCS-2 segments', () => {
    expect(countSegments(URDU)).toMatchObject({ encoding: 'UCS-2', segments: 3 });
  });

  it("lets one second's worth go, then answers the wait for the missing segments", async () => {
    const prefix = `${uniquePrefix('pace')}:`;
    const pacer = new RedisSegmentPacer(connect(), prefix, FROM, { perSecond: 10 });
    expect(await pacer.take(9)).toBe(0);
    const wait = await pacer.take(3);
    // Two segments missing at 10 a second; a few ms have passed since.
    expect(wait).toBeGreaterThan(150);
    expect(wait).toBeLessThanOrEqual(200);
    await sleep(wait);
    expect(await pacer.take(3)).toBe(0);
    // One hash per sender under the app's prefix, gone once it would be full again.
    const key = `${prefix}sms:pace:${FROM}`;
    const ttl = await connections[0]?.pttl(key);
    expect(ttl).toBeGreaterThan(1000);
    expect(ttl).toBeLessThanOrEqual(2000);
    expect(await connections[0]?.hget(key, 'tokens')).not.toBeNull();
  });

  it('lets a message larger than the bucket go when the bucket is full, leaving a debt', async () => {
    const pacer = new RedisSegmentPacer(connect(), `${uniquePrefix('pace')}:`, FROM, { perSecond: 2 });
    expect(await pacer.take(5)).toBe(0);
    // 2 - 5 = -3; one more segment needs 4 at 2 a second.
    const wait = await pacer.take(1);
    expect(wait).toBeGreaterThan(1900);
    expect(wait).toBeLessThanOrEqual(2000);
  });

  it('keeps four racing workers together within the pace over a window', async () => {
    const perSecond = 30;
    const prefix = `${uniquePrefix('pace')}:`;
    const workers = Array.from(
      { length: 4 },
      () => new RedisSegmentPacer(connect(), prefix, FROM, { perSecond }),
    );
    const sent: Array<{ at: number; segments: number }> = [];
    const start = Date.now();
    const runFor = 3000;
    await Promise.all(
      workers.map(async (pacer: SegmentPacer, i) => {
        const segments = (i % 3) + 1;
        while (Date.now() - start < runFor) {
          const wait = await pacer.take(segments);
          if (wait === 0) sent.push({ at: Date.now() - start, segments });
          else await sleep(Math.min(wait, runFor));
        }
      }),
    );
    // A token bucket's bound: at most one second's burst plus the pace over any window
    // (plus one message: the times are taken here, a round trip after Redis' clock).
    for (const window of [1000, runFor]) {
      for (const { at: from } of sent) {
        const within = sent
          .filter((s) => s.at >= from && s.at < from + window)
          .reduce((n, s) => n + s.segments, 0);
        expect(within).toBeLessThanOrEqual(perSecond + (perSecond * window) / 1000 + 3);
      }
    }
    // And close to it: none of the pace is lost to the racing.
    const total = sent.reduce((n, s) => n + s.segments, 0);
    expect(total).toBeGreaterThanOrEqual(perSecond + perSecond * (runFor / 1000) * 0.85);
  });
});

describe('SMS send() with a pacer', () => {
  let world: SmsWorld;
  beforeAll(async () => {
    world = await startSmsWorld();
  });
  afterAll(async () => world?.close());

  let replies = 0;
  const reply = (text: string): OutboundJob => ({
    channel: 'sms',
    replyId: `sms:pace:r${replies++}`,
    conversationId: '+4791000011',
    lang: 'ur',
    dir: 'rtl',
    text,
    choices: [],
  });

  it("takes each part's segments; when it must wait it throws RateLimited with the wait, and a retry skips the parts sent", async () => {
    const asked: number[] = [];
    const answers = [0, 250, 0];
    const pace: SegmentPacer = {
      take: async (segments) => {
        asked.push(segments);
        return answers.shift() ?? 0;
      },
    };
    const adapter = smsAdapter({
      settings: { ...world.settings, maxChars: URDU.length + 1 },
      bus: world.bus,
      optOuts: world.optOuts,
      state: world.state,
      texts: smsTexts,
      pace,
    });
    // Two parts of 3 and 1 segments: the split falls at the paragraph break.
    const job = reply(`${URDU}\n\nشکریہ`);
    const err = await adapter.send(job).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({
      code: ErrorCode.RateLimited,
      retryAfterMs: 250,
      context: { replyId: job.replyId, part: 1, segments: 1 },
    });
    // The message text stays out of the error.
    expect((err as Error).message).not.toContain('شکریہ');
    expect(world.fake.sent.map((m) => m.body)).toEqual([URDU]);

    await adapter.send(job);
    expect(world.fake.sent.map((m) => m.body)).toEqual([URDU, 'شکریہ']);
    expect(asked).toEqual([3, 1, 1]);
  });
});
