import { retryAfterOf } from '../errors.ts';
import {
  type AnyTimerJob,
  anyTimerJob,
  type BroadcastJob,
  broadcastJob,
  type InboundJob,
  inboundJob,
  type OutboundJob,
  outboundJob,
  validJob,
} from './jobs.ts';

export interface JobHandlers {
  inbound(job: InboundJob): Promise<void>;
  outbound(job: OutboundJob): Promise<void>;
  timer(job: AnyTimerJob): Promise<void>;
  /** A broadcast's fan-out (src/broadcast/). Without it, no broadcast worker runs in this process. */
  broadcast?(job: BroadcastJob): Promise<void>;
  /** A fan-out that will not be tried again (its last attempt failed, or the error is permanent). */
  broadcastFailed?(job: BroadcastJob, reason: string): Promise<void>;
}

/**
 * The queue seam. `enqueueInbound` answers once the job is durably accepted
 * (or recognised as a duplicate); handlers run later, one at a time per
 * conversation. Every enqueue checks the job against its zod schema and refuses a
 * bad one with a PermanentError (`job_schema`); handlers get only parsed jobs. The BullMQ implementation is the one reliability claims rest on;
 * InProcessBus exists so that `npm start` runs without Redis.
 */
export interface JobBus {
  enqueueInbound(job: InboundJob): Promise<{ duplicate: boolean }>;
  enqueueOutbound(job: OutboundJob): Promise<void>;
  /** Runs `job` once, about `delayMs` from now; a second schedule of the same id is ignored. */
  schedule(job: AnyTimerJob, delayMs: number): Promise<void>;
  /** A broadcast's fan-out, once per announcement id (a repeat is ignored while the first is known). */
  enqueueBroadcast(job: BroadcastJob): Promise<void>;
  /**
   * Many outbound jobs at once (a broadcast batch), each under its reply id: an id seen
   * before adds nothing. `delayMs` holds them back (SMS quiet hours).
   */
  enqueueOutboundBulk(jobs: readonly OutboundJob[], opts?: { delayMs?: number }): Promise<void>;
  start(handlers: JobHandlers): void;
  close(): Promise<void>;
}

/** Remembered ids for dedup; the oldest are forgotten first (platforms retry within minutes). */
const DEDUP_WINDOW = 50_000;

export interface InProcessBusOptions {
  /**
   * Times an outbound job refused with a Retry-After (a platform's 429, the SMS pace) is
   * run again after waiting it out; after that it fails like any other job. Default: no
   * limit, as on BullMQ, where a Retry-After uses no attempt: a broadcast of a whole school
   * waits its turn at the SMS pace instead of dropping the last families.
   */
  retryAfterTries?: number;
}

/**
 * In-memory bus for the single-process demo. Not durable: a crash loses queued jobs.
 * Failed jobs are not retried, except outbound jobs that ask for a Retry-After: they wait
 * it out in their conversation's chain (so later replies stay behind them) and run again.
 */
export class InProcessBus implements JobBus {
  private handlers: JobHandlers | undefined;
  private readonly seen = new Set<string>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly pending: Array<() => void> = [];
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  /** Ends the Retry-After waits early, at close. */
  private readonly wakers = new Set<() => void>();
  private readonly retryAfterTries: number;
  private closed = false;

  constructor(
    private readonly onError: (err: unknown, kind: string) => void = () => {},
    options: InProcessBusOptions = {},
  ) {
    this.retryAfterTries = options.retryAfterTries ?? Number.POSITIVE_INFINITY;
  }

  async enqueueInbound(raw: InboundJob) {
    const job = validJob(inboundJob, raw, 'inbound');
    if (!this.remember(`in:${job.channel}:${job.messageId}`)) return { duplicate: true };
    this.run(`${job.channel}:${job.conversationId}`, () => this.handlers?.inbound(job), 'inbound');
    return { duplicate: false };
  }

  async enqueueOutbound(raw: OutboundJob) {
    const job = validJob(outboundJob, raw, 'outbound');
    if (!this.remember(`out:${job.replyId}`)) return;
    this.run(`out:${job.channel}:${job.conversationId}`, this.send(job), 'outbound');
  }

  async enqueueBroadcast(raw: BroadcastJob) {
    const job = validJob(broadcastJob, raw, 'broadcast');
    if (!this.remember(`broadcast:${job.id}`)) return;
    this.run(
      `broadcast:${job.id}`,
      async () => {
        try {
          await this.handlers?.broadcast?.(job);
        } catch (err) {
          // No retries in process: the first failure is the last.
          await this.handlers?.broadcastFailed?.(job, reasonOf(err));
          throw err;
        }
      },
      'broadcast',
    );
  }

  async enqueueOutboundBulk(jobs: readonly OutboundJob[], opts: { delayMs?: number } = {}) {
    for (const job of jobs.map((raw) => validJob(outboundJob, raw, 'outbound'))) {
      if (!this.remember(`out:${job.replyId}`)) continue;
      const go = () => this.run(`out:${job.channel}:${job.conversationId}`, this.send(job), 'outbound');
      if (!opts.delayMs) go();
      else {
        const timer = setTimeout(go, opts.delayMs);
        timer.unref();
        this.timers.add(timer);
      }
    }
  }

  async schedule(raw: AnyTimerJob, delayMs: number) {
    const job = validJob(anyTimerJob, raw, 'timer');
    if (!this.remember(`timer:${job.kind}:${job.id}`)) return;
    const timer = setTimeout(
      () => this.run(`timer:${job.id}`, () => this.handlers?.timer(job), 'timer'),
      delayMs,
    );
    timer.unref();
    this.timers.add(timer);
  }

  start(handlers: JobHandlers) {
    this.handlers = handlers;
    for (const go of this.pending.splice(0)) go();
  }

  async close() {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    for (const wake of this.wakers) wake();
    await Promise.allSettled([...this.chains.values()]);
  }

  /** An outbound job's work: the send, run again after each Retry-After it asks for (up to `retryAfterTries`). */
  private send(job: OutboundJob): () => Promise<void> {
    return async () => {
      for (let tries = 0; ; tries++) {
        try {
          await this.handlers?.outbound(job);
          return;
        } catch (err) {
          const wait = retryAfterOf(err);
          if (wait === undefined || tries >= this.retryAfterTries || this.closed) throw err;
          await this.pause(wait);
          // Closing: not durable, the job is dropped as a crash would drop it.
          if (this.closed) throw err;
        }
      }
    };
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      timer.unref();
      this.wakers.add(wake);
    });
  }

  /** Chains work per key so one conversation's turns never interleave. */
  private run(key: string, work: () => Promise<void> | undefined, kind: string) {
    if (this.closed) throw new Error('job bus is closed');
    const go = () => {
      const next = (this.chains.get(key) ?? Promise.resolve())
        .then(work)
        .catch((err) => this.onError(err, kind))
        .finally(() => {
          if (this.chains.get(key) === next) this.chains.delete(key);
        });
      this.chains.set(key, next);
    };
    if (this.handlers) go();
    else this.pending.push(go);
  }

  private remember(id: string): boolean {
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    if (this.seen.size > DEDUP_WINDOW) this.seen.delete(this.seen.values().next().value as string);
    return true;
  }
}

/** What a failed job is recorded with: its error code, never its message (it may quote a guardian). */
export function reasonOf(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : err instanceof Error ? err.name : 'error';
}
