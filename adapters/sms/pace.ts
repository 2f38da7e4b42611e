import type { Redis } from 'ioredis';
import { ErrorCode, PermanentError } from '../../src/errors.ts';

/**
 * Pacing sends by segments, not messages: a sender takes about 10 segments a second
 * (Twilio, outside US/Canada) and a UCS-2 text (Urdu, Arabic, Tamil …) costs 2–3 of
 * them. A token bucket per sender: it refills at `perSecond` segments a second and
 * holds one second's worth; a message larger than that may go when the bucket is full,
 * leaving a debt the next messages wait out.
 */
export interface SegmentPacer {
  /**
   * Asks to send `segments` now. 0: go, they are taken from the sender's budget.
   * Otherwise the ms to wait before asking again; nothing is taken.
   */
  take(segments: number): Promise<number>;
}

export interface PaceOptions {
  /** Segments a second the sender takes (SMS_SEGMENTS_PER_SECOND); the bucket holds one second's worth. */
  perSecond: number;
}

/** A bucket's level at time `at` (ms). `tokens` goes below 0 after a message larger than the bucket. */
export interface Bucket {
  tokens: number;
  at: number;
}

/**
 * One take from a bucket (`undefined`: full) at `now` ms: the bucket after it and the
 * ms to wait (0 = taken). Pure; the Redis script below is the same rule in Lua.
 */
export function takeTokens(
  bucket: Bucket | undefined,
  segments: number,
  now: number,
  perSecond: number,
): { bucket: Bucket; waitMs: number } {
  const capacity = perSecond;
  let { tokens, at } = bucket ?? { tokens: capacity, at: now };
  // A clock that steps back refills nothing until it passes `at` again.
  if (now > at) {
    tokens = Math.min(capacity, tokens + ((now - at) * perSecond) / 1000);
    at = now;
  }
  const need = Math.min(segments, capacity);
  if (tokens < need) {
    return { bucket: { tokens, at }, waitMs: Math.max(1, Math.ceil(((need - tokens) * 1000) / perSecond)) };
  }
  return { bucket: { tokens: tokens - segments, at }, waitMs: 0 };
}

function checked(opts: PaceOptions): PaceOptions {
  if (!Number.isFinite(opts.perSecond) || opts.perSecond <= 0) {
    throw new PermanentError(ErrorCode.Config, 'SMS pace: perSecond must be a positive number', {
      context: { perSecond: opts.perSecond },
    });
  }
  return opts;
}

/** For `npm start` (one process, no Redis) and unit tests. `now` drives the refill. */
export class MemorySegmentPacer implements SegmentPacer {
  private bucket: Bucket | undefined;
  private readonly perSecond: number;

  constructor(
    options: PaceOptions,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.perSecond = checked(options).perSecond;
  }

  async take(segments: number): Promise<number> {
    if (segments <= 0) return 0;
    const { bucket, waitMs } = takeTokens(this.bucket, segments, this.now().getTime(), this.perSecond);
    this.bucket = bucket;
    return waitMs;
  }
}

/**
 * `takeTokens` in one script, so racing workers never both spend the same tokens. The
 * clock is Redis' own TIME: every worker process reads the same one, whatever its host's
 * drift. `at` is kept as a string of whole microseconds, so no float formatting rounds
 * it. The key expires when the bucket would be full again, which is what a missing key
 * means.
 * KEYS[1] bucket hash; ARGV[1] segments a second; ARGV[2] segments asked for.
 */
const PACE_LUA = `
local rate = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local capacity = rate
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local saved = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(saved[1]) or capacity
local at = tonumber(saved[2]) or now
if now > at then
  tokens = math.min(capacity, tokens + (now - at) * rate / 1000000)
  at = now
end
local need = math.min(n, capacity)
if tokens < need then
  return math.max(1, math.ceil((need - tokens) * 1000 / rate))
end
tokens = tokens - n
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', string.format('%.0f', at))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) * 1000 / rate) + 1000)
return 0
`;

interface PaceCommands {
  skolebroSmsPace(key: string, perSecond: number, segments: number): Promise<number>;
}

/**
 * The bucket every worker process shares: the hash `<prefix>sms:pace:<sender>` (fields
 * `tokens`, `at`), one script call per take.
 */
export class RedisSegmentPacer implements SegmentPacer {
  private readonly key: string;
  private readonly perSecond: number;
  private readonly cmd: PaceCommands;

  /** `prefix` goes in front of the key as is, e.g. `skolebro:`; `sender` is SMS_FROM. */
  constructor(redis: Redis, prefix: string, sender: string, options: PaceOptions) {
    this.perSecond = checked(options).perSecond;
    this.key = `${prefix}sms:pace:${sender}`;
    redis.defineCommand('skolebroSmsPace', { numberOfKeys: 1, lua: PACE_LUA });
    this.cmd = redis as unknown as PaceCommands;
  }

  async take(segments: number): Promise<number> {
    if (segments <= 0) return 0;
    return Number(await this.cmd.skolebroSmsPace(this.key, this.perSecond, segments));
  }
}
