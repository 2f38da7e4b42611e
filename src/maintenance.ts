import type { Logger } from './log.ts';
import type { RedisStore } from './store/redis.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface RetentionOptions {
  retentionDays: number;
  log: Logger;
  /** How often to look for expired messages. Default hourly. */
  everyMs?: number;
  now?: () => Date;
}

/**
 * Removes messages older than the retention period, hourly. Keys also expire on
 * their own; this catches long-lived conversations whose old messages would outlive
 * the period. Every worker runs it; a Redis lock lets only one of them do each round.
 */
export function startRetentionPurge(store: RedisStore, opts: RetentionOptions) {
  const every = opts.everyMs ?? 60 * 60 * 1000;
  const now = opts.now ?? (() => new Date());
  let running = false;
  const round = async () => {
    if (running) return;
    running = true;
    try {
      if (!(await store.claimRound('purge', Math.max(1, Math.floor(every / 1000) - 1)))) return;
      const cutoff = new Date(now().getTime() - opts.retentionDays * DAY_MS);
      const removed = await store.purgeOlderThan(cutoff);
      if (removed > 0) opts.log.info({ removed, retentionDays: opts.retentionDays }, 'retention purge');
    } catch (err) {
      opts.log.warn({ err: { message: (err as Error).message } }, 'retention purge failed');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void round(), every);
  timer.unref();
  void round();
  return { stop: () => clearInterval(timer), round };
}
