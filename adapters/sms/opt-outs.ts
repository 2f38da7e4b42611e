import type { Redis } from 'ioredis';

/** Why a number is opted out: the parent sent a keyword to us, or the platform told us (Twilio 21610). */
export type OptOutSource = 'keyword' | 'platform';

/**
 * The SMS opt-out registry. An opted-out number gets nothing from `send()` (replies and
 * broadcasts alike) until it opts in again with START. Keyed by E.164 phone.
 */
export interface OptOuts {
  optOut(phone: string, at: Date, source: OptOutSource): Promise<void>;
  optIn(phone: string): Promise<void>;
  isOptedOut(phone: string): Promise<boolean>;
  /** Which of `phones` are opted out, in one look-up (a broadcast asks for a thousand at a time). */
  optedOut(phones: readonly string[]): Promise<Set<string>>;
}

/** For `npm start` and unit tests; lost on restart. */
export class MemoryOptOuts implements OptOuts {
  private readonly numbers = new Map<string, { at: string; source: OptOutSource }>();

  async optOut(phone: string, at: Date, source: OptOutSource) {
    this.numbers.set(phone, { at: at.toISOString(), source });
  }

  async optIn(phone: string) {
    this.numbers.delete(phone);
  }

  async isOptedOut(phone: string) {
    return this.numbers.has(phone);
  }

  async optedOut(phones: readonly string[]) {
    return new Set(phones.filter((p) => this.numbers.has(p)));
  }
}

/**
 * One Redis hash `<prefix>sms:opt-outs` (phone -> JSON {at, source}), kept with no TTL:
 * an opt-out lasts until the parent opts in. One key, so it works unchanged on Cluster.
 */
export class RedisOptOuts implements OptOuts {
  private readonly key: string;

  /** `prefix` goes in front of the key as is, e.g. `skolebro:`. */
  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.key = `${prefix}sms:opt-outs`;
  }

  async optOut(phone: string, at: Date, source: OptOutSource) {
    await this.redis.hset(this.key, phone, JSON.stringify({ at: at.toISOString(), source }));
  }

  async optIn(phone: string) {
    await this.redis.hdel(this.key, phone);
  }

  async isOptedOut(phone: string) {
    return (await this.redis.hexists(this.key, phone)) === 1;
  }

  async optedOut(phones: readonly string[]) {
    if (phones.length === 0) return new Set<string>();
    const rows = await this.redis.hmget(this.key, ...phones);
    return new Set(phones.filter((_, i) => rows[i] !== null));
  }
}
