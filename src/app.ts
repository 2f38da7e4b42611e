import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { slackAdapterFromConfig } from '../adapters/slack/index.ts';
import {
  loadSmsTexts,
  MemoryOptOuts,
  MemorySegmentPacer,
  MemorySmsState,
  RedisOptOuts,
  RedisSegmentPacer,
  RedisSmsState,
  smsAdapter,
  smsSettings,
} from '../adapters/sms/index.ts';
import {
  MemoryTeamsState,
  RedisTeamsState,
  teamsAdapter,
  teamsBroadcastsFrom,
  teamsSettings,
} from '../adapters/teams/index.ts';
import { webAdapter } from '../adapters/web/index.ts';
import { DEFAULT_SCHOOL_HOURS, parseSchoolHours } from '../dialogs/relay.ts';
import { createBroadcasts } from './broadcast/index.ts';
import type { ChannelAdapter } from './channels.ts';
import type { Config } from './config.ts';
import { type DirectoryReader, MemoryDirectory } from './directory/directory.ts';
import { loadDirectoryFolder } from './directory/load.ts';
import type { DirectoryData } from './directory/model.ts';
import { RedisDirectory } from './directory/redis.ts';
import { MemoryOneTimeCodes, RedisOneTimeCodes } from './directory/verification.ts';
import { keywordLists, type LocaleBundle, loadLocales } from './i18n/locales.ts';
import { createRenderer } from './i18n/render.ts';
import { createLogger, type Logger } from './log.ts';
import { startRetentionPurge } from './maintenance.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { createNlu, type Nlu } from './nlu/index.ts';
import { keywordIndex } from './nlu/keywords.ts';
import { BullJobBus } from './queue/bullmq.ts';
import { InProcessBus, type JobBus } from './queue/bus.ts';
import { MemoryStore } from './store/memory.ts';
import { RedisStore } from './store/redis.ts';
import type { Store } from './store/store.ts';
import { createTranslator } from './translation/index.ts';
import { createHandlers, type WorkerDeps } from './worker.ts';

/**
 * What this process does. `all`: HTTP and worker in one process (pilot, `npm start`);
 * `web`: webhooks, web chat and admin, enqueue only; `worker`: processors, plus
 * health and metrics over HTTP. Many `web` and `worker` processes share one Redis.
 */
export type Role = 'all' | 'web' | 'worker';
export const ROLES: readonly Role[] = ['all', 'web', 'worker'];

type DemoParent = { login: string; name: string; lang: string };
type DemoStaff = { login: string; name: string; roles: string[] };

export interface App {
  role: Role;
  server: FastifyInstance;
  bus: JobBus;
  store: Store;
  worker: WorkerDeps;
  metrics: Metrics;
  /** Stops taking requests and jobs, lets in-flight jobs finish, then closes Redis. */
  close(): Promise<void>;
}

/** Loaded once per process: locales, the trained NLU and the school register. */
export interface Assets {
  locales: LocaleBundle;
  nlu: Nlu;
  directory: DirectoryData;
}

export function loadAssets(config: Pick<Config, 'LOCALES_DIR' | 'SCHOOL_DATA_DIR' | 'DIRECTORY'>): Assets {
  const locales = loadLocales(config.LOCALES_DIR);
  const directory =
    config.DIRECTORY === 'folder' ? loadDirectoryFolder(config.SCHOOL_DATA_DIR) : EMPTY_DIRECTORY;
  let nlu: Nlu | undefined;
  return {
    locales,
    directory,
    // Trained on first use (a few seconds, tens of MB): a web process never needs it.
    get nlu() {
      nlu ??= createNlu(locales);
      return nlu;
    },
  };
}

const EMPTY_DIRECTORY: DirectoryData = {
  schools: [],
  classes: [],
  staff: [],
  guardians: [],
  pupils: [],
  schoolCalendars: {},
  classCalendars: {},
};

interface Backbone {
  redis?: Redis;
  bus: JobBus;
  store: Store;
  directory: DirectoryReader;
  /** Demo sign-in lists (web chat and staff inbox). */
  demo(): Promise<{ parents: DemoParent[]; staff: DemoStaff[] }>;
  ready(): Promise<boolean>;
  collect(metrics: Metrics): Promise<void>;
  close(): Promise<void>;
}

/**
 * In memory without REDIS_URL (the demo: nothing survives a restart); otherwise
 * BullMQ queues and the Redis store, the same code paths either way.
 */
function backbone(config: Config, data: DirectoryData, log: Logger, metrics: Metrics): Backbone {
  const onError = (err: unknown, kind: string) => {
    const retry = kind.endsWith(':retry');
    metrics.jobFailures.inc({ kind: kind.replace(/:retry$/, ''), retry: String(retry) });
    const code = (err as { code?: string }).code;
    log[retry ? 'warn' : 'error']({ err: { message: (err as Error).message, code }, kind }, 'job failed');
  };
  const folderDemo = async () => ({
    parents: data.guardians
      .filter((g) => g.webLogin)
      .map((g) => ({ login: g.webLogin as string, name: g.name, lang: g.preferredLang })),
    staff: data.staff
      .filter((s) => s.webLogin)
      .map((s) => ({ login: s.webLogin as string, name: s.name, roles: s.roles })),
  });
  if (!config.REDIS_URL) {
    return {
      bus: new InProcessBus(onError),
      store: new MemoryStore(),
      directory: new MemoryDirectory(data),
      demo: folderDemo,
      ready: async () => true,
      collect: async () => {},
      close: async () => {},
    };
  }
  // Auto-pipelining: a drain runs the turns of many conversations at once (src/queue/mailbox.ts),
  // and their store commands of one tick leave in one write (bench/pipeline.ts: worker writes
  // per message 7.6 -> 2.5, Redis CPU per message 0.24 -> 0.19 ms).
  const redis = new Redis(config.REDIS_URL, { enableAutoPipelining: true });
  redis.on('error', (err) => log.warn({ err: { message: err.message } }, 'redis connection'));
  // BullMQ defines some sixty Lua commands on the connection it is given, and ioredis
  // copies each of them onto every pipeline and MULTI made from that connection (tens of
  // kilobytes each). The queues therefore get a connection of their own, so that the
  // store's pipelines and MULTIs stay cheap. The queue connection does not auto-pipeline:
  // it cost more worker CPU than it saved (bench/pipeline.ts), and `addBulk` makes its own pipeline.
  const queueRedis = new Redis(config.REDIS_URL, { enableAutoPipelining: false });
  queueRedis.on('error', (err) => log.warn({ err: { message: err.message } }, 'redis connection (queues)'));
  const bus = new BullJobBus(
    queueRedis,
    {
      prefix: `{${config.REDIS_KEY_PREFIX}}`,
      partitions: config.INBOUND_PARTITIONS,
      outboundPartitions: config.OUTBOUND_PARTITIONS,
      outbound: Object.fromEntries(
        Object.entries(config.OUTBOUND_RATE_LIMITS).map(([channel, limiter]) => [channel, { limiter }]),
      ),
      lockDurationMs: config.QUEUE_LOCK_MS,
      stalledIntervalMs: config.QUEUE_LOCK_MS,
      stallAfterMs: config.QUEUE_STALL_SECONDS * 1000,
    },
    onError,
  );
  const fromRedis =
    config.DIRECTORY === 'redis' ? new RedisDirectory(redis, { prefix: config.REDIS_KEY_PREFIX }) : undefined;
  return {
    redis,
    bus,
    store: new RedisStore(redis, {
      prefix: `${config.REDIS_KEY_PREFIX}:`,
      retentionDays: config.RETENTION_DAYS,
    }),
    directory: fromRedis ?? new MemoryDirectory(data),
    demo: fromRedis
      ? async () => ({ parents: await fromRedis.demoPeople(), staff: await fromRedis.demoStaff() })
      : folderDemo,
    ready: () => bus.healthy(),
    async collect(m) {
      const stats = await bus.stats();
      for (const q of stats.queues) {
        for (const state of ['waiting', 'active', 'delayed', 'failed'] as const)
          m.queueDepth.set({ queue: q.queue, state }, q[state]);
      }
      m.deadLetters.set(stats.deadLetter);
      m.inboundOldestWait.set((await bus.oldestInboundWaitMs()) / 1000);
    },
    async close() {
      await Promise.all([redis, queueRedis].map((r) => r.quit().catch(() => r.disconnect())));
    },
  };
}

/**
 * Wires one process for its role. Everything is passed in explicitly; nothing here is a global.
 */
export async function createApp(
  config: Config,
  assets: Assets = loadAssets(config),
  opts: { log?: Logger; now?: () => Date; role?: Role } = {},
): Promise<App> {
  const role = opts.role ?? 'all';
  const log = opts.log ?? createLogger(config.LOG_LEVEL);
  const metrics = createMetrics();
  const { locales, directory: data } = assets;
  const { redis, bus, store, directory, demo, ready, collect, close } = backbone(config, data, log, metrics);
  const people = config.WEB_DEMO_SIGNIN ? await demo() : { parents: [], staff: [] };
  const translator = createTranslator(config, { ...(redis ? { redis } : {}), metrics, log });
  const adapters: ChannelAdapter[] = [];
  // Reads `adapters` when used, so channels added below count.
  const broadcasts = createBroadcasts({
    config,
    redis,
    bus,
    store,
    data,
    translator,
    adapters,
    log,
    ...(opts.now ? { now: opts.now } : {}),
  });
  const web = webAdapter({
    broadcasts: broadcasts.service,
    bus,
    store,
    directory,
    log,
    demoStaff: people.staff,
    languages: locales.languages,
    demoPeople: people.parents,
    ...(opts.now ? { now: opts.now } : {}),
  });
  adapters.push(web);
  const sms = smsSettings(config);
  if (sms) {
    const keyPrefix = `${config.REDIS_KEY_PREFIX}:`;
    adapters.push(
      smsAdapter({
        settings: sms,
        bus,
        optOuts: redis ? new RedisOptOuts(redis, keyPrefix) : new MemoryOptOuts(),
        state: redis ? new RedisSmsState(redis, keyPrefix) : new MemorySmsState(),
        // One budget per sender, shared by every worker process through Redis. On the real
        // clock, not opts.now: a test's fixed clock would never refill it.
        pace: redis
          ? new RedisSegmentPacer(redis, keyPrefix, sms.from, { perSecond: config.SMS_SEGMENTS_PER_SECOND })
          : new MemorySegmentPacer({ perSecond: config.SMS_SEGMENTS_PER_SECOND }),
        texts: loadSmsTexts(config.LOCALES_DIR),
        // Status callbacks update the receipt the send left.
        onReceipt: async (r) => {
          const at = (opts.now?.() ?? new Date()).toISOString();
          await store.recordReceipt({
            replyId: r.replyId,
            channel: 'sms',
            status: r.status,
            at,
            ...(r.platformMessageId ? { platformMessageId: r.platformMessageId } : {}),
            ...(r.error ? { error: r.error } : {}),
          });
          await broadcasts.onReceipt(r);
        },
        languageOf: async (phone) => (await directory.identify('sms', phone)).preferredLang,
        log: log.child({ channel: 'sms' }),
        ...(opts.now ? { now: opts.now } : {}),
      }),
    );
  }
  const renderer = createRenderer(locales);
  const teams = teamsSettings(config);
  if (teams) {
    adapters.push(
      teamsAdapter({
        settings: teams,
        bus,
        state: redis ? new RedisTeamsState(redis, `${config.REDIS_KEY_PREFIX}:`) : new MemoryTeamsState(),
        labels: {
          // Staff read Norwegian; the button under a translated staff reply speaks the parent's language.
          original: (lang) =>
            renderer.label('nb', { key: 'staffNotice.original', params: { lang } }).replace(/:\s*$/, ''),
          showOriginal: (lang) => renderer.label(lang, { key: 'relay.showOriginal' }),
        },
        // `kunngjøring …` from staff in their chat with the bot, as `/skolebro kunngjøring` in Slack.
        broadcasts: teamsBroadcastsFrom({
          service: broadcasts.service,
          directory,
          keyPrefix: `${config.REDIS_KEY_PREFIX}:`,
          localesDir: config.LOCALES_DIR,
          ...(redis ? { redis } : {}),
          ...(opts.now ? { now: opts.now } : {}),
        }),
        log: log.child({ channel: 'teams' }),
        ...(opts.now ? { now: opts.now } : {}),
      }),
    );
  }
  const slack = slackAdapterFromConfig(config, {
    bus,
    broadcasts: broadcasts.service,
    ...(redis ? { redis } : {}),
    renderer,
    store,
    directory,
    log: log.child({ channel: 'slack' }),
    ...(opts.now ? { now: opts.now } : {}),
  });
  if (slack) adapters.push(slack);
  const worker: WorkerDeps = {
    bus,
    store,
    directory,
    get nlu() {
      return assets.nlu;
    },
    renderer,
    context: {
      keywords: keywordIndex(keywordLists(locales)),
      languages: locales.languages.map(({ code, name }) => ({ code, name })),
      clarifyBelow: config.NLU_CLARIFY_BELOW,
    },
    adapters: new Map(adapters.map((a) => [a.name, a])),
    log,
    metrics,
    translator,
    broadcasts: broadcasts.hooks,
    codes: redis ? new RedisOneTimeCodes(redis, `${config.REDIS_KEY_PREFIX}:`) : new MemoryOneTimeCodes(),
    staffChannels: new Set(
      adapters.map((a) => a.name).filter((n): n is 'slack' | 'teams' => n === 'slack' || n === 'teams'),
    ),
    escalation: {
      afterMinutes: config.ESCALATE_AFTER_MINUTES,
      hours: parseSchoolHours(config.SCHOOL_HOURS) ?? DEFAULT_SCHOOL_HOURS,
    },
    ...(opts.now ? { now: opts.now } : {}),
  };
  const works = role !== 'web';
  if (works) {
    // Trained before the first job, so that no turn waits for it.
    void worker.nlu;
    bus.start(createHandlers(worker));
  }
  const purge =
    works && store instanceof RedisStore
      ? startRetentionPurge(store, { retentionDays: config.RETENTION_DAYS, log })
      : undefined;

  const { buildServer } = await import('./server.ts');
  const server = await buildServer({
    adapters: role === 'worker' ? [] : adapters,
    log,
    bodyLimit: config.BODY_LIMIT_BYTES,
    ready,
    metrics: async () => {
      await collect(metrics).catch((err) => log.warn({ err: { message: err.message } }, 'queue stats'));
      return { contentType: metrics.registry.contentType, body: await metrics.registry.metrics() };
    },
  });
  return {
    role,
    server,
    bus,
    store,
    worker,
    metrics,
    async close() {
      purge?.stop();
      await server.close();
      await bus.close();
      await close();
    },
  };
}
