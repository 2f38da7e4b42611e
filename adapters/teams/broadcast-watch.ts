import type { Redis } from 'ioredis';
import { z } from 'zod';

/**
 * What Teams broadcasts keep between requests, shared by every process: where each
 * preview card is (a press on its buttons updates it), the progress cards being followed
 * until their announcement settles, short claims so one process updates a card at a time,
 * and the broadcast messages already taken (Teams delivers a message again when our
 * answer is late).
 */

/** A preview card in a sender's personal chat with the bot. */
export const previewCard = z.object({
  /** The announcement. */
  id: z.string(),
  /** The sender: only their presses count, and progress is read with their rights. */
  staffId: z.string(),
  conversationId: z.string(),
  /** The card's activity id: the one updated in place. */
  activityId: z.string(),
  /** The audience as the sender named it, and their language. */
  audience: z.string(),
  lang: z.string(),
  /** The Norwegian text (shortened), kept on the cards that replace the preview. */
  text: z.string(),
});
export type PreviewCard = z.infer<typeof previewCard>;

/** A progress card following one announcement until it settles. */
export const progressWatch = previewCard.extend({
  /** When sending started (ISO). */
  since: z.string(),
  /** Next check due (epoch ms); unset: at once. */
  due: z.number().optional(),
  /** Digest of the card as last shown: an equal one is not sent again. */
  last: z.string().optional(),
});
export type ProgressWatch = z.infer<typeof progressWatch>;

export interface TeamsBroadcastState {
  savePreview(card: PreviewCard): Promise<void>;
  preview(id: string): Promise<PreviewCard | undefined>;
  addWatch(watch: ProgressWatch): Promise<void>;
  watches(): Promise<ProgressWatch[]>;
  watch(id: string): Promise<ProgressWatch | undefined>;
  /** Replaces a watch that is still there: one removed meanwhile stays removed. */
  saveWatch(watch: ProgressWatch): Promise<void>;
  removeWatch(id: string): Promise<void>;
  /** The right to check announcement `id` for `ttlMs`, so two processes do not both update its card. */
  claim(id: string, ttlMs: number): Promise<boolean>;
  release(id: string): Promise<void>;
  /** True the first time a message id is seen within `ttlMs`; false for the channel's retries of it. */
  firstDelivery(messageId: string, ttlMs: number): Promise<boolean>;
  /** Forgets a message id, so that a retry is handled (its first handling failed). */
  forgetDelivery(messageId: string): Promise<void>;
}

export interface TeamsBroadcastStateOptions {
  /** How long a preview's buttons work, in seconds. Default 2592000 (30 days). */
  previewTtlSeconds?: number;
}

const DEFAULT_PREVIEW_TTL_SECONDS = 30 * 86_400;

/** Stored JSON back as a value, or undefined when it is not one (a damaged entry is not trusted). */
function parse<T>(schema: z.ZodType<T>, raw: string | null | undefined): T | undefined {
  if (!raw) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** For `npm start` (one process) and unit tests. `now` drives expiry. */
export class MemoryTeamsBroadcastState implements TeamsBroadcastState {
  private readonly previews = new Map<string, { card: PreviewCard; until: number }>();
  private readonly followed = new Map<string, ProgressWatch>();
  private readonly until = new Map<string, number>();
  private readonly previewTtlMs: number;

  constructor(
    private readonly now: () => Date = () => new Date(),
    options: TeamsBroadcastStateOptions = {},
  ) {
    this.previewTtlMs = (options.previewTtlSeconds ?? DEFAULT_PREVIEW_TTL_SECONDS) * 1000;
  }

  async savePreview(card: PreviewCard) {
    this.previews.set(card.id, { card: { ...card }, until: this.now().getTime() + this.previewTtlMs });
  }

  async preview(id: string) {
    const entry = this.previews.get(id);
    return entry && entry.until > this.now().getTime() ? { ...entry.card } : undefined;
  }

  async addWatch(watch: ProgressWatch) {
    this.followed.set(watch.id, { ...watch });
  }

  async watches() {
    return [...this.followed.values()].map((w) => ({ ...w }));
  }

  async watch(id: string) {
    const watch = this.followed.get(id);
    return watch ? { ...watch } : undefined;
  }

  async saveWatch(watch: ProgressWatch) {
    if (this.followed.has(watch.id)) this.followed.set(watch.id, { ...watch });
  }

  async removeWatch(id: string) {
    this.followed.delete(id);
  }

  async claim(id: string, ttlMs: number) {
    return this.take(`claim:${id}`, ttlMs);
  }

  async release(id: string) {
    this.until.delete(`claim:${id}`);
  }

  async firstDelivery(messageId: string, ttlMs: number) {
    return this.take(`seen:${messageId}`, ttlMs);
  }

  async forgetDelivery(messageId: string) {
    this.until.delete(`seen:${messageId}`);
  }

  /** SET NX PX in memory. */
  private take(key: string, ttlMs: number): boolean {
    const now = this.now().getTime();
    const until = this.until.get(key);
    if (until !== undefined && until > now) return false;
    this.until.set(key, now + ttlMs);
    return true;
  }
}

/** Sets a hash field only if it exists: a watch removed by another process is not brought back. */
const SAVE_IF_PRESENT = `if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  return redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return -1`;

/**
 * Redis, under `<prefix>teams:`: `bc-preview:<id>` (the preview card, TTL 30 days),
 * `bc-watch` (hash: announcement id → the followed progress card, removed when it
 * settles), `bc-claim:<id>` (a short lock, SET NX PX) and `bc-seen:<message id>` (a
 * broadcast message taken, 24 h). Every command names one key (Redis Cluster).
 */
export class RedisTeamsBroadcastState implements TeamsBroadcastState {
  private readonly previewTtlSeconds: number;

  /** `prefix` goes in front of every key as is, e.g. `skolebro:`. */
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    options: TeamsBroadcastStateOptions = {},
  ) {
    this.previewTtlSeconds = options.previewTtlSeconds ?? DEFAULT_PREVIEW_TTL_SECONDS;
  }

  private key(k: string) {
    return `${this.prefix}teams:${k}`;
  }

  private get hash() {
    return this.key('bc-watch');
  }

  async savePreview(card: PreviewCard) {
    await this.redis.set(
      this.key(`bc-preview:${card.id}`),
      JSON.stringify(card),
      'EX',
      this.previewTtlSeconds,
    );
  }

  async preview(id: string) {
    return parse(previewCard, await this.redis.get(this.key(`bc-preview:${id}`)));
  }

  async addWatch(watch: ProgressWatch) {
    await this.redis.hset(this.hash, watch.id, JSON.stringify(watch));
  }

  async watches() {
    const rows = await this.redis.hgetall(this.hash);
    const watches: ProgressWatch[] = [];
    for (const [id, json] of Object.entries(rows)) {
      const watch = parse(progressWatch, json);
      if (watch) watches.push(watch);
      else await this.redis.hdel(this.hash, id);
    }
    return watches;
  }

  async watch(id: string) {
    return parse(progressWatch, await this.redis.hget(this.hash, id));
  }

  async saveWatch(watch: ProgressWatch) {
    await this.redis.eval(SAVE_IF_PRESENT, 1, this.hash, watch.id, JSON.stringify(watch));
  }

  async removeWatch(id: string) {
    await this.redis.hdel(this.hash, id);
  }

  async claim(id: string, ttlMs: number) {
    return (await this.redis.set(this.key(`bc-claim:${id}`), '1', 'PX', ttlMs, 'NX')) === 'OK';
  }

  async release(id: string) {
    await this.redis.del(this.key(`bc-claim:${id}`));
  }

  async firstDelivery(messageId: string, ttlMs: number) {
    return (await this.redis.set(this.key(`bc-seen:${messageId}`), '1', 'PX', ttlMs, 'NX')) === 'OK';
  }

  async forgetDelivery(messageId: string) {
    await this.redis.del(this.key(`bc-seen:${messageId}`));
  }
}
