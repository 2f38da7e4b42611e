import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { ChannelAdapter } from '../../src/channels.ts';
import { createLogger } from '../../src/log.ts';
import { BullJobBus, inboundQueueName } from '../../src/queue/bullmq.ts';
import type { JobHandlers } from '../../src/queue/bus.ts';
import { type InboundJob, inboundJob } from '../../src/queue/jobs.ts';
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
  /** Inbound jobs on the queues so far, in the order they were added. */
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
 * given, and the inbound queues opened to read what the adapter enqueued. `close` stops
 * all of it and the Redis of `base`.
 */
export async function serveAdapter(
  base: RedisAndBus,
  adapter: ChannelAdapter,
  opts: ServeOptions,
): Promise<ChannelWorld & { url: string }> {
  const { redisServer, redis, label, bus, busErrors } = base;
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
    bus.start({ inbound: noop, outbound: noop, timer: noop, ...opts.handlers(adapter) });
    await bus.waitUntilReady();
  }
  // Queues of our own, so that inboundJobs reads what is on the queue, not what a handler saw.
  const queues = Array.from(
    { length: PARTITIONS },
    (_, i) => new Queue(inboundQueueName(i), { connection: redis, prefix: `{${label}}` }),
  );
  return {
    redis,
    bus,
    busErrors,
    app,
    adapter,
    url,
    async inboundJobs() {
      const types = ['wait', 'active', 'delayed', 'prioritized', 'completed', 'failed'] as const;
      const jobs = (await Promise.all(queues.map((q) => q.getJobs([...types])))).flat();
      return jobs.sort((a, b) => a.timestamp - b.timestamp).map((j) => inboundJob.parse(j.data));
    },
    async close() {
      await app.close();
      await opts.platform.close();
      await bus.close();
      await Promise.all(queues.map((q) => q.close()));
      await redis.quit();
      await redisServer.stop();
    },
  };
}
