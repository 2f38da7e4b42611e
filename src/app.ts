import type { FastifyInstance } from 'fastify';
import { webAdapter } from '../adapters/web/index.ts';
import type { ChannelAdapter } from './channels.ts';
import type { Config } from './config.ts';
import { MemoryDirectory } from './directory/directory.ts';
import { loadDirectoryFolder } from './directory/load.ts';
import type { DirectoryData } from './directory/model.ts';
import { keywordLists, type LocaleBundle, loadLocales } from './i18n/locales.ts';
import { createRenderer } from './i18n/render.ts';
import { createLogger, type Logger } from './log.ts';
import { createNlu, type Nlu } from './nlu/index.ts';
import { keywordIndex } from './nlu/keywords.ts';
import { InProcessBus, type JobBus } from './queue/bus.ts';
import { MemoryStore } from './store/memory.ts';
import type { Store } from './store/store.ts';
import { createHandlers, type WorkerDeps } from './worker.ts';

export interface App {
  server: FastifyInstance;
  bus: JobBus;
  store: Store;
  worker: WorkerDeps;
  close(): Promise<void>;
}

/** Loaded once per process: locales, the trained NLU and the school register. */
export interface Assets {
  locales: LocaleBundle;
  nlu: Nlu;
  directory: DirectoryData;
}

export function loadAssets(config: Pick<Config, 'LOCALES_DIR' | 'SCHOOL_DATA_DIR'>): Assets {
  const locales = loadLocales(config.LOCALES_DIR);
  return { locales, nlu: createNlu(locales), directory: loadDirectoryFolder(config.SCHOOL_DATA_DIR) };
}

/**
 * Wires the single-process app: in-memory bus and store, the web chat, and the
 * worker. Everything is passed in explicitly; nothing here is a global.
 */
export async function createApp(
  config: Config,
  assets: Assets = loadAssets(config),
  opts: { log?: Logger; now?: () => Date } = {},
): Promise<App> {
  const log = opts.log ?? createLogger(config.LOG_LEVEL);
  const { locales, nlu, directory: data } = assets;
  const store = new MemoryStore();
  const bus = new InProcessBus((err, kind) =>
    log.error({ err: { message: (err as Error).message }, kind }, 'job failed'),
  );
  const directory = new MemoryDirectory(data);
  const web = webAdapter({
    bus,
    store,
    languages: locales.languages,
    demoPeople: config.WEB_DEMO_SIGNIN
      ? data.guardians
          .filter((g) => g.webLogin)
          .map((g) => ({ login: g.webLogin as string, name: g.name, lang: g.preferredLang }))
      : [],
    ...(opts.now ? { now: opts.now } : {}),
  });
  const adapters: ChannelAdapter[] = [web];
  const worker: WorkerDeps = {
    bus,
    store,
    directory,
    nlu,
    renderer: createRenderer(locales),
    context: {
      keywords: keywordIndex(keywordLists(locales)),
      languages: locales.languages.map(({ code, name }) => ({ code, name })),
      clarifyBelow: config.NLU_CLARIFY_BELOW,
    },
    adapters: new Map(adapters.map((a) => [a.name, a])),
    log,
  };
  bus.start(createHandlers(worker));
  const { buildServer } = await import('./server.ts');
  const server = await buildServer({ adapters, log, bodyLimit: config.BODY_LIMIT_BYTES });
  return {
    server,
    bus,
    store,
    worker,
    async close() {
      await server.close();
      await bus.close();
    },
  };
}
