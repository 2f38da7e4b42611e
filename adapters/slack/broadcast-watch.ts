import type { Redis } from 'ioredis';

/**
 * A Slack progress message that follows one announcement until it settles: which
 * message to update, for whom, and when it is next due. Shared by every process.
 */
export interface ProgressWatch {
  /** The announcement. */
  id: string;
  /** The sender (the progress is read with their rights). */
  staffId: string;
  /** The progress message. */
  channel: string;
  ts: string;
  /** The audience as the sender named it, and their language. */
  audience: string;
  lang: string;
  /** When sending started (ISO). */
  since: string;
  /** Next check due (epoch ms); unset: at once. */
  due?: number;
  /** Digest of the message as last posted: an equal one is not posted again. */
  last?: string;
}

export interface ProgressWatches {
  add(watch: ProgressWatch): Promise<void>;
  all(): Promise<ProgressWatch[]>;
  /** Replaces a watch that is still there: one removed meanwhile stays removed. */
  save(watch: ProgressWatch): Promise<void>;
  remove(id: string): Promise<void>;
  /** The right to check announcement `id` for `ttlMs`, so two processes do not both update it. */
  claim(id: string, ttlMs: number): Promise<boolean>;
  release(id: string): Promise<void>;
}

/** For `npm start` (one process) and unit tests. */
export class MemoryProgressWatches implements ProgressWatches {
  private readonly watches = new Map<string, ProgressWatch>();
  private readonly claims = new Map<string, number>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  async add(watch: ProgressWatch) {
    this.watches.set(watch.id, { ...watch });
  }

  async all() {
    return [...this.watches.values()].map((w) => ({ ...w }));
  }

  async save(watch: ProgressWatch) {
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

/** Sets a hash field only if it exists: a watch removed by another process is not brought back. */
const SAVE_IF_PRESENT = `if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  return redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return -1`;

/**
 * Redis, under `<prefix>slack:`: `bc-watch` (hash: announcement id → the watch as
 * JSON) and `bc-claim:<id>` (a short lock, SET NX PX). A watch is removed when its
 * announcement settles, or after the adapter's maximum age.
 */
export class RedisProgressWatches implements ProgressWatches {
  /** `prefix` goes in front of every key as is, e.g. `skolebro:`. */
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private get hash() {
    return `${this.prefix}slack:bc-watch`;
  }

  async add(watch: ProgressWatch) {
    await this.redis.hset(this.hash, watch.id, JSON.stringify(watch));
  }

  async all() {
    const rows = await this.redis.hgetall(this.hash);
    const watches: ProgressWatch[] = [];
    for (const [id, json] of Object.entries(rows)) {
      try {
        watches.push(JSON.parse(json) as ProgressWatch);
      } catch {
        await this.redis.hdel(this.hash, id);
      }
    }
    return watches;
  }

  async save(watch: ProgressWatch) {
    await this.redis.eval(SAVE_IF_PRESENT, 1, this.hash, watch.id, JSON.stringify(watch));
  }

  async remove(id: string) {
    await this.redis.hdel(this.hash, id);
  }

  async claim(id: string, ttlMs: number) {
    return (await this.redis.set(`${this.prefix}slack:bc-claim:${id}`, '1', 'PX', ttlMs, 'NX')) === 'OK';
  }

  async release(id: string) {
    await this.redis.del(`${this.prefix}slack:bc-claim:${id}`);
  }
}
