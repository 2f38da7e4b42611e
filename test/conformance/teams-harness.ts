import { randomBytes, randomUUID } from 'node:crypto';
import { FakeConnector, type PostedActivity, type PostOptions } from '../../adapters/teams/fake-connector.ts';
import {
  MESSAGES_PATH,
  RedisTeamsState,
  type TeamsLabels,
  type TeamsSettings,
  teamsAdapter,
  teamsMessageId,
} from '../../adapters/teams/index.ts';
import type { DeliveryReceipt } from '../../src/channels.ts';
import type { ConformanceHarness } from './adapter-conformance.ts';
import {
  type ChannelWorld,
  type ChannelWorldOptions,
  serveAdapter,
  startRedisAndBus,
} from './channel-world.ts';

export const APP_ID = '3f6e2a1b-7c4d-4e8f-9a0b-1c2d3e4f5a6b';
export const BODY_LIMIT = 64 * 1024;

export interface TeamsWorld extends ChannelWorld {
  fake: FakeConnector;
  settings: TeamsSettings;
  state: RedisTeamsState;
  receipts: DeliveryReceipt[];
  /** The messaging endpoint on loopback. */
  messagesUrl: string;
  /** Has the fake post an activity to the endpoint; resolves to each status. */
  post(activity: unknown, opts?: PostOptions): Promise<number[]>;
}

export interface TeamsWorldOptions extends ChannelWorldOptions {
  /** Settings to change, e.g. a wrong password. */
  settings?: Partial<TeamsSettings>;
  labels?: Partial<TeamsLabels>;
}

/**
 * A private redis-server, a BullJobBus on a unique prefix, the fake Bot Connector, and
 * `buildServer` with the Teams adapter (Redis state) listening on loopback. The adapter
 * checks JWTs with the SDK against the fake's OpenID metadata and gets its tokens from
 * the fake's token endpoint.
 */
export async function startTeamsWorld(opts: TeamsWorldOptions = {}): Promise<TeamsWorld> {
  const base = await startRedisAndBus('teams');
  const appPassword = randomBytes(16).toString('hex');
  const fake = await FakeConnector.start({ appId: APP_ID, appPassword });
  const settings: TeamsSettings = {
    appId: APP_ID,
    appPassword,
    appType: 'MultiTenant',
    openIdMetadataUrl: fake.openIdMetadataUrl,
    loginUrl: fake.loginUrl,
    timeoutMs: 2000,
    ...opts.settings,
  };
  const receipts: DeliveryReceipt[] = [];
  const state = new RedisTeamsState(base.redis, `${base.label}:`);
  const adapter = teamsAdapter({
    settings,
    bus: base.bus,
    state,
    onReceipt: (r) => void receipts.push(r),
    ...(opts.labels ? { labels: opts.labels } : {}),
  });
  const { url, ...served } = await serveAdapter(base, adapter, {
    platform: fake,
    bodyLimit: opts.bodyLimit ?? BODY_LIMIT,
    handlers: opts.handlers,
  });
  const messagesUrl = `${url}${MESSAGES_PATH}`;
  return {
    ...served,
    fake,
    settings,
    state,
    receipts,
    messagesUrl,
    async post(activity, postOpts) {
      return (await fake.post(messagesUrl, activity, postOpts)).map((r) => r.status);
    },
  };
}

/** What a parent would read of a posted message: its text, or the first text of its card. */
export function shownText(posted: PostedActivity): string {
  if (typeof posted.activity.text === 'string') return posted.activity.text;
  const body = posted.activity.attachments?.[0]?.content.body as Array<{ text?: string }> | undefined;
  return body?.find((b) => typeof b.text === 'string')?.text ?? '';
}

/** The Teams harness for the conformance suite: a parent who installed the bot, chatting one to one. */
export const teamsHarness: ConformanceHarness = {
  retryAfter: true,
  async setup() {
    const world = await startTeamsWorld();
    const parent = world.fake.user(randomUUID(), 'Conformance Parent');
    const gone = world.fake.user(randomUUID(), 'Removed Parent');
    for (const user of [parent, gone]) {
      const [status] = await world.post(world.fake.installed(user));
      if (status !== 200) throw new Error(`installing the bot for a test user answered ${status}`);
    }
    return {
      adapter: world.adapter,
      conversationId: parent.conversationId,
      invalidConversationId: gone.conversationId,
      newMessageId: () => world.fake.newActivityId(),
      messageIdOf: (id) => teamsMessageId(id, parent.conversationId),
      async postInbound(msg, opts = {}) {
        const activity = world.fake.message(parent, { id: msg.id, text: msg.text });
        const token =
          opts.signature === 'forged' ? 'forged' : opts.signature === 'missing' ? 'missing' : 'valid';
        return world.post(activity, { token, times: opts.times ?? 1 });
      },
      async postMalformed(id) {
        const { from: _from, ...activity } = world.fake.message(parent, { id, text: 'no sender' });
        const [status] = await world.post(activity);
        return status as number;
      },
      async postOversized(id) {
        const activity = world.fake.message(parent, { id, text: 'x'.repeat(BODY_LIMIT + 1) });
        const [status] = await world.post(activity);
        return status as number;
      },
      inboundJobs: () => world.inboundJobs(),
      delivered: () => world.fake.posted.map((p) => ({ to: p.conversationId, text: shownText(p) })),
      failNextSend(kind) {
        if (kind === 'rate-limited') world.fake.failNext({ status: 429, retryAfter: '3' });
        if (kind === 'unavailable') world.fake.failNext({ status: 503 });
        // The bot was removed from that chat: Teams answers 404 ConversationNotFound.
        if (kind === 'invalid-address') world.fake.failConversation(gone.conversationId, { status: 404 });
      },
      receipts: () => world.receipts,
      close: () => world.close(),
    };
  },
};
