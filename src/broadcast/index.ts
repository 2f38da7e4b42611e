import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DEFAULT_SEGMENTS_PER_SECOND } from '../../adapters/sms/config.ts';
import { MemoryOptOuts, type OptOuts, RedisOptOuts } from '../../adapters/sms/opt-outs.ts';
import { DEFAULT_PRICE_PER_SEGMENT_NOK } from '../../adapters/sms/segments.ts';
import type { ChannelAdapter } from '../channels.ts';
import type { DirectoryData } from '../directory/model.ts';
import type { Logger } from '../log.ts';
import type { JobBus } from '../queue/bus.ts';
import type { Store } from '../store/store.ts';
import type { Translator } from '../translation/types.ts';
import { type AudienceSource, MemoryAudience, RedisAudience } from './audience.ts';
import type { BroadcastConfig } from './config.ts';
import type { BroadcastHooks } from './hooks.ts';
import { parseQuietHours } from './schedule.ts';
import { BroadcastService } from './service.ts';
import { MemoryBroadcastStore, RedisBroadcastStore } from './store.ts';
import { loadBroadcastTexts } from './texts.ts';

export { broadcastConfig, broadcastConfigShape, DEFAULT_BROADCAST_CONFIG } from './config.ts';
export type { BroadcastHooks } from './hooks.ts';
export { BroadcastService, broadcastReplyId, parseBroadcastReplyId } from './service.ts';

export interface CreateBroadcastsDeps {
  config: BroadcastConfig & {
    REDIS_KEY_PREFIX: string;
    RETENTION_DAYS: number;
    DIRECTORY: 'folder' | 'redis';
    LOCALES_DIR: string;
    SMS_PRICE_PER_SEGMENT_NOK?: number;
    /** The SMS sender's pace (an SMS setting, adapters/sms/config.ts). Default 10. */
    SMS_SEGMENTS_PER_SECOND?: number;
  };
  /** Unset: everything in memory (`npm start`). */
  redis?: Redis;
  bus: JobBus;
  store: Store;
  /** The folder register (DIRECTORY=folder). */
  data: DirectoryData;
  translator: Translator;
  /** The channels this installation has (names and capabilities); read at each use, so adapters pushed later count. */
  adapters: readonly Pick<ChannelAdapter, 'name' | 'capabilities'>[];
  /** SMS opt-outs; default Redis' (same key as the SMS adapter's) or an empty memory list. */
  optOuts?: OptOuts;
  log: Logger;
  now?: () => Date;
  newId?: () => string;
}

export interface Broadcasts {
  service: BroadcastService;
  /** For WorkerDeps.broadcasts. */
  hooks: BroadcastHooks;
  /** For the SMS adapter's status callbacks (and any channel's): tracking by reply id. */
  onReceipt: BroadcastService['onReceipt'];
}

/**
 * Wires broadcasts for one process: the Redis store and register when there is Redis,
 * memory otherwise; the settings from config. app.ts calls it once and hands `hooks` to
 * the worker, `onReceipt` to the SMS status callbacks and `service` to the web adapter.
 */
export function createBroadcasts(deps: CreateBroadcastsDeps): Broadcasts {
  const { config, redis } = deps;
  const keyPrefix = `${config.REDIS_KEY_PREFIX}:`;
  const source: AudienceSource =
    config.DIRECTORY === 'redis' && redis
      ? new RedisAudience(redis, config.REDIS_KEY_PREFIX)
      : new MemoryAudience(deps.data);
  const quiet =
    config.BROADCAST_QUIET_HOURS === 'off' ? undefined : parseQuietHours(config.BROADCAST_QUIET_HOURS);
  const service = new BroadcastService({
    store: redis
      ? new RedisBroadcastStore(redis, { prefix: keyPrefix, retentionDays: config.RETENTION_DAYS })
      : new MemoryBroadcastStore(),
    source,
    bus: deps.bus,
    translator: deps.translator,
    optOuts: deps.optOuts ?? (redis ? new RedisOptOuts(redis, keyPrefix) : new MemoryOptOuts()),
    threads: deps.store,
    channels: () =>
      deps.adapters.map((a) => ({
        name: a.name,
        capabilities: { receipts: a.capabilities.receipts },
      })),
    settings: {
      ...(quiet ? { quiet } : {}),
      receiptTimeoutMs: config.BROADCAST_RECEIPT_TIMEOUT_MINUTES * 60_000,
      smsSegmentsPerSecond: config.SMS_SEGMENTS_PER_SECOND ?? DEFAULT_SEGMENTS_PER_SECOND,
      batch: config.BROADCAST_BATCH,
      pricePerSegmentNok: config.SMS_PRICE_PER_SEGMENT_NOK ?? DEFAULT_PRICE_PER_SEGMENT_NOK,
    },
    texts: loadBroadcastTexts(config.LOCALES_DIR),
    log: deps.log.child({ part: 'broadcast' }),
    now: deps.now ?? (() => new Date()),
    newId: deps.newId ?? (() => randomUUID().replaceAll('-', '').slice(0, 20)),
  });
  return { service, hooks: service, onReceipt: (r) => service.onReceipt(r) };
}
