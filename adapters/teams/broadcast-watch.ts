import type { Redis } from 'ioredis';
import { z } from 'zod';
import {
  followedWatch,
  fromJson,
  MemoryWatchStore,
  RedisWatchStore,
  type WatchStore,
} from '../../src/broadcast/watch.ts';

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

/** A progress card following one announcement until it settles (the preview card, replaced in place). */
export const progressWatch = previewCard.extend(followedWatch.shape);
export type ProgressWatch = z.infer<typeof progressWatch>;

export interface TeamsBroadcastState {
  savePreview(card: PreviewCard): Promise<void>;
  preview(id: string): Promise<PreviewCard | undefined>;
  /** The progress cards followed, and the claims on them (src/broadcast/watch.ts). */
  readonly watches: WatchStore<ProgressWatch>;
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

/** For `npm start` (one process) and unit tests. `now` drives expiry. */
export class MemoryTeamsBroadcastState implements TeamsBroadcastState {
  readonly watches: MemoryWatchStore<ProgressWatch>;
  private readonly previews = new Map<string, { card: PreviewCard; until: number }>();
  private readonly until = new Map<string, number>();
  private readonly previewTtlMs: number;

  constructor(
    private readonly now: () => Date = () => new Date(),
    options: TeamsBroadcastStateOptions = {},
  ) {
    this.watches = new MemoryWatchStore(now);
    this.previewTtlMs = (options.previewTtlSeconds ?? DEFAULT_PREVIEW_TTL_SECONDS) * 1000;
  }

  async savePreview(card: PreviewCard) {
    this.previews.set(card.id, { card: { ...card }, until: this.now().getTime() + this.previewTtlMs });
  }

  async preview(id: string) {
    const entry = this.previews.get(id);
    return entry && entry.until > this.now().getTime() ? { ...entry.card } : undefined;
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

/**
 * Redis, under `<prefix>teams:`: `bc-preview:<id>` (the preview card, TTL 30 days),
 * `bc-watch` (hash: announcement id → the followed progress card, removed when it
 * settles), `bc-claim:<id>` (a short lock, SET NX PX) and `bc-seen:<message id>` (a
 * broadcast message taken, 24 h). Every command names one key (Redis Cluster).
 */
export class RedisTeamsBroadcastState implements TeamsBroadcastState {
  readonly watches: RedisWatchStore<ProgressWatch>;
  private readonly previewTtlSeconds: number;

  /** `prefix` goes in front of every key as is, e.g. `skolebro:`. */
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    options: TeamsBroadcastStateOptions = {},
  ) {
    this.watches = new RedisWatchStore(redis, `${prefix}teams:`, progressWatch);
    this.previewTtlSeconds = options.previewTtlSeconds ?? DEFAULT_PREVIEW_TTL_SECONDS;
  }

  private key(k: string) {
    return `${this.prefix}teams:${k}`;
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
    return fromJson(previewCard, await this.redis.get(this.key(`bc-preview:${id}`)));
  }

  async firstDelivery(messageId: string, ttlMs: number) {
    return (await this.redis.set(this.key(`bc-seen:${messageId}`), '1', 'PX', ttlMs, 'NX')) === 'OK';
  }

  async forgetDelivery(messageId: string) {
    await this.redis.del(this.key(`bc-seen:${messageId}`));
  }
}
