import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, PermanentError, TransientError } from '../../src/errors.ts';
import { createMetrics, type Metrics } from '../../src/metrics.ts';
import {
  AzureTranslator,
  type AzureTranslatorOptions,
  CachedTranslator,
  createTranslator,
  loadGlossary,
  NoTranslator,
} from '../../src/translation/index.ts';
import { type FakeTranslator, startFakeTranslator } from '../helpers/fake-translator.ts';
import { startRedis, type TestRedis, uniquePrefix } from '../helpers/redis-server.ts';

const LOCALES = join(import.meta.dirname, '..', '..', 'locales');
const glossary = loadGlossary(LOCALES);
const glossOf = (lang: string, term: string): string =>
  JSON.parse(readFileSync(join(LOCALES, lang, 'ui.json'), 'utf8')).glossary[term];

let fake: FakeTranslator;
let metrics: Metrics;

beforeAll(async () => {
  fake = await startFakeTranslator({ key: 'k-123', region: 'norwayeast' });
});
afterAll(async () => {
  await fake?.close();
});
beforeEach(() => {
  fake.reset();
  metrics = createMetrics();
});

const azure = (opts: Partial<AzureTranslatorOptions> = {}) =>
  new AzureTranslator({
    key: fake.key,
    region: 'norwayeast',
    endpoint: fake.url,
    baseDelayMs: 5,
    maxDelayMs: 40,
    glossary,
    metrics,
    ...opts,
  });

async function requests(outcome: string): Promise<number> {
  const { values } = await metrics.translatorRequests.get();
  return values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
}
async function billed(): Promise<number> {
  return (await metrics.translatorCharacters.get()).values[0]?.value ?? 0;
}
async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

describe('AzureTranslator against a fake Translator v3 over loopback', { timeout: 30_000 }, () => {
  it('translates in order, sends key, region and api-version, and records what was billed', async () => {
    const somali = 'Ilmahayga waa jiran yahay maanta';
    const out = await azure().translate(['Hei, jeg er syk', '', 'Takk og god helg', somali], 'so');
    expect(out).toEqual([
      { text: '[so] Hei, jeg er syk', translated: true, from: 'nb', to: 'so' },
      { text: '', translated: false, from: 'und', to: 'so' },
      { text: '[so] Takk og god helg', translated: true, from: 'nb', to: 'so' },
      // Already Somali: the original, not the service's echo of it.
      { text: somali, translated: false, from: 'so', to: 'so' },
    ]);
    const [req] = fake.requests;
    expect(fake.requests).toHaveLength(1);
    expect(req?.path).toBe('/translate');
    expect(req?.query).toMatchObject({ apiVersion: '3.0', to: ['so'], from: null, textType: null });
    expect(req?.headers['ocp-apim-subscription-key']).toBe('k-123');
    expect(req?.headers['ocp-apim-subscription-region']).toBe('norwayeast');
    expect(req?.texts).toEqual(['Hei, jeg er syk', 'Takk og god helg', somali]); // the empty text is never sent
    expect(fake.stats.billedCharacters).toBe(15 + 16 + somali.length);
    expect(await billed()).toBe(fake.stats.billedCharacters);
    expect(await requests('ok')).toBe(1);
  });

  it('passes text already in the target language back untouched, without a request', async () => {
    const out = await azure().translate(['Hei'], 'nb', 'nb');
    expect(out).toEqual([{ text: 'Hei', translated: false, from: 'nb', to: 'nb' }]);
    expect(fake.stats.requests).toBe(0);
  });

  it('splits at 1,000 elements', async () => {
    const texts = Array.from({ length: 2_500 }, (_, i) => `melding ${i}`);
    const out = await azure().translate(texts, 'ar', 'nb');
    expect(fake.requests.map((r) => r.texts.length)).toEqual([1_000, 1_000, 500]);
    expect(out.map((t) => t.text)).toEqual(texts.map((t) => `[ar] ${t}`));
  });

  it('splits at 50,000 characters', async () => {
    const texts = Array.from({ length: 26 }, (_, i) => `${i}`.padEnd(2_000, 'x'));
    const out = await azure().translate(texts, 'ur', 'nb');
    expect(fake.requests.map((r) => [r.status, r.texts.length])).toEqual([
      [200, 25],
      [200, 1],
    ]);
    expect(out.map((t) => t.text)).toEqual(texts.map((t) => `[ur] ${t}`));
  });

  it('counts characters across all targets of a request', async () => {
    const texts = Array.from({ length: 30 }, (_, i) => `${i}`.padEnd(2_000, 'y'));
    const out = await azure().translateMany(texts, ['so', 'ar'], 'nb');
    // 12 texts x 2,000 chars x 2 targets = 48,000; a 13th would pass 50,000.
    expect(fake.requests.map((r) => [r.status, r.texts.length, r.query.to.join()])).toEqual([
      [200, 12, 'so,ar'],
      [200, 12, 'so,ar'],
      [200, 6, 'so,ar'],
    ]);
    expect(out.map((row) => row.map((t) => t.text))).toEqual(texts.map((t) => [`[so] ${t}`, `[ar] ${t}`]));
    expect(fake.stats.billedCharacters).toBe(30 * 2_000 * 2);
    expect(await billed()).toBe(120_000);
  });

  it('sends a long text to fewer targets per request', async () => {
    const long = 'z'.repeat(30_000);
    const out = await azure().translateMany([long, 'kort'], ['so', 'ar', 'ur'], 'nb');
    expect(fake.requests.map((r) => [r.status, r.query.to.join(), r.texts.length])).toEqual([
      [200, 'so', 2],
      [200, 'ar', 2],
      [200, 'ur', 2],
    ]);
    expect(out[1]?.map((t) => t.text)).toEqual(['[so] kort', '[ar] kort', '[ur] kort']);
  });

  it('rides out a 429 storm: waits Retry-After, loses nothing, bills nothing twice, keeps order', async () => {
    const texts = Array.from({ length: 2_500 }, (_, i) => `linje ${i}`);
    fake.throttle(2, { retryAfterSeconds: 1, after: 1 });
    const started = Date.now();
    const out = await azure().translate(texts, 'so', 'nb');
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    expect(fake.requests.map((r) => r.status)).toEqual([200, 429, 429, 200, 200]);
    expect(fake.stats.translatedItems).toBe(2_500);
    expect(out.map((t) => t.text)).toEqual(texts.map((t) => `[so] ${t}`));
    expect(await requests('throttled')).toBe(2);
    expect(await requests('ok')).toBe(3);
  });

  it('gives up on 429 after its attempts, as a TransientError', async () => {
    fake.throttle(10, { retryAfterSeconds: 0 });
    const err = await failure(azure({ maxAttempts: 3 }).translate(['Hei'], 'so', 'nb'));
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ code: ErrorCode.RateLimited, retryable: true });
    expect(fake.stats.requests).toBe(3);
  });

  it('leaves a long Retry-After to the caller instead of sleeping through it', async () => {
    fake.throttle(1, { retryAfterSeconds: 120 });
    const err = await failure(azure().translate(['Hei'], 'so', 'nb'));
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).context).toMatchObject({ status: 429, retryAfterMs: 120_000 });
    expect(fake.stats.requests).toBe(1);
  });

  it('retries a 500 and then succeeds', async () => {
    fake.fail(1, 500);
    const out = await azure().translate(['Hei'], 'so', 'nb');
    expect(out[0]?.text).toBe('[so] Hei');
    expect(fake.requests.map((r) => r.status)).toEqual([500, 200]);
    expect(await requests('error')).toBe(1);
    expect(await requests('ok')).toBe(1);
  });

  it('turns a lasting 503 into a TransientError', async () => {
    fake.fail(10, 503);
    const err = await failure(azure({ maxAttempts: 3 }).translate(['Hei'], 'so', 'nb'));
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ code: ErrorCode.Unavailable, context: { status: 503, attempt: 3 } });
    expect(fake.stats.requests).toBe(3);
  });

  it('fails a 401 at once, as a PermanentError, with no message text in it', async () => {
    const secret = 'Ali har vondt i magen';
    for (const opts of [{ key: 'wrong' }, { region: 'westeurope' }]) {
      fake.reset();
      const err = await failure(azure(opts).translate([secret], 'so', 'nb'));
      expect(err).toBeInstanceOf(PermanentError);
      expect(err).toMatchObject({ retryable: false, context: { status: 401, azureCode: 401000 } });
      expect(fake.stats.requests).toBe(1);
      expect(JSON.stringify({ m: (err as Error).message, c: (err as PermanentError).context })).not.toContain(
        'Ali',
      );
    }
  });

  it('fails a 400 (unsupported language) at once', async () => {
    const err = await failure(azure().translate(['Hei'], 'nn', 'nb'));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toMatchObject({ context: { status: 400, azureCode: 400036 } });
    expect(fake.stats.requests).toBe(1);
  });

  it('times a request out and, when attempts run out, throws a TransientError', async () => {
    fake.stall(10);
    const started = Date.now();
    const err = await failure(azure({ timeoutMs: 150, maxAttempts: 2 }).translate(['Hei'], 'so', 'nb'));
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ code: ErrorCode.Unavailable, context: { timeoutMs: 150, attempt: 2 } });
    expect(fake.stats.requests).toBe(2);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await requests('error')).toBe(2);
  });

  it('retries after a timeout and gets the answer', async () => {
    fake.stall(1, 1_000);
    const out = await azure({ timeoutMs: 200 }).translate(['Hei'], 'so', 'nb');
    expect(out[0]?.text).toBe('[so] Hei');
    expect(fake.stats.requests).toBe(2);
  });

  it('detects languages in batches of 100', async () => {
    const texts = ['Hei, jeg er syk i dag', 'مرحبا', '', 'Ilmahayga waa jiran yahay maanta'];
    const many = Array.from({ length: 250 }, (_, i) => texts[i % texts.length] ?? '');
    const out = await azure().detect(many);
    expect(out.slice(0, 4).map((d) => d.language)).toEqual(['nb', 'ar', 'und', 'so']);
    expect(fake.requests.map((r) => [r.path, r.texts.length])).toEqual([
      ['/detect', 100],
      ['/detect', 88],
    ]);
  });

  describe('glossary', () => {
    const message = 'Hei! Kontaktlæreren inviterer til foreldremøte torsdag. Spør kontaktlærer om permisjon.';

    it('is what the fake mistranslates without protection', async () => {
      const [out] = await azure({ glossary: undefined }).translate([message], 'so', 'nb');
      expect(out?.text).toContain('contact teacher');
      expect(out?.text).toContain('permission');
    });

    it('keeps kontaktlærer, foreldremøte and permisjon through nb -> so/ar/ur, glossed once', async () => {
      const out = await azure().translateMany(
        [message, 'Ingen skoleord her & <ingen> tagger'],
        ['so', 'ar', 'ur'],
        'nb',
      );
      expect(fake.requests).toHaveLength(1);
      const [req] = fake.requests;
      expect(req?.query).toMatchObject({ textType: 'html', from: 'nb', to: ['so', 'ar', 'ur'] });
      expect(req?.texts[0]).toContain('<span class="notranslate">Kontaktlæreren</span>');
      expect(req?.texts[0]).toContain('<span class="notranslate">foreldremøte</span>');
      expect(req?.texts[0]).toContain('<span class="notranslate">permisjon</span>');
      expect(req?.texts[1]).toBe('Ingen skoleord her &amp; &lt;ingen&gt; tagger');

      ['so', 'ar', 'ur'].forEach((lang, j) => {
        const text = out[0]?.[j]?.text ?? '';
        expect(out[0]?.[j]).toMatchObject({ translated: true, from: 'nb', to: lang });
        expect(text.startsWith(`[${lang}] `)).toBe(true);
        for (const wrong of ['contact teacher', 'parents meeting', 'permission'])
          expect(text).not.toContain(wrong);
        for (const term of ['kontaktlærer', 'foreldremøte', 'permisjon']) {
          const gloss = glossOf(lang, term);
          expect(gloss, `${lang} gloss of ${term}`).toBeTruthy();
          expect(text.split(`(${gloss})`), `${lang}: ${term} glossed once`).toHaveLength(2);
        }
        expect(text).toMatch(/Kontaktlæreren\u2069? \(/);
        expect(out[1]?.[j]?.text).toBe(`[${lang}] Ingen skoleord her & <ingen> tagger`);
      });
    });
  });
});

describe('CachedTranslator over a private Redis', { timeout: 30_000 }, () => {
  let server: TestRedis;
  let redis: Redis;

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
  }, 30_000);
  afterAll(async () => {
    await redis?.quit();
    await server?.stop();
  });

  const cached = (prefix: string, glossaryVersion = glossary.version) =>
    new CachedTranslator(azure(), { redis, prefix, glossaryVersion, metrics });

  it('bills the same text once: the second call sends nothing', async () => {
    const prefix = `${uniquePrefix('mt')}:`;
    const texts = ['Husk foreldremøte i dag', 'Hei', 'Hei'];
    const first = await cached(prefix).translate(texts, 'so', 'nb');
    expect(fake.requests.map((r) => r.texts.length)).toEqual([2]); // 'Hei' sent once
    const billedOnce = await billed();
    expect(billedOnce).toBe(fake.stats.billedCharacters);

    const second = await cached(prefix).translate(texts, 'so', 'nb');
    expect(second).toEqual(first);
    expect(fake.stats.requests).toBe(1);
    expect(await billed()).toBe(billedOnce);
    expect(await requests('cache_hit')).toBe(2);

    const keys = await redis.keys(`${prefix}*`);
    expect(keys).toHaveLength(2);
    for (const key of keys) {
      expect(key).not.toMatch(/Hei|foreldre/);
      expect(await redis.ttl(key)).toBeGreaterThan(29 * 24 * 3600);
    }
  });

  it('misses under another glossary version', async () => {
    const prefix = `${uniquePrefix('mt')}:`;
    await cached(prefix, 'v1').translate(['Hei'], 'ar', 'nb');
    await cached(prefix, 'v1').translate(['Hei'], 'ar', 'nb');
    expect(fake.stats.requests).toBe(1);
    await cached(prefix, 'v2').translate(['Hei'], 'ar', 'nb');
    expect(fake.stats.requests).toBe(2);
  });

  it('sends only the missing text and target pairs', async () => {
    const prefix = `${uniquePrefix('mt')}:`;
    await cached(prefix).translate(['Hei'], 'so', 'nb');
    fake.reset();
    const out = await cached(prefix).translateMany(['Hei', 'Ny tekst'], ['so', 'ar'], 'nb');
    expect(out.map((row) => row.map((t) => t.text))).toEqual([
      ['[so] Hei', '[ar] Hei'],
      ['[so] Ny tekst', '[ar] Ny tekst'],
    ]);
    expect(fake.stats.billedCharacters).toBe('Hei'.length + 'Ny tekst'.length * 2);
  });

  it('bills a pair once when concurrent calls ask for it (many drafts of one announcement)', async () => {
    const prefix = `${uniquePrefix('mt')}:`;
    const shared = cached(prefix);
    const text = 'Skolen er stengt fredag.';
    // Schools with different language mixes draft the same text at the same moment.
    const mixes = [['so', 'ar'], ['so', 'ur'], ['ar', 'ur', 'pl'], ['so'], ['pl', 'so']];
    const results = await Promise.all(mixes.map((targets) => shared.translateMany([text], targets, 'nb')));
    results.forEach((row, i) => {
      expect(row[0]?.map((t) => t.text)).toEqual(mixes[i]?.map((to) => `[${to}] ${text}`));
    });
    expect(fake.stats.billedCharacters).toBe(text.length * 4);
  });

  it('does not bill again a pair answered but not yet in the cache (a draft arriving in between)', async () => {
    const prefix = `${uniquePrefix('mt')}:`;
    let requestsSent = 0;
    let arrivingLate: Promise<unknown> | undefined;
    const inner = {
      detect: async () => [],
      translate: async () => [],
      async translateMany(texts: readonly string[], targets: readonly string[]) {
        requestsSent++;
        // The next draft comes in just as this answer does, before the answer is written to Redis.
        if (requestsSent === 1)
          queueMicrotask(() => {
            arrivingLate = cachedOver.translateMany(['Skolen er stengt fredag.'], ['so'], 'nb');
          });
        return texts.map((text) =>
          targets.map((to) => ({ text: `[${to}] ${text}`, translated: true, from: 'nb', to })),
        );
      },
    };
    const cachedOver = new CachedTranslator(inner, {
      redis,
      prefix,
      glossaryVersion: glossary.version,
      metrics,
    });
    await cachedOver.translateMany(['Skolen er stengt fredag.'], ['so'], 'nb');
    expect(await arrivingLate).toEqual([
      [{ text: '[so] Skolen er stengt fredag.', translated: true, from: 'nb', to: 'so' }],
    ]);
    expect(requestsSent).toBe(1);
  });

  it('still translates when Redis is down', async () => {
    const down = new Redis({
      port: 1,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
    });
    const translator = new CachedTranslator(azure(), {
      redis: down,
      prefix: 'down:',
      glossaryVersion: 'x',
      metrics,
    });
    const out = await translator.translate(['Hei'], 'so', 'nb');
    expect(out[0]?.text).toBe('[so] Hei');
    down.disconnect();
  });

  it('createTranslator: Azure behind the cache with a key, NoTranslator without', async () => {
    const withKey = createTranslator(
      {
        TRANSLATOR_KEY: fake.key,
        TRANSLATOR_REGION: 'norwayeast',
        TRANSLATOR_ENDPOINT: fake.url,
        LOCALES_DIR: LOCALES,
        REDIS_KEY_PREFIX: uniquePrefix('factory'),
      },
      { redis, metrics },
    );
    expect(withKey).toBeInstanceOf(CachedTranslator);
    expect((await withKey.translate(['Hei'], 'so', 'nb'))[0]?.text).toBe('[so] Hei');

    const none = createTranslator({ TRANSLATOR_ENDPOINT: fake.url }, { redis, metrics });
    expect(none).toBeInstanceOf(NoTranslator);
    expect(await none.translate(['Hei'], 'so')).toEqual([
      { text: 'Hei', translated: false, from: 'und', to: 'so' },
    ]);
  });
});
