import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { FakeSlack } from '../../adapters/slack/fake-slack.ts';
import {
  EVENTS_PATH,
  type Inbox,
  RedisSlackState,
  type SlackSettings,
  slackAdapter,
  slackTexts,
} from '../../adapters/slack/index.ts';
import type { ChannelAdapter, DeliveryReceipt } from '../../src/channels.ts';
import { createLogger } from '../../src/log.ts';
import { BullJobBus, inboundQueueName } from '../../src/queue/bullmq.ts';
import type { JobHandlers } from '../../src/queue/bus.ts';
import { type InboundJob, inboundJob } from '../../src/queue/jobs.ts';
import { buildServer } from '../../src/server.ts';
import { startRedis, type TestRedis, uniquePrefix } from '../helpers/redis-server.ts';
import { directory, renderer } from '../helpers/world.ts';
import type { ConformanceHarness } from './adapter-conformance.ts';

const PARTITIONS = 4;
/** The conformance world's body limit, in bytes. */
const BODY_LIMIT = 16 * 1024;
export const BOT_TOKEN = 'xoxb-0000000000-fake-skolebro-token';
export const texts = slackTexts(renderer);

export interface SlackWorld {
  redis: Redis;
  fake: FakeSlack;
  bus: BullJobBus;
  busErrors: Array<{ err: unknown; kind: string }>;
  app: FastifyInstance;
  adapter: ChannelAdapter;
  settings: SlackSettings;
  state: RedisSlackState;
  receipts: DeliveryReceipt[];
  /** Local URL of the server. */
  url: string;
  /** Full URL of a Slack route (`/webhooks/slack/...`). */
  route(path: string): string;
  /** Inbound jobs on the queues so far, in the order they were added. */
  inboundJobs(): Promise<InboundJob[]>;
  close(): Promise<void>;
}

export interface SlackWorldOptions {
  bodyLimit?: number;
  /** Starts the bus with these handlers (given the adapter), the rest no-ops; default: not started. */
  handlers?: (adapter: ChannelAdapter) => Partial<JobHandlers>;
  settings?: Partial<SlackSettings>;
  inbox?: Inbox;
  now?: () => Date;
  /** Registers more routes before the server listens (to show other routes are unaffected). */
  beforeListen?: (app: FastifyInstance) => void;
}

/**
 * A private redis-server, a BullJobBus on a unique prefix, the fake Slack, and
 * `buildServer` with the Slack adapter (Redis state, the demo directory for the
 * command's language) listening on loopback.
 */
export async function startSlackWorld(opts: SlackWorldOptions = {}): Promise<SlackWorld> {
  const redisServer: TestRedis = await startRedis();
  const redis = new Redis(redisServer.url);
  const label = uniquePrefix('slack');
  const signingSecret = randomBytes(16).toString('hex');
  const fake = await FakeSlack.start({ botToken: BOT_TOKEN, signingSecret });
  const busErrors: SlackWorld['busErrors'] = [];
  const bus = new BullJobBus(
    redis,
    { prefix: `{${label}}`, partitions: PARTITIONS, outboundBackoffMs: 10, attempts: 3 },
    (err, kind) => busErrors.push({ err, kind }),
  );
  const settings: SlackSettings = {
    signingSecret,
    botToken: BOT_TOKEN,
    apiBaseUrl: fake.url,
    timeoutMs: 2000,
    ...opts.settings,
  };
  const receipts: DeliveryReceipt[] = [];
  const state = new RedisSlackState(redis, `${label}:`);
  const adapter = slackAdapter({
    settings,
    bus,
    state,
    texts,
    onReceipt: (r) => void receipts.push(r),
    languageOf: async (user) => (await directory.identify('slack', user)).preferredLang,
    ...(opts.inbox ? { inbox: opts.inbox } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  const app = await buildServer({
    adapters: [adapter],
    log: createLogger('silent'),
    bodyLimit: opts.bodyLimit ?? 64 * 1024,
  });
  opts.beforeListen?.(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  if (opts.handlers) {
    const noop = async () => {};
    bus.start({ inbound: noop, outbound: noop, timer: noop, ...opts.handlers(adapter) });
    await bus.waitUntilReady();
  }
  const queues = Array.from(
    { length: PARTITIONS },
    (_, i) => new Queue(inboundQueueName(i), { connection: redis, prefix: `{${label}}` }),
  );

  return {
    redis,
    fake,
    bus,
    busErrors,
    app,
    adapter,
    settings,
    state,
    receipts,
    url,
    route: (path) => `${url}${path}`,
    async inboundJobs() {
      const types = ['wait', 'active', 'delayed', 'prioritized', 'completed', 'failed'] as const;
      const jobs = (await Promise.all(queues.map((q) => q.getJobs([...types])))).flat();
      return jobs.sort((a, b) => a.timestamp - b.timestamp).map((j) => inboundJob.parse(j.data));
    },
    async close() {
      await app.close();
      await fake.close();
      await bus.close();
      await Promise.all(queues.map((q) => q.close()));
      await redis.quit();
      await redisServer.stop();
    },
  };
}

/** The Slack harness for the conformance suite: a parent (g-john) writing to the bot in a DM. */
export const slackHarness: ConformanceHarness = {
  // The fake answers 429 with Retry-After, which WebClient reports as `retryAfter`.
  retryAfter: true,
  async setup() {
    const world = await startSlackWorld({ bodyLimit: BODY_LIMIT });
    const user = 'U07JOHN0001';
    const dm = world.fake.dmOf(user);
    const invalid = 'D0NOBODY001';
    return {
      adapter: world.adapter,
      conversationId: dm,
      invalidConversationId: invalid,
      newMessageId: () => world.fake.newEventId(),
      async postInbound(msg, opts = {}) {
        const envelope = world.fake.envelope(
          world.fake.messageEvent({ user, channel: dm, text: msg.text }),
          msg.id,
        );
        const responses = await world.fake.postEvent(world.route(EVENTS_PATH), envelope, {
          signature: opts.signature ?? 'valid',
          times: opts.times ?? 1,
        });
        return responses.map((r) => r.status);
      },
      async postMalformed(id) {
        // Signed, but a person's message without its sender.
        const event = { type: 'message', channel: dm, text: 'Hello', ts: world.fake.newTs() };
        const [res] = await world.fake.postEvent(world.route(EVENTS_PATH), world.fake.envelope(event, id));
        return res?.status ?? 0;
      },
      async postOversized(id) {
        const text = 'x'.repeat(BODY_LIMIT + 1);
        const envelope = world.fake.envelope(world.fake.messageEvent({ user, channel: dm, text }), id);
        const [res] = await world.fake.postEvent(world.route(EVENTS_PATH), envelope);
        return res?.status ?? 0;
      },
      inboundJobs: () => world.inboundJobs(),
      delivered: () => world.fake.messages.map((m) => ({ to: m.channel, text: m.text })),
      failNextSend(kind) {
        if (kind === 'rate-limited') world.fake.failNext({ kind: 'rate-limited', retryAfter: 3 });
        if (kind === 'unavailable') world.fake.failNext({ kind: 'http', status: 503 });
        if (kind === 'invalid-address') world.fake.rejectChannel(invalid, 'channel_not_found');
      },
      receipts: () => world.receipts,
      close: () => world.close(),
    };
  },
};
