import { createHash } from 'node:crypto';
import { PermanentError, retryAfterOf } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { BroadcastService, ProgressView } from './service.ts';
import type { FollowedWatch, WatchStore } from './watch.ts';

/**
 * What the chat adapters (Slack, Teams) do after answering a staff member: work started
 * after the platform's request was answered, and progress messages kept up to date until
 * their announcement settles. Channel-neutral: the adapter says how a progress message is
 * rendered and updated; the follower says when.
 */

/** A claim outlives any one check; it is released when the check ends. */
export const CLAIM_MS = 30_000;
/** Progress messages older than this are checked once a minute. */
const SLOW_AFTER_MS = 15 * 60_000;
const SLOW_INTERVAL_MS = 60_000;

/** A short digest of a platform message: equal digests, nothing to update. Pure. */
export function digest(message: unknown): string {
  return createHash('sha256').update(JSON.stringify(message)).digest('base64url').slice(0, 22);
}

export interface Later {
  /** Runs `work` after the answer went out; a failure is logged (ids only), never thrown. */
  later(what: string, work: () => Promise<void>): void;
  /** Resolves when the work started so far, and any it started, has finished. */
  idle(): Promise<void>;
  /** Waits once for the work in flight (shutting down). */
  settled(): Promise<void>;
}

/** Work after answering; `name` (e.g. `slack broadcast`) starts its log lines. */
export function laterWork(name: string, log?: Logger): Later {
  const tasks = new Set<Promise<void>>();
  return {
    later(what, work) {
      const task: Promise<void> = work()
        .catch((err: Error) =>
          log?.error(
            { what, err: { message: err?.message, code: (err as { code?: unknown })?.code } },
            `${name}: failed after answering`,
          ),
        )
        .finally(() => tasks.delete(task));
      tasks.add(task);
    },
    async idle() {
      while (tasks.size > 0) await Promise.allSettled([...tasks]);
    },
    async settled() {
      await Promise.allSettled([...tasks]);
    },
  };
}

export interface ProgressFollowerOptions<W extends FollowedWatch, M> {
  /** Starts the log lines, e.g. `slack broadcast`. */
  name: string;
  service: Pick<BroadcastService, 'sender' | 'progress'>;
  watches: WatchStore<W>;
  /** The platform message showing `view` for `watch`. Pure. */
  render(view: ProgressView, watch: W): M;
  /** Replaces the watch's platform message with `message`. */
  update(watch: W, message: M): Promise<void>;
  /** Whether a failed update will never succeed, so the watch is dropped. Default: a `PermanentError`. */
  permanent?(err: unknown): boolean;
  /** How often progress messages are checked while young, in ms. Default 5000. */
  intervalMs?: number;
  /** A progress message is followed at most this long, in ms. Default 3 days (quiet hours, receipt timeouts). */
  maxAgeMs?: number;
  log?: Logger;
  now: () => Date;
}

export interface ProgressFollower {
  /** Starts the timer that runs `tick` (idempotent; not after `stop`). */
  start(): void;
  /** Stops the timer and waits for the round in flight. */
  stop(): Promise<void>;
  /**
   * One round of checks: each watch that is due, under its claim, is rendered from the
   * sender's progress and its message updated when what it shows changed. A watch is
   * dropped when its announcement settles, grows too old, can no longer be read, or its
   * message is refused for good; a failed update is tried again after the platform's
   * Retry-After (or the interval).
   */
  tick(): Promise<void>;
}

/**
 * Follows progress messages until their announcement settles: a timer in each process
 * that serves the platform checks the watches (kept in Redis), each under a short claim so
 * one process updates a message at a time. After a restart the watches are picked up again
 * by whichever process runs the timer.
 */
export function progressFollower<W extends FollowedWatch, M>(
  opts: ProgressFollowerOptions<W, M>,
): ProgressFollower {
  const { name, service, watches, log } = opts;
  const intervalMs = opts.intervalMs ?? 5000;
  const maxAgeMs = opts.maxAgeMs ?? 3 * 86_400_000;
  const permanent = opts.permanent ?? ((err: unknown) => err instanceof PermanentError);
  let timer: ReturnType<typeof setInterval> | undefined;
  let ticking: Promise<void> | undefined;
  let stopped = false;

  async function follow(watch: W) {
    const now = opts.now();
    const age = now.getTime() - Date.parse(watch.since);
    const sender = await service.sender(watch.staffId);
    const result = sender ? await service.progress(sender, watch.id) : undefined;
    if (!result?.ok) {
      await watches.remove(watch.id);
      log?.info({ broadcastId: watch.id }, `${name} progress: no longer readable, not followed`);
      return;
    }
    const message = opts.render(result.value, watch);
    const last = digest(message);
    if (last !== watch.last) {
      try {
        await opts.update(watch, message);
      } catch (err) {
        if (permanent(err)) {
          await watches.remove(watch.id);
          log?.warn(
            { broadcastId: watch.id, code: (err as { code?: unknown }).code },
            `${name} progress: update refused, not followed`,
          );
          return;
        }
        await watches.save({ ...watch, due: now.getTime() + (retryAfterOf(err) ?? intervalMs) });
        log?.warn(
          { broadcastId: watch.id, err: { message: (err as Error).message } },
          `${name} progress: update failed`,
        );
        return;
      }
    }
    if (result.value.settled || age > maxAgeMs) {
      await watches.remove(watch.id);
      return;
    }
    const next = age < SLOW_AFTER_MS ? intervalMs : SLOW_INTERVAL_MS;
    await watches.save({ ...watch, last, due: now.getTime() + next });
  }

  async function tick() {
    let all: W[];
    try {
      all = await watches.all();
    } catch (err) {
      log?.warn({ err: { message: (err as Error).message } }, `${name} progress: watches unreadable`);
      return;
    }
    for (const watch of all) {
      if (stopped) return;
      if (watch.due !== undefined && watch.due > opts.now().getTime()) continue;
      try {
        if (!(await watches.claim(watch.id, CLAIM_MS))) continue;
        try {
          await follow(watch);
        } finally {
          await watches.release(watch.id);
        }
      } catch (err) {
        log?.warn(
          { broadcastId: watch.id, err: { message: (err as Error).message } },
          `${name} progress: check failed`,
        );
      }
    }
  }

  return {
    start() {
      if (timer || stopped) return;
      timer = setInterval(() => {
        ticking ??= tick().finally(() => {
          ticking = undefined;
        });
      }, intervalMs);
      timer.unref();
    },

    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      await ticking;
    },

    tick,
  };
}

/** How a chat adapter's broadcast flow is run: the progress timer, and the work started after answering. */
export interface FlowRunner {
  /** Starts following progress messages (every process serving the platform; idempotent). */
  start(): void;
  /** Stops the timer and waits for work in flight. */
  stop(): Promise<void>;
  /** One round of progress checks: what the timer runs. */
  tick(): Promise<void>;
  /** Resolves when the work started after answering has finished. */
  idle(): Promise<void>;
}

/**
 * The follower and the work after answering, run together: what a chat adapter's flow
 * exposes (`FlowRunner`), and `later` for the flow itself.
 */
export function flowRunner<W extends FollowedWatch, M>(
  opts: ProgressFollowerOptions<W, M>,
): FlowRunner & Pick<Later, 'later'> {
  const work = laterWork(opts.name, opts.log);
  const follower = progressFollower(opts);
  return {
    later: work.later,
    start: follower.start,
    async stop() {
      await follower.stop();
      await work.settled();
    },
    tick: follower.tick,
    idle: work.idle,
  };
}
