import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { ChannelAdapter } from '../../src/channels.ts';
import { createLogger } from '../../src/log.ts';
import { BullJobBus, inboundQueueName } from '../../src/queue/bullmq.ts';
import type { JobHandlers } from '../../src/queue/bus.ts';
import { type InboundJob, inboundJob } from '../../src/queue/jobs.ts';
import { type MailboxEntry, mailboxKey } from '../../src/queue/mailbox.ts';
import { buildServer } from '../../src/server.ts';
import { startRedis, type TestRedis, uniquePrefix } from '../helpers/redis-server.ts';

/**
 * What the SMS, Slack and Teams test worlds share. A world is built in two steps, with the
 * channel's own parts in between: `startRedisAndBus`, then the fake platform, settings and
 * adapter (which needs the bus), then `serveAdapter` (which needs the adapter).
 */

/** Inbound partitions of every world's bus. */
const PARTITIONS = 4;

/** The parts of a channel's test world that are the same for every channel. */
export interface ChannelWorld {
  redis: Redis;
  bus: BullJobBus;
  busErrors: Array<{ err: unknown; kind: string }>;
  app: FastifyInstance;
  adapter: ChannelAdapter;
  /** Inbound jobs enqueued so far: those taken by the handlers, then those waiting, oldest first. */
  inboundJobs(): Promise<InboundJob[]>;
  close(): Promise<void>;
}

/** The options every channel's world takes. */
export interface ChannelWorldOptions {
  bodyLimit?: number;
  /** Starts the bus with these handlers (given the adapter), the rest no-ops; default: not started, jobs stay queued. */
  handlers?: (adapter: ChannelAdapter) => Partial<JobHandlers>;
}

export interface RedisAndBus {
  redisServer: TestRedis;
  redis: Redis;
  /** Unique to this world: `{label}` prefixes the bus's keys, `label:` is for the adapter's own. */
  label: string;
  /** Created, not started: `serveAdapter` starts it when given handlers. */
  bus: BullJobBus;
  busErrors: ChannelWorld['busErrors'];
}

/** A private redis-server, a connection to it, and a BullJobBus on a prefix unique to `channel`. */
export async function startRedisAndBus(channel: string): Promise<RedisAndBus> {
  const redisServer = await startRedis();
  const redis = new Redis(redisServer.url);
  const label = uniquePrefix(channel);
  const busErrors: RedisAndBus['busErrors'] = [];
  const bus = new BullJobBus(
    redis,
    // Quick retries, so that tests of failing sends do not wait for the production backoff.
    { prefix: `{${label}}`, partitions: PARTITIONS, outboundBackoffMs: 10, attempts: 3 },
    (err, kind) => busErrors.push({ err, kind }),
  );
  return { redisServer, redis, label, bus, busErrors };
}

export interface ServeOptions {
  bodyLimit: number;
  handlers?: ChannelWorldOptions['handlers'];
  /** Registers more routes before the server listens. */
  beforeListen?: (app: FastifyInstance) => void;
  /** The channel's fake platform, for `close` (after the server, before the bus). */
  platform: { close(): Promise<void> };
}

/**
 * `buildServer` with `adapter` on a free loopback port, the bus started if handlers are
 * given, reading what the adapter enqueued from the inbound mailboxes. `close` stops
 * all of it and the Redis of `base`.
 */
export async function serveAdapter(
  base: RedisAndBus,
  adapter: ChannelAdapter,
  opts: ServeOptions,
): Promise<ChannelWorld & { url: string }> {
  const { redisServer, redis, label, bus, busErrors } = base;
  /** Turns the bus handed to the handlers (when started); the rest wait in the mailboxes. */
  const taken: InboundJob[] = [];
  const app = await buildServer({
    adapters: [adapter],
    log: createLogger('silent'),
    bodyLimit: opts.bodyLimit,
  });
  opts.beforeListen?.(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  if (opts.handlers) {
    const noop = async () => {};
    const given = { inbound: noop, outbound: noop, timer: noop, ...opts.handlers(adapter) };
    bus.start({
      ...given,
      inbound: async (job) => {
        taken.push(job);
        await given.inbound(job);
      },
    });
    await bus.waitUntilReady();
  }
  return {
    redis,
    bus,
    busErrors,
    app,
    adapter,
    url,
    async inboundJobs() {
      // What is still waiting is read from the mailboxes and parsed as the worker will; an
      // entry taken but not yet dropped from its mailbox is counted once.
      const lists = await Promise.all(
        Array.from({ length: PARTITIONS }, (_, i) =>
          redis.lrange(mailboxKey(`{${label}}`, inboundQueueName(i)), 0, -1),
        ),
      );
      const waiting = lists
        .flat()
        .map((raw) => JSON.parse(raw) as MailboxEntry)
        .sort((a, b) => a.at - b.at)
        .map((entry) => inboundJob.parse(entry.job))
        .filter((job) => !taken.some((t) => t.channel === job.channel && t.messageId === job.messageId));
      return [...taken, ...waiting];
    },
    async close() {
      await app.close();
      await opts.platform.close();
      await bus.close();
      await redis.quit();
      await redisServer.stop();
    },
  };
}
