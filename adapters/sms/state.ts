import type { Redis } from 'ioredis';

/**
 * The adapter's own small state, shared by every process: the options last offered to
 * a phone (so a reply "2" maps back to a choice value) and which parts of a split reply
 * the platform already accepted (so a retried send does not send them twice).
 */
export interface SmsState {
  /** Replaces the options offered to `phone` (values in the order shown); an empty list forgets them. */
  offerChoices(phone: string, values: readonly string[]): Promise<void>;
  /** The value of option `n` (from 1) last offered to `phone`, if still remembered. */
  choice(phone: string, n: number): Promise<string | undefined>;
  /** The platform message id of part `part` of a reply, if it was sent. */
  sentPart(replyId: string, part: number): Promise<string | undefined>;
  markPartSent(replyId: string, part: number, platformMessageId: string): Promise<void>;
}

export interface SmsStateOptions {
  /** How long offered options stay answerable by number, in seconds. Default 86400 (a day). */
  choicesTtlSeconds?: number;
  /** How long sent-part markers are kept; longer than the queue retries a send. Default 604800 (7 days). */
  sentTtlSeconds?: number;
}

const DEFAULTS = { choicesTtlSeconds: 86_400, sentTtlSeconds: 7 * 86_400 };

/** For `npm start` and unit tests. `now` drives expiry. */
export class MemorySmsState implements SmsState {
  private readonly entries = new Map<string, { value: Map<string, string>; until: number }>();
  private readonly opts: Required<SmsStateOptions>;

  constructor(
    options: SmsStateOptions = {},
    private readonly now: () => Date = () => new Date(),
  ) {
    this.opts = { ...DEFAULTS, ...options };
  }

  async offerChoices(phone: string, values: readonly string[]) {
    const key = `choices:${phone}`;
    if (values.length === 0) this.entries.delete(key);
    else this.put(key, new Map(values.map((v, i) => [String(i + 1), v])), this.opts.choicesTtlSeconds);
  }

  async choice(phone: string, n: number) {
    return this.get(`choices:${phone}`)?.get(String(n));
  }

  async sentPart(replyId: string, part: number) {
    return this.get(`sent:${replyId}`)?.get(String(part));
  }

  async markPartSent(replyId: string, part: number, platformMessageId: string) {
    const key = `sent:${replyId}`;
    const parts = this.get(key) ?? new Map<string, string>();
    parts.set(String(part), platformMessageId);
    this.put(key, parts, this.opts.sentTtlSeconds);
  }

  private get(key: string) {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until > this.now().getTime()) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  private put(key: string, value: Map<string, string>, ttlSeconds: number) {
    this.entries.set(key, { value, until: this.now().getTime() + ttlSeconds * 1000 });
  }
}

/**
 * Redis hashes with a TTL: `<prefix>sms:choices:<phone>` (option number -> value) and
 * `<prefix>sms:sent:<replyId>` (part -> platform message id).
 */
export class RedisSmsState implements SmsState {
  private readonly opts: Required<SmsStateOptions>;

  /** `prefix` goes in front of every key as is, e.g. `skolebro:`. */
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    options: SmsStateOptions = {},
  ) {
    this.opts = { ...DEFAULTS, ...options };
  }

  async offerChoices(phone: string, values: readonly string[]) {
    const key = `${this.prefix}sms:choices:${phone}`;
    const tx = this.redis.multi().del(key);
    if (values.length > 0) {
      tx.hset(key, Object.fromEntries(values.map((v, i) => [String(i + 1), v])));
      tx.expire(key, this.opts.choicesTtlSeconds);
    }
    await tx.exec();
  }

  async choice(phone: string, n: number) {
    return (await this.redis.hget(`${this.prefix}sms:choices:${phone}`, String(n))) ?? undefined;
  }

  async sentPart(replyId: string, part: number) {
    return (await this.redis.hget(`${this.prefix}sms:sent:${replyId}`, String(part))) ?? undefined;
  }

  async markPartSent(replyId: string, part: number, platformMessageId: string) {
    const key = `${this.prefix}sms:sent:${replyId}`;
    await this.redis
      .multi()
      .hset(key, String(part), platformMessageId)
      .expire(key, this.opts.sentTtlSeconds)
      .exec();
  }
}
