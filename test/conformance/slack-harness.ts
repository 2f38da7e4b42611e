import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { FakeSlack } from '../../adapters/slack/fake-slack.ts';
import {
  EVENTS_PATH,
  type Inbox,
  RedisSlackState,
  type SlackSettings,
  slackAdapter,
  slackTexts,
} from '../../adapters/slack/index.ts';
import type { DeliveryReceipt } from '../../src/channels.ts';
import { directory, renderer } from '../helpers/world.ts';
import type { ConformanceHarness } from './adapter-conformance.ts';
import {
  type ChannelWorld,
  type ChannelWorldOptions,
  serveAdapter,
  startRedisAndBus,
} from './channel-world.ts';

/** The conformance world's body limit, in bytes. */
const BODY_LIMIT = 16 * 1024;
export const BOT_TOKEN = 'xoxb-0000000000-fake-skolebro-token';
export const texts = slackTexts(renderer);

export interface SlackWorld extends ChannelWorld {
  fake: FakeSlack;
  settings: SlackSettings;
  state: RedisSlackState;
  receipts: DeliveryReceipt[];
  /** Local URL of the server. */
  url: string;
  /** Full URL of a Slack route (`/webhooks/slack/...`). */
  route(path: string): string;
}

export interface SlackWorldOptions extends ChannelWorldOptions {
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
  const base = await startRedisAndBus('slack');
  const signingSecret = randomBytes(16).toString('hex');
  const fake = await FakeSlack.start({ botToken: BOT_TOKEN, signingSecret });
  const settings: SlackSettings = {
    signingSecret,
    botToken: BOT_TOKEN,
    apiBaseUrl: fake.url,
    timeoutMs: 2000,
    ...opts.settings,
  };
  const receipts: DeliveryReceipt[] = [];
  const state = new RedisSlackState(base.redis, `${base.label}:`);
  const adapter = slackAdapter({
    settings,
    bus: base.bus,
    state,
    texts,
    onReceipt: (r) => void receipts.push(r),
    languageOf: async (user) => (await directory.identify('slack', user)).preferredLang,
    ...(opts.inbox ? { inbox: opts.inbox } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  const served = await serveAdapter(base, adapter, {
    platform: fake,
    bodyLimit: opts.bodyLimit ?? 64 * 1024,
    handlers: opts.handlers,
    beforeListen: opts.beforeListen,
  });
  return { ...served, fake, settings, state, receipts, route: (path) => `${served.url}${path}` };
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
