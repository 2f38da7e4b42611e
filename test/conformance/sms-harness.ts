import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { FakeTwilio } from '../../adapters/sms/fake-twilio.ts';
import { type SmsReceipt, type SmsSettings, smsAdapter } from '../../adapters/sms/index.ts';
import { loadSmsTexts } from '../../adapters/sms/keywords.ts';
import { RedisOptOuts } from '../../adapters/sms/opt-outs.ts';
import { RedisSmsState } from '../../adapters/sms/state.ts';
import type { ChannelAdapter } from '../../src/channels.ts';
import { MemoryDirectory } from '../../src/directory/directory.ts';
import { loadDirectoryFolder } from '../../src/directory/load.ts';
import { createLogger } from '../../src/log.ts';
import { BullJobBus, inboundQueueName } from '../../src/queue/bullmq.ts';
import type { JobHandlers } from '../../src/queue/bus.ts';
import { type InboundJob, inboundJob } from '../../src/queue/jobs.ts';
import { buildServer } from '../../src/server.ts';
import { startRedis, type TestRedis, uniquePrefix } from '../helpers/redis-server.ts';
import type { ConformanceHarness } from './adapter-conformance.ts';

const ROOT = join(import.meta.dirname, '..', '..');
/** The URL Twilio would be configured with; requests really reach the server on loopback. */
export const PUBLIC_BASE_URL = 'https://skolebro.example';
export const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
export const FROM = '+4759440000';
const PARTITIONS = 4;

export const smsTexts = loadSmsTexts(join(ROOT, 'locales'));
const directory = new MemoryDirectory(loadDirectoryFolder(join(ROOT, 'examples/demo-school')));

export interface SmsWorld {
  redis: Redis;
  fake: FakeTwilio;
  bus: BullJobBus;
  busErrors: Array<{ err: unknown; kind: string }>;
  app: FastifyInstance;
  adapter: ChannelAdapter;
  settings: SmsSettings;
  optOuts: RedisOptOuts;
  state: RedisSmsState;
  receipts: SmsReceipt[];
  /** Local URL of the server. */
  url: string;
  /** Inbound jobs on the queues so far, in the order they were added. */
  inboundJobs(): Promise<InboundJob[]>;
  close(): Promise<void>;
}

export interface SmsWorldOptions {
  bodyLimit?: number;
  maxChars?: number;
  /** Starts the bus with these handlers (given the adapter), the rest no-ops; default: not started, jobs stay queued. */
  handlers?: (adapter: ChannelAdapter) => Partial<JobHandlers>;
  /** Settings to change, e.g. a wrong auth token. */
  settings?: Partial<SmsSettings>;
}

/**
 * A private redis-server, a BullJobBus on a unique prefix, the fake Twilio, and
 * `buildServer` with the SMS adapter (Redis opt-outs and state, the demo directory
 * for keyword languages) listening on loopback.
 */
export async function startSmsWorld(opts: SmsWorldOptions = {}): Promise<SmsWorld> {
  const redisServer: TestRedis = await startRedis();
  const redis = new Redis(redisServer.url);
  const label = uniquePrefix('sms');
  const busPrefix = `{${label}}`;
  const authToken = randomBytes(16).toString('hex');
  let local = '';
  const fake = await FakeTwilio.start({
    accountSid: ACCOUNT_SID,
    authToken,
    route: (publicUrl) => publicUrl.replace(PUBLIC_BASE_URL, local),
  });
  const busErrors: SmsWorld['busErrors'] = [];
  const bus = new BullJobBus(
    redis,
    { prefix: busPrefix, partitions: PARTITIONS, outboundBackoffMs: 10, attempts: 3 },
    (err, kind) => busErrors.push({ err, kind }),
  );
  const settings: SmsSettings = {
    accountSid: ACCOUNT_SID,
    authToken,
    from: FROM,
    apiBaseUrl: fake.url,
    publicBaseUrl: PUBLIC_BASE_URL,
    pricePerSegmentNok: 0.6,
    timeoutMs: 2000,
    ...(opts.maxChars ? { maxChars: opts.maxChars } : {}),
    ...opts.settings,
  };
  const receipts: SmsReceipt[] = [];
  const optOuts = new RedisOptOuts(redis, `${label}:`);
  const state = new RedisSmsState(redis, `${label}:`);
  const adapter = smsAdapter({
    settings,
    bus,
    optOuts,
    state,
    texts: smsTexts,
    onReceipt: (r) => void receipts.push(r),
    languageOf: async (phone) => (await directory.identify('sms', phone)).preferredLang,
  });
  const app = await buildServer({
    adapters: [adapter],
    log: createLogger('silent'),
    bodyLimit: opts.bodyLimit ?? 64 * 1024,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  local = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  if (opts.handlers) {
    const noop = async () => {};
    bus.start({ inbound: noop, outbound: noop, timer: noop, ...opts.handlers(adapter) });
    await bus.waitUntilReady();
  }
  const queues = Array.from(
    { length: PARTITIONS },
    (_, i) => new Queue(inboundQueueName(i), { connection: redis, prefix: busPrefix }),
  );

  return {
    redis,
    fake,
    bus,
    busErrors,
    app,
    adapter,
    settings,
    optOuts,
    state,
    receipts,
    url: local,
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

/** The SMS harness for the conformance suite. */
export const smsHarness: ConformanceHarness = {
  retryAfter: true,
  async setup() {
    const world = await startSmsWorld();
    const phone = '+4791234567';
    const invalid = '+4790000999';
    return {
      adapter: world.adapter,
      conversationId: phone,
      invalidConversationId: invalid,
      newMessageId: () => `SM${randomBytes(16).toString('hex')}`,
      async postInbound(msg, opts = {}) {
        const params = world.fake.inboundParams({ from: phone, body: msg.text, messageSid: msg.id });
        const signature =
          opts.signature === 'missing' ? null : opts.signature === 'forged' ? 'Zm9yZ2VkIQ==' : undefined;
        const responses = await world.fake.post(`${PUBLIC_BASE_URL}/webhooks/sms`, params, {
          ...(signature !== undefined ? { signature } : {}),
          times: opts.times ?? 1,
        });
        return responses.map((r) => r.status);
      },
      inboundJobs: () => world.inboundJobs(),
      delivered: () => world.fake.sent.map((m) => ({ to: m.to, text: m.body })),
      failNextSend(kind) {
        if (kind === 'rate-limited') world.fake.failNext({ status: 429, retryAfter: '3' });
        if (kind === 'unavailable') world.fake.failNext({ status: 503 });
        if (kind === 'invalid-address') world.fake.rejectNumber(invalid, 21211);
      },
      receipts: () => world.receipts,
      async reportDelivered(sid, opts = {}) {
        const res = await world.fake.postStatus(
          sid,
          'delivered',
          undefined,
          opts.signature === 'forged' ? { authToken: 'not-the-token' } : {},
        );
        return res.status;
      },
      close: () => world.close(),
    };
  },
};
