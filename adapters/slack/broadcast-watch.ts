import type { Redis } from 'ioredis';
import { z } from 'zod';
import {
  followedWatch,
  MemoryWatchStore,
  RedisWatchStore,
  type WatchStore,
} from '../../src/broadcast/watch.ts';

/**
 * A Slack progress message that follows one announcement until it settles: which
 * message to update, for whom, and when it is next due. Shared by every process; the
 * stores are src/broadcast/watch.ts's.
 */
export const progressWatch = followedWatch.extend({
  /** The progress message. */
  channel: z.string(),
  ts: z.string(),
});
export type ProgressWatch = z.infer<typeof progressWatch>;

export type ProgressWatches = WatchStore<ProgressWatch>;

/** For `npm start` (one process) and unit tests. */
export class MemoryProgressWatches extends MemoryWatchStore<ProgressWatch> {}

/**
 * Redis, under `<prefix>slack:`: `bc-watch` (hash: announcement id → the watch as
 * JSON) and `bc-claim:<id>` (a short lock, SET NX PX). A watch is removed when its
 * announcement settles, or after the adapter's maximum age.
 */
export class RedisProgressWatches extends RedisWatchStore<ProgressWatch> {
  /** `prefix` goes in front of every key as is, e.g. `skolebro:`. */
  constructor(redis: Redis, prefix: string) {
    super(redis, `${prefix}slack:`, progressWatch);
  }
}
