import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { FakeTwilio } from '../../adapters/sms/fake-twilio.ts';
import { type SmsReceipt, type SmsSettings, smsAdapter } from '../../adapters/sms/index.ts';
import { loadSmsTexts } from '../../adapters/sms/keywords.ts';
import { RedisOptOuts } from '../../adapters/sms/opt-outs.ts';
import { RedisSmsState } from '../../adapters/sms/state.ts';
import { MemoryDirectory } from '../../src/directory/directory.ts';
import { loadDirectoryFolder } from '../../src/directory/load.ts';
import type { ConformanceHarness } from './adapter-conformance.ts';
import {
  type ChannelWorld,
  type ChannelWorldOptions,
  serveAdapter,
  startRedisAndBus,
} from './channel-world.ts';

const ROOT = join(import.meta.dirname, '..', '..');
/** The URL Twilio would be configured with; requests really reach the server on loopback. */
export const PUBLIC_BASE_URL = 'https://skolebro.example';
export const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
export const FROM = '+4759440000';

export const smsTexts = loadSmsTexts(join(ROOT, 'locales'));
const directory = new MemoryDirectory(loadDirectoryFolder(join(ROOT, 'examples/demo-school')));

export interface SmsWorld extends ChannelWorld {
  fake: FakeTwilio;
  settings: SmsSettings;
  optOuts: RedisOptOuts;
  state: RedisSmsState;
  receipts: SmsReceipt[];
  /** Local URL of the server. */
  url: string;
}

export interface SmsWorldOptions extends ChannelWorldOptions {
  maxChars?: number;
  /** Settings to change, e.g. a wrong auth token. */
  settings?: Partial<SmsSettings>;
}

/**
 * A private redis-server, a BullJobBus on a unique prefix, the fake Twilio, and
 * `buildServer` with the SMS adapter (Redis opt-outs and state, the demo directory
 * for keyword languages) listening on loopback.
 */
export async function startSmsWorld(opts: SmsWorldOptions = {}): Promise<SmsWorld> {
  const base = await startRedisAndBus('sms');
  const authToken = randomBytes(16).toString('hex');
  // The fake posts to the public URL, as Twilio would; `route` sends that to the server on
  // loopback, whose port is known once it listens.
  let local = '';
  const fake = await FakeTwilio.start({
    accountSid: ACCOUNT_SID,
    authToken,
    route: (publicUrl) => publicUrl.replace(PUBLIC_BASE_URL, local),
  });
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
  const optOuts = new RedisOptOuts(base.redis, `${base.label}:`);
  const state = new RedisSmsState(base.redis, `${base.label}:`);
  const adapter = smsAdapter({
    settings,
    bus: base.bus,
    optOuts,
    state,
    texts: smsTexts,
    onReceipt: (r) => void receipts.push(r),
    languageOf: async (phone) => (await directory.identify('sms', phone)).preferredLang,
  });
  const served = await serveAdapter(base, adapter, {
    platform: fake,
    bodyLimit: opts.bodyLimit ?? 64 * 1024,
    handlers: opts.handlers,
  });
  local = served.url;
  return { ...served, fake, settings, optOuts, state, receipts };
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
