import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTwilio } from '../../adapters/sms/fake-twilio.ts';
import { countSegments } from '../../adapters/sms/segments.ts';
import { type App, createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import type { OutboundJob } from '../../src/queue/jobs.ts';
import { startRedis, type TestRedis, uniquePrefix } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait.ts';
import { data, locales, nlu, ROOT } from '../helpers/world.ts';

/**
 * SMS pacing end to end: two worker processes' worth of the real app (each its own
 * BullMQ workers and Redis connections) on one private redis-server, sending a batch of
 * three-segment Urdu texts to the fake Twilio from one sender. Together they keep to
 * SMS_SEGMENTS_PER_SECOND, and every message arrives once.
 */

const PUBLIC = 'https://skolebro.example';
const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
const TOKEN = 'sms-pace-token';
const PER_SECOND = 20;
const MESSAGES = 40;
/** About 150 UTF-16 units of Urdu: UCS-2, three segments (with the number added). */
const URDU =
  'محترم والدین، کل اسکول میں والدین کی میٹنگ شام چھ بجے ہوگی۔ براہ کرم وقت پر تشریف لائیں اور اپنے بچے کی ' +
  'ہفتہ وار منصوبہ بندی ساتھ لائیں۔ شکریہ، کلاس ٹیچر';

let redis: TestRedis;
let twilio: FakeTwilio;
const workers: App[] = [];

beforeAll(async () => {
  redis = await startRedis();
  twilio = await FakeTwilio.start({ accountSid: ACCOUNT_SID, authToken: TOKEN });
  const config = loadConfig(
    {
      LOG_LEVEL: 'silent',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniquePrefix('sms-pace'),
      SMS_ACCOUNT_SID: ACCOUNT_SID,
      SMS_AUTH_TOKEN: TOKEN,
      SMS_FROM: '+4759440000',
      SMS_API_BASE_URL: twilio.url,
      PUBLIC_BASE_URL: PUBLIC,
      SMS_SEGMENTS_PER_SECOND: String(PER_SECOND),
    },
    ROOT,
  );
  for (let i = 0; i < 2; i++) {
    workers.push(
      await createApp(
        { ...config, LOCALES_DIR: join(ROOT, 'locales') },
        { locales, nlu: nlu(), directory: data },
        { log: createLogger('silent'), role: 'worker' },
      ),
    );
  }
}, 60_000);

afterAll(async () => {
  for (const app of workers) await app.close();
  await twilio?.close();
  await redis?.stop();
}, 30_000);

describe('SMS pacing across worker processes', () => {
  it('keeps a batch of UCS-2 texts to the sender’s segments per second, each sent once', async () => {
    const jobs: OutboundJob[] = Array.from({ length: MESSAGES }, (_, i) => ({
      channel: 'sms',
      replyId: `sms:pace-e2e:${i}`,
      conversationId: `+479200${String(i).padStart(4, '0')}`,
      lang: 'ur',
      dir: 'rtl',
      text: `${URDU} ${i}`,
      choices: [],
    }));
    expect(jobs.every((j) => countSegments(j.text).segments === 3)).toBe(true);
    await (workers[0] as App).bus.enqueueOutboundBulk(jobs);
    await waitFor('every message at the fake Twilio', () => twilio.sent.length >= MESSAGES, 15_000);

    // Exactly once each.
    expect(twilio.sent.map((m) => m.body).sort()).toEqual(jobs.map((j) => j.text).sort());
    for (const job of jobs) {
      expect((await (workers[1] as App).store.receipt(job.replyId))?.status).toBe('sent');
    }

    // At most one second's burst plus the pace over any window, and one message for the
    // HTTP hop between the pacer and the fake's clock.
    const sent = twilio.sent.map((m) => ({ at: m.at, segments: countSegments(m.body).segments }));
    const first = Math.min(...sent.map((s) => s.at));
    const last = Math.max(...sent.map((s) => s.at));
    for (const window of [1000, 2000, last - first + 1]) {
      for (const { at: from } of sent) {
        const within = sent
          .filter((s) => s.at >= from && s.at < from + window)
          .reduce((n, s) => n + s.segments, 0);
        expect(within).toBeLessThanOrEqual(PER_SECOND + (PER_SECOND * window) / 1000 + 3);
      }
    }
    // 120 segments: 20 at once, the other 100 at 20 a second, so about 5 s, with little lost to re-polling.
    const seconds = (last - first) / 1000;
    expect(seconds).toBeGreaterThan(((MESSAGES * 3 - PER_SECOND - 3) / PER_SECOND) * 0.95);
    expect(seconds).toBeLessThan((MESSAGES * 3 - PER_SECOND) / PER_SECOND + 3);

    // Which process takes which job is BullMQ's choice (racing takers on one bucket are
    // sms-pace.test.ts); together they sent each once, and waiting for the pace is not a
    // failure (nothing counted or logged as one).
    let sends = 0;
    for (const app of workers) {
      sends += (await app.metrics.sends.get()).values.reduce((n, v) => n + v.value, 0);
      const failures = (await app.metrics.jobFailures.get()).values.reduce((n, v) => n + v.value, 0);
      expect(failures).toBe(0);
    }
    expect(sends).toBe(MESSAGES);
  }, 30_000);
});
