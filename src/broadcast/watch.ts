import type { Redis } from 'ioredis';
import { z } from 'zod';

/**
 * The chat platforms' progress messages being followed until their announcement settles
 * (Slack's progress message, Teams' progress card), shared by every process: which
 * announcement, for whom, when it is next due, and a short claim per announcement so one
 * process updates its message at a time. Each adapter adds where its message is.
 */

/** What every followed progress message has; an adapter's watch extends it with its message's address. */
export const followedWatch = z.object({
  /** The announcement. */
  id: z.string(),
  /** The sender (the progress is read with their rights). */
  staffId: z.string(),
  /** The audience as the sender named it, and their language. */
  audience: z.string(),
  lang: z.string(),
  /** When sending started (ISO). */
  since: z.string(),
  /** Next check due (epoch ms); unset: at once. */
  due: z.number().optional(),
  /** Digest of the message as last shown: an equal one is not sent again. */
  last: z.string().optional(),
});
export type FollowedWatch = z.infer<typeof followedWatch>;

export interface WatchStore<W extends FollowedWatch> {
  add(watch: W): Promise<void>;
  all(): Promise<W[]>;
  get(id: string): Promise<W | undefined>;
  /** Replaces a watch that is still there: one removed meanwhile stays removed. */
  save(watch: W): Promise<void>;
  remove(id: string): Promise<void>;
  /** The right to check announcement `id` for `ttlMs`, so two processes do not both update its message. */
  claim(id: string, ttlMs: number): Promise<boolean>;
  release(id: string): Promise<void>;
}

/** For `npm start` (one process) and unit tests. `now` drives the claims' expiry. */
export class MemoryWatchStore<W extends FollowedWatch> implements WatchStore<W> {
  private readonly watches = new Map<string, W>();
  private readonly claims = new Map<string, number>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  async add(watch: W) {
    this.watches.set(watch.id, { ...watch });
  }

  async all() {
    return [...this.watches.values()].map((w) => ({ ...w }));
  }

  async get(id: string) {
    const watch = this.watches.get(id);
    return watch ? { ...watch } : undefined;
  }

  async save(watch: W) {
    if (this.watches.has(watch.id)) this.watches.set(watch.id, { ...watch });
  }

  async remove(id: string) {
    this.watches.delete(id);
  }

  async claim(id: string, ttlMs: number) {
    const until = this.claims.get(id);
    const now = this.now().getTime();
    if (until !== undefined && until > now) return false;
    this.claims.set(id, now + ttlMs);
    return true;
  }

  async release(id: string) {
    this.claims.delete(id);
  }
}

/** Stored JSON back as a value, or undefined when it is not one (a damaged entry is not trusted). */
export function fromJson<T>(schema: z.ZodType<T>, raw: string | null | undefined): T | undefined {
  if (!raw) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Sets a hash field only if it exists: a watch removed by another process is not brought back. */
const SAVE_IF_PRESENT = `if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  return redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return -1`;

/**
 * Redis, under `keyPrefix` (e.g. `skolebro:slack:`): `bc-watch` (hash: announcement id →
 * the watch as JSON) and `bc-claim:<id>` (a short lock, SET NX PX). A stored watch that
 * `schema` does not accept is damaged: it is dropped when read. Every command names one
 * key (Redis Cluster).
 */
export class RedisWatchStore<W extends FollowedWatch> implements WatchStore<W> {
  /** `keyPrefix` goes in front of every key as is. */
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly schema: z.ZodType<W>,
  ) {}

  private get hash() {
    return `${this.keyPrefix}bc-watch`;
  }

  private claimKey(id: string) {
    return `${this.keyPrefix}bc-claim:${id}`;
  }

  private parse(raw: string | null | undefined): W | undefined {
    return fromJson(this.schema, raw);
  }

  async add(watch: W) {
    await this.redis.hset(this.hash, watch.id, JSON.stringify(watch));
  }

  async all() {
    const rows = await this.redis.hgetall(this.hash);
    const watches: W[] = [];
    for (const [id, json] of Object.entries(rows)) {
      const watch = this.parse(json);
      if (watch) watches.push(watch);
      else await this.redis.hdel(this.hash, id);
    }
    return watches;
  }

  async get(id: string) {
    return this.parse(await this.redis.hget(this.hash, id));
  }

  async save(watch: W) {
    await this.redis.eval(SAVE_IF_PRESENT, 1, this.hash, watch.id, JSON.stringify(watch));
  }

  async remove(id: string) {
    await this.redis.hdel(this.hash, id);
  }

  async claim(id: string, ttlMs: number) {
    return (await this.redis.set(this.claimKey(id), '1', 'PX', ttlMs, 'NX')) === 'OK';
  }

  async release(id: string) {
    await this.redis.del(this.claimKey(id));
  }
}
