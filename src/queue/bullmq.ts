import {
  type DefaultJobOptions,
  type Job,
  type JobsOptions,
  Queue,
  UnrecoverableError,
  Worker,
} from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { ErrorCode, isRetryable, PermanentError, retryAfterOf, SkolebroError } from '../errors.ts';
import { type JobBus, type JobHandlers, reasonOf } from './bus.ts';
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
import { inChains, Mailbox, mailboxKey, type TakenEntry } from './mailbox.ts';

export type Channel = InboundJob['channel'];
export const CHANNELS: readonly Channel[] = inboundJob.shape.channel.options;

const limiterSchema = z.object({
  /** Jobs started per `duration` across every worker of the queue. */
  max: z.number().int().positive(),
  /** Window in milliseconds. */
  duration: z.number().int().positive(),
});

const busOptionsSchema = z.object({
  /**
   * Key prefix of every queue, the dead-letter list and the dedup markers. Keep it
   * hash-tagged (`{...}`) so that on Redis Cluster all of them share one slot, as
   * BullMQ's multi-key scripts require. Default `{skolebro}`.
   */
  prefix: z.string().min(1).default('{skolebro}'),
  /** Inbound partitions (queues `inbound-0` .. `inbound-<n-1>`). Change only with the queues drained. Default 8. */
  partitions: z.number().int().min(1).max(1024).default(8),
  /** Outbound partitions per channel (`outbound-<channel>-0..n-1`), for the same per-conversation order. Default 4. */
  outboundPartitions: z.number().int().min(1).max(256).default(4),
  /** Tries per job, the first included. Default 5. */
  attempts: z.number().int().min(1).default(5),
  /** First inbound retry delay in ms, doubled per retry; retries hold the partition. Default 200. */
  inboundBackoffMs: z.number().int().min(0).default(200),
  /** First outbound retry delay in ms, doubled per retry; retries hold the partition. Default 1000. */
  outboundBackoffMs: z.number().int().min(0).default(1000),
  /** Per-channel outbound settings; a channel not named gets no limiter and concurrency 1. */
  outbound: z
    .partialRecord(
      inboundJob.shape.channel,
      z.object({
        /** The channel's rate limit, shared by all workers (split evenly over its partitions). Default none. */
        limiter: limiterSchema.optional(),
      }),
    )
    .default({}),
  /** How long a repeated platform message id is answered with `duplicate: true`, in seconds. Default 86400. */
  dedupWindowSeconds: z.number().int().positive().default(86_400),
  /** Worker lock; a crashed worker's job is taken up again after about this long, in ms. Default 30000. */
  lockDurationMs: z.number().int().positive().default(30_000),
  /** How often workers look for jobs whose lock expired, in ms. Default 30000. */
  stalledIntervalMs: z.number().int().positive().default(30_000),
  /**
   * A process that runs workers is not ready while some inbound message has waited longer
   * than this, in ms: its turns are not being taken (workers stuck, or far too few). Default 120000.
   */
  stallAfterMs: z.number().int().positive().default(120_000),
  /** Dead-letter entries kept (newest first). Default 10000. */
  deadLetterMax: z.number().int().positive().default(10_000),
  /** Most mailbox entries one drain takes at a time (src/queue/mailbox.ts). Default 64. */
  batchSize: z.number().int().min(1).max(1000).default(64),
  /** A drain still taking batches after this long rings the next one and ends, in ms. Default 2000. */
  drainMaxMs: z.number().int().positive().default(2000),
});
export type BullJobBusOptions = z.input<typeof busOptionsSchema> & {
  /** Clock for dead-letter timestamps. Default: the system clock. */
  now?: () => Date;
};
type Options = z.output<typeof busOptionsSchema>;

/** One entry of the dead-letter list: a job that can never succeed, and why. */
export interface DeadLetter {
  queue: string;
  jobId: string;
  name: string;
  reason: string;
  at: string;
}

export interface QueueDepth {
  queue: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

export interface QueueStats {
  queues: QueueDepth[];
  deadLetter: number;
}

// BullMQ queue names cannot contain ':' (it separates the parts of its Redis keys),
// hence `outbound-sms-0` and not `outbound:sms` as ARCHITECTURE.md draws it.
export const inboundQueueName = (partition: number) => `inbound-${partition}`;
export const outboundQueueName = (channel: Channel, partition = 0) => `outbound-${channel}-${partition}`;
export const TIMER_QUEUE = 'timers';
/** Broadcast fan-outs (src/broadcast/); not partitioned: each job is one announcement. */
export const BROADCAST_QUEUE = 'broadcast';
export const deadLetterKey = (prefix: string) => `${prefix}:dead-letter`;
/** The job that empties a partition's mailbox; it carries nothing, the mailbox holds the work. */
const DRAIN = 'drain';
const drainJob = z.object({}).strict();
/**
 * Bulk (broadcast) sends yield to replies: BullMQ runs jobs without a priority before
 * prioritized ones, so a parent's answer in a partition goes before the broadcast messages
 * queued there, instead of waiting hours behind a district's announcement at the SMS pace.
 */
const BULK_PRIORITY = 10;

/**
 * A BullMQ job id from any string, one to one: ':' is reserved in ids (BullMQ refuses
 * it), so '%' and ':' are percent-escaped, and an all-digit id (also refused) gets a
 * `%N` mark that no escaped id can otherwise contain.
 */
export function safeJobId(raw: string): string {
  const id = raw.replaceAll('%', '%25').replaceAll(':', '%3A');
  return /^\d+$/.test(id) ? `%N${id}` : id;
}

export const inboundJobId = (job: Pick<InboundJob, 'channel' | 'messageId'>) =>
  safeJobId(`${job.channel}-${job.messageId}`);
export const outboundJobId = (job: Pick<OutboundJob, 'replyId'>) => safeJobId(job.replyId);

const utf8 = new TextEncoder();

/** Stable partition of a conversation: FNV-1a (32 bit) of the UTF-8 key, modulo `partitions`. Pure. */
export function partitionOf(channel: string, conversationId: string, partitions: number): number {
  const key = `${channel}:${conversationId}`;
  let hash = 0x811c9dc5;
  // ASCII (phone numbers, platform ids) is its own UTF-8, so it is hashed without the encoder:
  // this runs once per recipient of a fan-out. Any other text takes the encoder's bytes.
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i);
    if (code > 0x7f) {
      hash = 0x811c9dc5;
      for (const byte of utf8.encode(key)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
      break;
    }
    hash = Math.imul(hash ^ code, 0x01000193) >>> 0;
  }
  return hash % partitions;
}

/**
 * The JobBus over BullMQ; the one that reliability claims rest on.
 *
 * **Order per conversation.** Open-source BullMQ has no per-key groups, so inbound
 * messages go to one of `partitions` partitions (`inbound-0..n-1`) chosen by a stable
 * hash of `channel:conversationId`. Every partition queue has a global concurrency of 1
 * and its worker a concurrency of 1: a partition runs one job at a time, however many
 * worker processes there are. One conversation always maps to the same partition.
 *
 * **Mailboxes.** A message is not a job of its own: it is posted to its partition's
 * mailbox (src/queue/mailbox.ts), and a drain job on the partition's queue takes what
 * piled up and runs it as one chain per conversation: a conversation's turns one at a
 * time in arrival order, different conversations at once. A worker that dies mid-drain
 * leaves the drain active (the partition waits) until its lock expires; BullMQ then
 * runs it again and it takes the same entries, which leave the mailbox only once handled.
 *
 * Replies are partitioned the same way per channel (`outbound-<channel>-<k>`, by the
 * same conversation hash), so one conversation's replies leave in the order its turns
 * made them even with many worker processes. On a channel with a rate limit (a BullMQ
 * global rate limit split evenly over its partitions) each reply is a job of its own,
 * as the limiter counts jobs; broadcast batches are jobs of their own everywhere.
 *
 * **Retries.** A turn or send that fails with a retryable error is retried in place,
 * with exponential backoff, holding its conversation: a BullMQ retry would let the
 * conversation's next message overtake it. A send refused with a Retry-After (HTTP 429)
 * pauses its partition for that long and leaves the drain's batch (or the job) for later
 * without using up an attempt: the platform asked us to wait, not to give up. A turn
 * that fails for good (not retryable, or out of attempts) is dead-lettered with the
 * reason and the drain goes on; jobs and entries that fail their zod schema too.
 *
 * **Duplicates.** Ids are derived from the message (inbound: `channel-messageId`,
 * outbound: the reply id). A post sets a marker of its id, kept `dedupWindowSeconds`,
 * in the same script, and a repeated id is not posted. Jobs of their own carry the id
 * as job id and BullMQ deduplication key.
 *
 * The caller owns `connection` and closes it after `close()`. Queues share it; the
 * workers use their own duplicates (blocking, `maxRetriesPerRequest: null`).
 */
export class BullJobBus implements JobBus {
  private readonly opts: Options;
  private readonly now: () => Date;
  private readonly inbound: Queue[];
  private readonly outbound: Map<Channel, Queue[]>;
  private readonly timers: Queue;
  private readonly broadcasts: Queue;
  /** Each inbound and outbound partition queue's mailbox. */
  private readonly mailboxes = new Map<Queue, Mailbox>();
  private readonly workers: Worker[] = [];
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private workerTemplate: Redis | undefined;
  private starting: Promise<void> | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly connection: Redis,
    options: BullJobBusOptions = {},
    private readonly onError: (err: unknown, kind: string) => void = () => {},
  ) {
    const parsed = busOptionsSchema.safeParse(options);
    if (!parsed.success) {
      throw new PermanentError(ErrorCode.Config, `job bus options: ${z.prettifyError(parsed.error)}`);
    }
    this.opts = parsed.data;
    this.now = options.now ?? (() => new Date());
    const keep = {
      removeOnComplete: { age: 3600, count: 1000 },
      removeOnFail: { age: 7 * 86_400, count: 10_000 },
    };
    this.inbound = Array.from({ length: this.opts.partitions }, (_, i) =>
      this.queue(inboundQueueName(i), { ...keep, attempts: 1 }),
    );
    this.timers = this.queue(TIMER_QUEUE, {
      ...keep,
      attempts: this.opts.attempts,
      backoff: { type: 'exponential', delay: this.opts.outboundBackoffMs },
    });
    this.broadcasts = this.queue(BROADCAST_QUEUE, {
      ...keep,
      attempts: this.opts.attempts,
      backoff: { type: 'exponential', delay: this.opts.outboundBackoffMs },
    });
    this.outbound = new Map(
      CHANNELS.map((channel) => [
        channel,
        Array.from({ length: this.opts.outboundPartitions }, (_, i) =>
          this.queue(outboundQueueName(channel, i), { ...keep, attempts: 1 }),
        ),
      ]),
    );
    for (const [kind, queues] of [
      ['inbound', this.inbound],
      ['outbound', this.outboundQueues()],
    ] as const) {
      for (const queue of queues) {
        const key = mailboxKey(this.opts.prefix, queue.name);
        const seen = `${this.opts.prefix}:seen:${kind}:`;
        this.mailboxes.set(queue, new Mailbox(connection, key, seen, (n) => this.addDrain(queue, n)));
      }
    }
  }

  /**
   * Validates the job, then posts it to its conversation's partition mailbox once: the
   * post and its dedup marker (the message id, kept `dedupWindowSeconds`) are one script.
   */
  async enqueueInbound(job: InboundJob): Promise<{ duplicate: boolean }> {
    const valid = validJob(inboundJob, job, 'inbound');
    if (this.closed) throw new Error('job bus is closed');
    const queue = this.inbound[
      partitionOf(valid.channel, valid.conversationId, this.opts.partitions)
    ] as Queue;
    return this.mailbox(queue).post(inboundJobId(valid), valid, this.opts.dedupWindowSeconds);
  }

  /**
   * A reply goes to its conversation's partition mailbox, once per reply id; on a channel
   * with a rate limit it is a job of its own, since BullMQ's limiter counts jobs.
   */
  async enqueueOutbound(job: OutboundJob): Promise<void> {
    const valid = validJob(outboundJob, job, 'outbound');
    if (this.closed) throw new Error('job bus is closed');
    const partition = partitionOf(valid.channel, valid.conversationId, this.opts.outboundPartitions);
    const queue = (this.outbound.get(valid.channel) as Queue[])[partition] as Queue;
    if (this.opts.outbound[valid.channel]?.limiter) {
      await this.addOnce(queue, 'send', valid, outboundJobId(valid));
    } else {
      await this.mailbox(queue).post(outboundJobId(valid), valid, this.opts.dedupWindowSeconds);
    }
  }

  /** Adds a broadcast fan-out once per announcement id. */
  async enqueueBroadcast(job: BroadcastJob): Promise<void> {
    const valid = validJob(broadcastJob, job, 'broadcast');
    await this.addOnce(this.broadcasts, 'fan-out', valid, safeJobId(`broadcast-${valid.id}`));
  }

  /**
   * Validates every job, then adds them with one `addBulk` per partition queue, under
   * the ids `enqueueOutbound` derives (a redone batch adds nothing while its jobs exist),
   * behind any reply (`BULK_PRIORITY`).
   * No deduplication key, unlike single adds: bulk adds are broadcast batches, whose
   * tracking entries re-enqueue only guardians still `queued` and whose sends check the
   * delivery receipt first, so a job re-added after it completed sends nothing. The key
   * would cost a third of the add (client and Redis) and a key per recipient for 24 h.
   */
  async enqueueOutboundBulk(jobs: readonly OutboundJob[], opts: { delayMs?: number } = {}): Promise<void> {
    if (this.closed) throw new Error('job bus is closed');
    const byQueue = new Map<Queue, Array<{ name: string; data: OutboundJob; opts: JobsOptions }>>();
    for (const raw of jobs) {
      const job = validJob(outboundJob, raw, 'outbound');
      const partition = partitionOf(job.channel, job.conversationId, this.opts.outboundPartitions);
      const queue = (this.outbound.get(job.channel) as Queue[])[partition] as Queue;
      const list = byQueue.get(queue) ?? [];
      list.push({
        name: 'send',
        data: job,
        opts: {
          jobId: outboundJobId(job),
          priority: BULK_PRIORITY,
          ...(opts.delayMs && opts.delayMs > 0 ? { delay: opts.delayMs } : {}),
        },
      });
      byQueue.set(queue, list);
    }
    await Promise.all([...byQueue].map(([queue, list]) => queue.addBulk(list)));
  }

  async schedule(job: AnyTimerJob, delayMs: number): Promise<void> {
    const valid = validJob(anyTimerJob, job, 'timer');
    if (this.closed) throw new Error('job bus is closed');
    // BullMQ ignores an add whose id exists, so a redone turn schedules nothing new.
    await this.timers.add(valid.kind, valid, {
      jobId: safeJobId(`${valid.kind}-${valid.id}`),
      delay: Math.max(0, delayMs),
    });
  }

  /**
   * Starts a worker per inbound partition and per outbound channel. Returns at once;
   * `waitUntilReady()` resolves when every worker is connected and taking jobs.
   */
  start(handlers: JobHandlers): void {
    if (this.closed || this.closing) throw new Error('job bus is closed');
    if (this.starting) throw new Error('job bus already started');
    // ioredis' default of 20 retries per command would make a worker's blocking
    // fetch fail during a Redis restart; BullMQ requires null and duplicates this template.
    // Blocking fetches must not hold up other commands in an auto-pipeline.
    const template = this.connection.duplicate({
      maxRetriesPerRequest: null,
      lazyConnect: true,
      enableAutoPipelining: false,
    });
    this.workerTemplate = template;
    const common = {
      connection: template,
      prefix: this.opts.prefix,
      autorun: false,
      lockDuration: this.opts.lockDurationMs,
      stalledInterval: this.opts.stalledIntervalMs,
    };
    for (const queue of this.inbound) {
      this.watch(
        new Worker(
          queue.name,
          (job) =>
            job.name === DRAIN ? this.drainInbound(handlers, queue, job) : this.processInbound(handlers, job),
          { ...common, concurrency: 1 },
        ),
        'inbound',
      );
    }
    for (const queue of this.outboundQueues()) {
      this.watch(
        new Worker(
          queue.name,
          (job) =>
            job.name === DRAIN
              ? this.drainOutbound(handlers, queue, job)
              : this.processOutbound(handlers, queue, job),
          { ...common, concurrency: 1 },
        ),
        'outbound',
      );
    }
    this.watch(
      new Worker(
        TIMER_QUEUE,
        async (job) => {
          const due = await this.parseOrDeadLetter(anyTimerJob, job);
          try {
            await handlers.timer(due);
          } catch (err) {
            throw isRetryable(err) ? err : unrecoverable(err);
          }
        },
        { ...common, concurrency: 4 },
      ),
      'timer',
    );
    const fanOut = handlers.broadcast?.bind(handlers);
    if (fanOut) {
      // Concurrency 8: a fan-out mostly waits on Redis round trips (read a batch, write its
      // entries, add its jobs), so a few at once keep the CPU busy when every school announces
      // at the same time (bench/broadcast.ts: 2 at once per process left it a third idle), and
      // one long fan-out does not hold back the next announcement. A worker killed
      // mid-fan-out leaves the job to the stalled check; the handler resumes at its cursor.
      this.watch(
        new Worker(
          BROADCAST_QUEUE,
          async (job) => {
            const run = await this.parseOrDeadLetter(broadcastJob, job);
            try {
              await fanOut(run);
            } catch (err) {
              const last = !isRetryable(err) || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
              // Told before the job fails for good, so the announcement never stays "sending".
              if (last) await handlers.broadcastFailed?.(run, reasonOf(err));
              throw isRetryable(err) ? err : unrecoverable(err);
            }
          },
          { ...common, concurrency: 8 },
        ),
        'broadcast',
      );
    }
    this.starting = (async () => {
      // Global concurrency and rate limits live in the queue's meta in Redis, so they bind every process.
      await Promise.all([...this.inbound, ...this.outboundQueues()].map((q) => q.setGlobalConcurrency(1)));
      for (const [channel, queues] of this.outbound) {
        const limiter = this.opts.outbound[channel]?.limiter;
        if (!limiter) continue;
        const duration = limiter.duration * queues.length;
        await Promise.all(queues.map((q) => q.setGlobalRateLimit(limiter.max, duration)));
      }
      for (const worker of this.workers) {
        worker.run().catch((err) => this.onError(err, `worker:${worker.name}`));
      }
      await Promise.all(this.workers.map((w) => w.waitUntilReady()));
      this.sweeper = setInterval(() => {
        this.sweep().catch((err) => this.onError(err, 'mailbox:sweep'));
      }, this.opts.stalledIntervalMs);
      this.sweeper.unref();
    })();
    this.starting.catch((err) => this.onError(err, 'start'));
  }

  /** Resolves when `start` has its workers running. */
  async waitUntilReady(): Promise<void> {
    await Promise.all(this.inbound.map((q) => q.waitUntilReady()));
    await this.starting;
  }

  /** Stops taking jobs, lets in-flight jobs finish, then closes queues. Leaves `connection` open. */
  async close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    await this.starting?.catch(() => {});
    clearInterval(this.sweeper);
    // Jobs still running may enqueue their replies and timers: the queues stay open
    // until every worker has finished its in-flight job.
    await Promise.all(this.workers.map((w) => w.close()));
    this.closed = true;
    await Promise.all(
      [...this.inbound, ...this.outboundQueues(), this.timers, this.broadcasts].map((q) => q.close()),
    );
    this.workerTemplate?.disconnect();
  }

  /** Depth of every queue of this bus (its mailbox included) and the dead-letter count. */
  async stats(): Promise<QueueStats> {
    return collectStats(this.connection, this.opts.prefix, [
      ...this.inbound,
      ...this.outboundQueues(),
      this.timers,
    ]);
  }

  /** Redis answers and every worker is running (none closed or paused by an error). */
  async healthy(): Promise<boolean> {
    if (this.closed || this.closing) return false;
    await this.connection.ping();
    if (!this.workers.every((w) => w.isRunning())) return false;
    // Only where turns are taken: a web process keeps accepting (and queueing) while workers catch up.
    return this.workers.length === 0 || (await this.oldestInboundWaitMs()) <= this.opts.stallAfterMs;
  }

  /**
   * How long the oldest waiting inbound message has waited, over all partitions, in ms
   * (0 when none waits): the head of each partition's mailbox.
   */
  async oldestInboundWaitMs(): Promise<number> {
    const heads = await Promise.all(this.inbound.map((q) => this.mailbox(q).oldestAt()));
    const oldest = Math.min(...heads.map((at) => at ?? Number.POSITIVE_INFINITY));
    return Number.isFinite(oldest) ? Math.max(0, this.now().getTime() - oldest) : 0;
  }

  private outboundQueues(): Queue[] {
    return [...this.outbound.values()].flat();
  }

  private mailbox(queue: Queue): Mailbox {
    return this.mailboxes.get(queue) as Mailbox;
  }

  private async addDrain(queue: Queue, n: number): Promise<void> {
    // Retried by BullMQ: a drain's failures are Redis's (its turns' own are handled in it),
    // and a drain redone later keeps the order, as the entries wait in the list in order.
    await queue.add(
      DRAIN,
      {},
      {
        jobId: `drain-${n}`,
        attempts: this.opts.attempts,
        backoff: { type: 'exponential', delay: this.opts.inboundBackoffMs },
      },
    );
  }

  /**
   * Rings a drain for every mailbox whose oldest entry has waited longer than a stalled
   * interval: the one case a post leaves no drain job behind is a crash between its
   * script and the add, and a drain that failed for good (Redis away) leaves its batch.
   */
  private async sweep(): Promise<void> {
    const due = this.now().getTime() - this.opts.stalledIntervalMs;
    for (const box of this.mailboxes.values()) {
      const at = await box.oldestAt();
      if (at !== undefined && at < due) await box.ring();
    }
  }

  /**
   * Turns of one drain run one chain per conversation, conversations at once. A turn that
   * fails for good (a permanent error, or retries used up) goes to the dead-letter list and
   * the drain goes on, as a failed job of its own would have let the partition go on.
   */
  private async drainInbound(handlers: JobHandlers, queue: Queue, job: Job): Promise<{ drained: number }> {
    await this.parseOrDeadLetter(drainJob, job);
    const drained = await this.drainChains(
      queue,
      inboundJob,
      'turn',
      (turn) => `${turn.channel}:${turn.conversationId}`,
      async ({ id, job: turn }) => {
        try {
          await this.inPlace('inbound', this.opts.inboundBackoffMs, () => handlers.inbound(turn));
        } catch (err) {
          this.onError(err, 'inbound');
          await this.deadLetter(queue.name, id, 'turn', failureOf(err));
        }
        return true;
      },
    );
    return { drained };
  }

  /**
   * Sends of one drain run one chain per conversation. A send that fails for good (refused,
   * or retries used up) is dead-lettered with the reason, as a job of its own was kept failed
   * (the handler keeps a failed receipt too), and the drain goes on; a Retry-After stops every chain,
   * pauses the partition and leaves the batch for the drain's next run (sends that went
   * out skip on their receipts).
   */
  private async drainOutbound(handlers: JobHandlers, queue: Queue, job: Job): Promise<{ drained: number }> {
    await this.parseOrDeadLetter(drainJob, job);
    let wait: number | undefined;
    const drained = await this.drainChains(
      queue,
      outboundJob,
      'send',
      (send) => send.conversationId,
      async ({ id, job: send }) => {
        if (wait !== undefined) return false;
        try {
          await this.inPlace('outbound', this.opts.outboundBackoffMs, () => handlers.outbound(send));
        } catch (err) {
          const retryAfter = retryAfterOf(err);
          if (retryAfter !== undefined) {
            wait = Math.max(wait ?? 0, retryAfter);
            return false;
          }
          this.onError(err, 'outbound');
          await this.deadLetter(queue.name, id, 'send', failureOf(err));
        }
        return true;
      },
      async () => {
        if (wait === undefined) return;
        await queue.rateLimit(wait);
        throw Worker.RateLimitError();
      },
    );
    return { drained };
  }

  /**
   * Takes `queue`'s mailbox batch by batch: entries that fail `schema` are dead-lettered,
   * the rest run in one chain per `keyOf` (`run` resolving `false` ends its chain), then
   * `afterBatch` runs; a batch is dropped from the mailbox once both have resolved.
   */
  private drainChains<T>(
    queue: Queue,
    schema: z.ZodType<T>,
    name: string,
    keyOf: (job: T) => string,
    run: (entry: { id: string; job: T }) => Promise<boolean>,
    afterBatch: () => Promise<void> = async () => {},
  ): Promise<number> {
    return this.mailbox(queue).drain(
      this.opts.batchSize,
      async (batch) => {
        const valid = await this.entriesOrDeadLetter(schema, queue, name, batch);
        await inChains(valid, (entry) => keyOf(entry.job), run);
        await afterBatch();
      },
      this.enough(),
    );
  }

  /**
   * When a drain hands over to the next one: at shutdown, so that closing waits for one
   * batch and not for the stream to stop, and after `drainMaxMs`, so that a drain's job
   * (its return value, its lock) stays the size of a batch or a few.
   */
  private enough(): () => boolean {
    const until = Date.now() + this.opts.drainMaxMs;
    return () => this.closing !== undefined || Date.now() >= until;
  }

  /** The batch's entries that pass `schema`; the others go to the dead-letter list with the reason. */
  private async entriesOrDeadLetter<T>(
    schema: z.ZodType<T>,
    queue: Queue,
    name: string,
    batch: TakenEntry[],
  ): Promise<Array<{ id: string; job: T }>> {
    const valid: Array<{ id: string; job: T }> = [];
    for (const { raw, entry } of batch) {
      const parsed = entry ? schema.safeParse(entry.job) : undefined;
      if (entry && parsed?.success) {
        valid.push({ id: entry.id, job: parsed.data });
        continue;
      }
      const reason = parsed?.error
        ? z.prettifyError(parsed.error)
        : `not a mailbox entry: ${raw.slice(0, 200)}`;
      await this.deadLetter(queue.name, entry?.id ?? '', name, `${ErrorCode.JobSchema}: ${reason}`);
    }
    return valid;
  }

  private async processInbound(handlers: JobHandlers, job: Job): Promise<{ tries: number }> {
    const turn = await this.parseOrDeadLetter(inboundJob, job);
    return this.inPlace('inbound', this.opts.inboundBackoffMs, () => handlers.inbound(turn));
  }

  private async processOutbound(handlers: JobHandlers, queue: Queue, job: Job): Promise<{ tries: number }> {
    const send = await this.parseOrDeadLetter(outboundJob, job);
    try {
      return await this.inPlace('outbound', this.opts.outboundBackoffMs, () => handlers.outbound(send));
    } catch (err) {
      const wait = retryAfterOf(err);
      if (wait === undefined) throw err;
      await queue.rateLimit(wait);
      throw Worker.RateLimitError();
    }
  }

  /**
   * Runs `work`, retrying retryable failures in place with exponential backoff, so the
   * job keeps its place at the head of its partition. A Retry-After is handed up at once.
   */
  private async inPlace(kind: string, backoffMs: number, work: () => Promise<void>) {
    for (let attempt = 1; ; attempt++) {
      try {
        await work();
        return { tries: attempt };
      } catch (err) {
        if (!isRetryable(err)) throw unrecoverable(err);
        if (retryAfterOf(err) !== undefined || attempt >= this.opts.attempts) throw err;
        this.onError(err, `${kind}:retry`);
        await sleep(backoffMs * 2 ** (attempt - 1));
      }
    }
  }

  /** Every processor starts here: a job that fails its schema is dead-lettered and never retried. */
  private async parseOrDeadLetter<T>(schema: z.ZodType<T>, job: Job): Promise<T> {
    const parsed = schema.safeParse(job.data);
    if (parsed.success) return parsed.data;
    const reason = `${ErrorCode.JobSchema}: ${z.prettifyError(parsed.error)}`;
    await this.deadLetter(job.queueName, job.id ?? '', job.name, reason);
    throw new UnrecoverableError(reason);
  }

  private async deadLetter(queue: string, jobId: string, name: string, reason: string): Promise<void> {
    const entry: DeadLetter = {
      queue,
      jobId,
      name,
      reason: reason.slice(0, 2000),
      at: this.now().toISOString(),
    };
    const key = deadLetterKey(this.opts.prefix);
    await this.connection
      .multi()
      .lpush(key, JSON.stringify(entry))
      .ltrim(key, 0, this.opts.deadLetterMax - 1)
      .exec();
  }

  /**
   * Adds a job unless its id was added within the dedup window. BullMQ checks and sets
   * its deduplication key inside the add script, so racing deliveries add one job, and
   * the key outlives the job (a redelivery after it completed and was removed adds nothing).
   */
  private async addOnce(queue: Queue, name: string, data: unknown, jobId: string): Promise<void> {
    if (this.closed) throw new Error('job bus is closed');
    await queue.add(name, data, this.once(jobId));
  }

  /** Job options that make an add idempotent for `dedupWindowSeconds`: the id, and a deduplication key of the same id. */
  private once(jobId: string): JobsOptions {
    return { jobId, deduplication: { id: jobId, ttl: this.opts.dedupWindowSeconds * 1000 } };
  }

  private queue(name: string, defaultJobOptions: DefaultJobOptions) {
    const queue = new Queue(name, {
      connection: this.connection,
      prefix: this.opts.prefix,
      defaultJobOptions,
    });
    queue.on('error', (err) => this.onError(err, `queue:${name}`));
    return queue;
  }

  private watch(worker: Worker, kind: string) {
    worker.on('error', (err) => this.onError(err, `worker:${worker.name}`));
    worker.on('failed', (_job, err) => this.onError(err, kind));
    this.workers.push(worker);
  }
}

/**
 * Queue depths and the dead-letter count for the CLI and metrics, without starting a
 * bus: opens the queues on `connection`, counts, and closes them again.
 */
export async function queueStats(
  connection: Redis,
  options: Pick<BullJobBusOptions, 'prefix' | 'partitions' | 'outboundPartitions'> = {},
): Promise<QueueStats> {
  const opts = busOptionsSchema.parse(options);
  const names = [
    ...Array.from({ length: opts.partitions }, (_, i) => inboundQueueName(i)),
    ...CHANNELS.flatMap((c) =>
      Array.from({ length: opts.outboundPartitions }, (_, i) => outboundQueueName(c, i)),
    ),
    TIMER_QUEUE,
  ];
  const queues = names.map((name) => new Queue(name, { connection, prefix: opts.prefix }));
  try {
    return await collectStats(connection, opts.prefix, queues);
  } finally {
    await Promise.all(queues.map((q) => q.close()));
  }
}

/** The newest dead-letter entries, newest first. */
export async function deadLetters(
  connection: Redis,
  options: Pick<BullJobBusOptions, 'prefix'> = {},
  limit = 100,
): Promise<DeadLetter[]> {
  const { prefix } = busOptionsSchema.parse(options);
  const rows = await connection.lrange(deadLetterKey(prefix), 0, limit - 1);
  return rows.map((row) => JSON.parse(row) as DeadLetter);
}

async function collectStats(connection: Redis, prefix: string, queues: Queue[]): Promise<QueueStats> {
  const depths = await Promise.all(
    queues.map(async (queue) => {
      const [c, posted] = await Promise.all([
        queue.getJobCounts('wait', 'prioritized', 'active', 'delayed', 'failed'),
        connection.llen(mailboxKey(prefix, queue.name)),
      ]);
      return {
        queue: queue.name,
        // Messages in the mailbox, and jobs of their own (sends on a rate-limited channel, broadcast batches).
        waiting: posted + (c.wait ?? 0) + (c.prioritized ?? 0),
        active: c.active ?? 0,
        delayed: c.delayed ?? 0,
        failed: c.failed ?? 0,
      };
    }),
  );
  return { queues: depths, deadLetter: await connection.llen(deadLetterKey(prefix)) };
}

/** What a dead-letter entry says of a job that failed for good: its code and message. */
function failureOf(err: unknown): string {
  if (err instanceof UnrecoverableError) return err.message; // made by `unrecoverable`: the code is in it
  const message = err instanceof Error ? err.message : String(err);
  return message.startsWith(reasonOf(err)) ? message : `${reasonOf(err)}: ${message}`;
}

/** BullMQ's "do not retry" error, carrying the code of the original. */
function unrecoverable(err: unknown): UnrecoverableError {
  if (err instanceof UnrecoverableError) return err;
  const code = err instanceof SkolebroError ? `${err.code}: ` : '';
  return new UnrecoverableError(`${code}${err instanceof Error ? err.message : String(err)}`);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
