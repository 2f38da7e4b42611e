import type { Redis } from 'ioredis';

/** A Slack message: its channel and ts (a thread's root names the thread). */
export interface SlackRef {
  channel: string;
  ts: string;
}

/**
 * The adapter's own state, shared by every process: which Slack thread carries which
 * Skolebro thread (both ways, so a staff reply in it finds its parent), the DM channel
 * opened per user, and which parts of a reply Slack already took (so a retried send
 * does not post them twice).
 */
export interface SlackState {
  /** The Slack thread of Skolebro thread `threadId` at `place` (a staff user id, or the staff channel). */
  thread(threadId: string, place: string): Promise<SlackRef | undefined>;
  /** Records (or refreshes) the Slack thread of `threadId` at `place`, both ways. */
  saveThread(threadId: string, place: string, root: SlackRef): Promise<void>;
  /** The Skolebro thread a Slack thread (its channel and root ts) stands for. */
  threadAt(channel: string, rootTs: string): Promise<string | undefined>;
  /**
   * Claims the right to start the Slack thread of `threadId` at `place` for `ttlMs`, so
   * two workers do not both post a first notice. False while someone else holds it.
   */
  claimThread(threadId: string, place: string, ttlMs: number): Promise<boolean>;
  releaseThread(threadId: string, place: string): Promise<void>;
  dmChannel(user: string): Promise<string | undefined>;
  saveDmChannel(user: string, channel: string): Promise<void>;
  /** Where part `part` of a reply was posted, if Slack took it. */
  sentPart(replyId: string, part: number): Promise<SlackRef | undefined>;
  markPartSent(replyId: string, part: number, ref: SlackRef): Promise<void>;
}

export interface SlackStateOptions {
  /**
   * How long a thread mapping lives after its last notice, in seconds; a staff reply in an
   * older Slack thread is no longer relayed. Default 15552000 (180 days, the default retention).
   */
  threadTtlSeconds?: number;
  /** How long sent-part markers are kept; longer than the queue retries a send. Default 604800 (7 days). */
  sentTtlSeconds?: number;
}

const DEFAULTS = { threadTtlSeconds: 180 * 86_400, sentTtlSeconds: 7 * 86_400 };

const encode = (ref: SlackRef) => `${ref.channel}/${ref.ts}`;
function decode(value: string | null | undefined): SlackRef | undefined {
  if (!value) return undefined;
  const [channel, ts] = value.split('/');
  return channel && ts ? { channel, ts } : undefined;
}

/** For `npm start` and unit tests. `now` drives expiry. */
export class MemorySlackState implements SlackState {
  private readonly entries = new Map<string, { value: string; until: number }>();
  private readonly opts: Required<SlackStateOptions>;

  constructor(
    options: SlackStateOptions = {},
    private readonly now: () => Date = () => new Date(),
  ) {
    this.opts = { ...DEFAULTS, ...options };
  }

  async thread(threadId: string, place: string) {
    return decode(this.get(`thread:${threadId}|${place}`));
  }

  async saveThread(threadId: string, place: string, root: SlackRef) {
    const ttl = this.opts.threadTtlSeconds * 1000;
    this.put(`thread:${threadId}|${place}`, encode(root), ttl);
    this.put(`root:${root.channel}:${root.ts}`, threadId, ttl);
  }

  async threadAt(channel: string, rootTs: string) {
    return this.get(`root:${channel}:${rootTs}`);
  }

  async claimThread(threadId: string, place: string, ttlMs: number) {
    const key = `claim:${threadId}|${place}`;
    if (this.get(key) !== undefined) return false;
    this.put(key, '1', ttlMs);
    return true;
  }

  async releaseThread(threadId: string, place: string) {
    this.entries.delete(`claim:${threadId}|${place}`);
  }

  async dmChannel(user: string) {
    return this.get(`dm:${user}`);
  }

  async saveDmChannel(user: string, channel: string) {
    this.put(`dm:${user}`, channel, Number.POSITIVE_INFINITY);
  }

  async sentPart(replyId: string, part: number) {
    return decode(this.get(`sent:${replyId}:${part}`));
  }

  async markPartSent(replyId: string, part: number, ref: SlackRef) {
    this.put(`sent:${replyId}:${part}`, encode(ref), this.opts.sentTtlSeconds * 1000);
  }

  private get(key: string): string | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until > this.now().getTime()) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  private put(key: string, value: string, ttlMs: number) {
    this.entries.set(key, { value, until: this.now().getTime() + ttlMs });
  }
}

/**
 * Redis, every key under `<prefix>slack:`: `thread:<threadId>` (hash: place -> channel/ts,
 * with a TTL refreshed by each notice), `root:<channel>:<ts>` (-> threadId, same TTL),
 * `dm` (hash: user -> DM channel), `sent:<replyId>` (hash: part -> channel/ts, TTL) and
 * `claim:<threadId>|<place>` (a short lock, SET NX PX).
 */
export class RedisSlackState implements SlackState {
  private readonly opts: Required<SlackStateOptions>;

  /** `prefix` goes in front of every key as is, e.g. `skolebro:`. */
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    options: SlackStateOptions = {},
  ) {
    this.opts = { ...DEFAULTS, ...options };
  }

  private key(...parts: string[]) {
    return `${this.prefix}slack:${parts.join(':')}`;
  }

  async thread(threadId: string, place: string) {
    return decode(await this.redis.hget(this.key('thread', threadId), place));
  }

  async saveThread(threadId: string, place: string, root: SlackRef) {
    const forward = this.key('thread', threadId);
    const back = this.key('root', root.channel, root.ts);
    const ttl = this.opts.threadTtlSeconds;
    await this.redis
      .multi()
      .hset(forward, place, encode(root))
      .expire(forward, ttl)
      .set(back, threadId, 'EX', ttl)
      .exec();
  }

  async threadAt(channel: string, rootTs: string) {
    return (await this.redis.get(this.key('root', channel, rootTs))) ?? undefined;
  }

  async claimThread(threadId: string, place: string, ttlMs: number) {
    const won = await this.redis.set(this.key('claim', `${threadId}|${place}`), '1', 'PX', ttlMs, 'NX');
    return won === 'OK';
  }

  async releaseThread(threadId: string, place: string) {
    await this.redis.del(this.key('claim', `${threadId}|${place}`));
  }

  async dmChannel(user: string) {
    return (await this.redis.hget(this.key('dm'), user)) ?? undefined;
  }

  async saveDmChannel(user: string, channel: string) {
    await this.redis.hset(this.key('dm'), user, channel);
  }

  async sentPart(replyId: string, part: number) {
    return decode(await this.redis.hget(this.key('sent', replyId), String(part)));
  }

  async markPartSent(replyId: string, part: number, ref: SlackRef) {
    const key = this.key('sent', replyId);
    await this.redis
      .multi()
      .hset(key, String(part), encode(ref))
      .expire(key, this.opts.sentTtlSeconds)
      .exec();
  }
}
