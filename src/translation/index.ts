import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { AzureTranslator } from './azure.ts';
import { CachedTranslator } from './cache.ts';
import type { TranslatorEnv } from './config.ts';
import { type Glossary, loadGlossary } from './glossary.ts';
import { NoTranslator } from './none.ts';
import type { Translator } from './types.ts';

export { AzureTranslator, type AzureTranslatorOptions, LIMITS } from './azure.ts';
export { CachedTranslator, type CachedTranslatorOptions } from './cache.ts';
export {
  DEFAULT_TRANSLATOR_ENDPOINT,
  type TranslatorEnv,
  translatorEnvSchema,
  translatorEnvShape,
} from './config.ts';
export { createGlossary, type Glossary, type GlossaryData, loadGlossary, SCHOOL_TERMS } from './glossary.ts';
export { NoTranslator } from './none.ts';
export { type Detection, type Translation, type Translator, UNDETERMINED } from './types.ts';

export interface TranslatorConfig extends Partial<TranslatorEnv> {
  /** Where the glossary's glosses are read from (locales/<lang>/ui.json). Default `locales`. */
  LOCALES_DIR?: string;
  /** Cache keys go under `<prefix>:mt:`. Default `skolebro`. */
  REDIS_KEY_PREFIX?: string;
}

export interface TranslatorDeps {
  redis?: Redis;
  metrics?: Metrics;
  log?: Logger;
  /** Default: loaded from LOCALES_DIR. */
  glossary?: Glossary;
}

/** Azure behind a Redis cache when a key is configured (no Redis: uncached); NoTranslator otherwise. */
export function createTranslator(config: TranslatorConfig, deps: TranslatorDeps = {}): Translator {
  const { redis, metrics, log } = deps;
  if (!config.TRANSLATOR_KEY) {
    log?.info(
      { endpoint: config.TRANSLATOR_ENDPOINT !== undefined },
      'translator: no TRANSLATOR_KEY, messages pass untranslated',
    );
    return new NoTranslator();
  }
  const glossary = deps.glossary ?? loadGlossary(config.LOCALES_DIR ?? 'locales');
  const azure = new AzureTranslator({
    key: config.TRANSLATOR_KEY,
    endpoint: config.TRANSLATOR_ENDPOINT,
    region: config.TRANSLATOR_REGION,
    timeoutMs: config.TRANSLATOR_TIMEOUT_MS,
    glossary,
    metrics,
    log,
  });
  if (!redis) {
    log?.warn('translator: no Redis, translations are not cached (repeated text is billed again)');
    return azure;
  }
  return new CachedTranslator(azure, {
    redis,
    prefix: `${config.REDIS_KEY_PREFIX ?? 'skolebro'}:mt:`,
    glossaryVersion: glossary.version,
    metrics,
    log,
  });
}
