import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, PermanentError, parseRetryAfter, TransientError } from '../../../src/errors.ts';
import { createMetrics, type Metrics } from '../../../src/metrics.ts';
import {
  AzureTranslator,
  type AzureTranslatorOptions,
  LIMITS,
  planBatches,
  serviceBase,
} from '../../../src/translation/azure.ts';
import { translatorEnvSchema } from '../../../src/translation/config.ts';
import { NoTranslator } from '../../../src/translation/none.ts';
import { type FakeTranslator, startFakeTranslator } from '../../helpers/fake-translator.ts';

const { translateElements, characters } = LIMITS;

describe('planBatches', () => {
  it('keeps every request within 1,000 elements and 50,000 characters across targets', () => {
    const lengths = Array.from({ length: 3_000 }, (_, i) => 1 + (i % 97) * 7);
    for (const targets of [1, 2, 5, 21]) {
      const batches = planBatches(lengths, targets, translateElements, characters);
      const seen: string[] = [];
      for (const b of batches) {
        expect(b.items.length).toBeLessThanOrEqual(translateElements);
        const chars = b.items.reduce((n, i) => n + (lengths[i] ?? 0), 0) * b.targets.length;
        expect(chars).toBeLessThanOrEqual(characters);
        for (const i of b.items) for (const t of b.targets) seen.push(`${i}:${t}`);
      }
      // Every item to every target exactly once.
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toHaveLength(lengths.length * targets);
    }
  });

  it('puts fewer targets in a request when one text is long', () => {
    expect(planBatches([30_000, 10], 3, translateElements, characters)).toEqual([
      { items: [0, 1], targets: [0] },
      { items: [0, 1], targets: [1] },
      { items: [0, 1], targets: [2] },
    ]);
  });

  it('refuses a single text over the limit without sending anything', () => {
    expect(() => planBatches([50_001], 1, translateElements, characters)).toThrow(PermanentError);
  });

  it('plans nothing for nothing', () => {
    expect(planBatches([], 2, translateElements, characters)).toEqual([]);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3_000);
    expect(parseRetryAfter('0')).toBe(0);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe('translator env', () => {
  it('defaults the timeout and treats empty variables as unset', () => {
    expect(translatorEnvSchema.parse({ TRANSLATOR_KEY: '', TRANSLATOR_ENDPOINT: ' ' })).toEqual({
      TRANSLATOR_TIMEOUT_MS: 15_000,
    });
  });

  it('parses a full configuration and rejects a bad one', () => {
    expect(
      translatorEnvSchema.parse({
        TRANSLATOR_ENDPOINT: 'https://skolebro.cognitiveservices.azure.com',
        TRANSLATOR_REGION: 'norwayeast',
        TRANSLATOR_KEY: 'abc',
        TRANSLATOR_TIMEOUT_MS: '5000',
      }),
    ).toMatchObject({ TRANSLATOR_REGION: 'norwayeast', TRANSLATOR_TIMEOUT_MS: 5_000 });
    expect(translatorEnvSchema.safeParse({ TRANSLATOR_ENDPOINT: 'not a url' }).success).toBe(false);
    expect(translatorEnvSchema.safeParse({ TRANSLATOR_TIMEOUT_MS: '-1' }).success).toBe(false);
  });
});

describe('NoTranslator', () => {
  it('returns every text untouched and says so', async () => {
    const none = new NoTranslator();
    expect(await none.translate(['Hei', ''], 'so', 'nb')).toEqual([
      { text: 'Hei', translated: false, from: 'nb', to: 'so' },
      { text: '', translated: false, from: 'nb', to: 'so' },
    ]);
    expect(await none.translateMany(['Hei'], ['so', 'ar'])).toEqual([
      [
        { text: 'Hei', translated: false, from: 'und', to: 'so' },
        { text: 'Hei', translated: false, from: 'und', to: 'ar' },
      ],
    ]);
    expect(await none.detect(['Hei'])).toEqual([
      { language: 'und', score: 0, isTranslationSupported: false },
    ]);
  });
});

describe('serviceBase (the custom-domain rule)', () => {
  it('adds the v3 path to a bare *.cognitiveservices.azure.com endpoint only', () => {
    expect(serviceBase('https://skolebro.cognitiveservices.azure.com')).toBe(
      'https://skolebro.cognitiveservices.azure.com/translator/text/v3.0',
    );
    expect(serviceBase('https://skolebro.cognitiveservices.azure.com/')).toBe(
      'https://skolebro.cognitiveservices.azure.com/translator/text/v3.0',
    );
    // Already a path: left alone (the SDK's own rule would add a second one).
    expect(serviceBase('https://skolebro.cognitiveservices.azure.com/translator/text/v3.0')).toBe(
      'https://skolebro.cognitiveservices.azure.com/translator/text/v3.0',
    );
    expect(serviceBase('https://api.cognitive.microsofttranslator.com/')).toBe(
      'https://api.cognitive.microsofttranslator.com',
    );
    expect(serviceBase('http://127.0.0.1:8080/cognitiveservices')).toBe(
      'http://127.0.0.1:8080/cognitiveservices',
    );
  });
});

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

describe('AzureTranslator on the SDK client', { timeout: 20_000 }, () => {
  let fake: FakeTranslator;
  let metrics: Metrics;
  beforeAll(async () => {
    fake = await startFakeTranslator({ key: 'k-unit' });
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
      endpoint: fake.url,
      baseDelayMs: 1,
      maxDelayMs: 5,
      metrics,
      ...opts,
    });
  const outcome = async (name: string) =>
    (await metrics.translatorRequests.get()).values.find((v) => v.labels.outcome === name)?.value ?? 0;

  it('sends the key without a region header when no region is set, one trace id, JSON in UTF-8', async () => {
    const out = await azure().translate(['Hei på deg'], 'so', 'nb');
    expect(out[0]?.text).toBe('[so] Hei på deg');
    const [req] = fake.requests;
    expect(req?.query).toMatchObject({ apiVersion: '3.0', to: ['so'], from: 'nb' });
    expect(req?.headers['ocp-apim-subscription-key']).toBe('k-unit');
    expect(req?.headers).not.toHaveProperty('ocp-apim-subscription-region');
    expect(req?.headers['x-clienttraceid']).toMatch(/^[0-9a-f-]{36}$/);
    expect(req?.headers).not.toHaveProperty('x-ms-client-request-id');
    expect(req?.headers['content-type']).toBe('application/json; charset=UTF-8');
    expect(JSON.parse(req?.raw ?? '')).toEqual([{ Text: 'Hei på deg' }]);
  });

  it('repeats `to` for several targets and detects via /detect with api-version 3.0', async () => {
    await azure().translateMany(['Hei'], ['so', 'ar', 'ur'], 'nb');
    expect(fake.requests[0]?.query.to).toEqual(['so', 'ar', 'ur']);
    fake.reset();
    const [d] = await azure().detect(['Hei, jeg er syk']);
    expect(d).toEqual({ language: 'nb', score: 0.9, isTranslationSupported: true });
    expect(fake.requests.map((r) => [r.path, r.query.apiVersion])).toEqual([['/detect', '3.0']]);
    expect(await metrics.translatorCharacters.get()).toMatchObject({ values: [{ value: 15 + 3 * 3 }] });
  });

  it('encodes query values itself: a language code cannot add parameters', async () => {
    const err = await failure(azure().translate(['Hei'], 'so', 'nb&to=ar'));
    expect(err).toBeInstanceOf(PermanentError);
    expect(fake.requests[0]?.query).toMatchObject({ from: 'nb&to=ar', to: ['so'] });
  });

  it('leaves retrying to us: the SDK pipeline never sends a request again', async () => {
    for (const status of [429, 503, 500, 408]) {
      fake.reset();
      if (status === 429) fake.throttle(5, { retryAfterSeconds: 0 });
      else fake.fail(5, status);
      const err = await failure(azure({ maxAttempts: 1 }).translate(['Hei'], 'so', 'nb'));
      expect(err).toBeInstanceOf(TransientError);
      expect(fake.stats.requests, `status ${status}`).toBe(1);
    }
    fake.reset();
    fake.fail(2, 503);
    await azure({ maxAttempts: 3 }).detect(['Hei']);
    expect(fake.requests.map((r) => r.status)).toEqual([503, 503, 200]);
  });

  it('keeps no request (so no message text) in the cause of a transport failure', async () => {
    const closed = await startFakeTranslator();
    const url = closed.url;
    await closed.close();
    const secret = 'Ali har vondt i magen';
    const err = await failure(
      azure({ endpoint: url, maxAttempts: 2, timeoutMs: 2_000 }).translate([secret], 'so', 'nb'),
    );
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ code: ErrorCode.Unavailable, context: { attempt: 2, timeoutMs: 2_000 } });
    expect((err as Error).message).toBe('translator: translate unreachable');
    const cause = (err as Error).cause as Record<string, unknown>;
    expect(cause).toBeInstanceOf(Error);
    expect(cause.request).toBeUndefined();
    expect(inspect(err, { depth: 10 })).not.toContain('Ali');
    expect(await outcome('error')).toBe(2);
  });
});

describe('AzureTranslator and a broken reply', { timeout: 20_000 }, () => {
  const secret = 'Fatima er syk i dag';
  let server: Server;
  let url: string;
  let replies: { status: number; type: string; body: string }[] = [];
  let served = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const r = replies[Math.min(served, replies.length - 1)] ?? {
          status: 500,
          type: 'text/plain',
          body: '',
        };
        served += 1;
        res.writeHead(r.status, { 'Content-Type': r.type, 'X-metered-usage': '19' });
        res.end(r.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    served = 0;
  });

  it('turns a 200 whose JSON does not parse into a TransientError without the body in it', async () => {
    replies = [{ status: 200, type: 'application/json', body: `[{"translations":[{"text":"${secret}` }];
    const metrics = createMetrics();
    const translator = new AzureTranslator({ key: 'k', endpoint: url, metrics });
    const err = await failure(translator.translate([secret], 'so', 'nb'));
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toBe('translator: translate response malformed');
    expect(inspect(err, { depth: 10 })).not.toContain('Fatima');
    expect(served).toBe(1);
    // Answered and billed all the same.
    expect((await metrics.translatorCharacters.get()).values[0]?.value).toBe(19);
  });

  it('reads the status of an error page that is not JSON, and retries a 502', async () => {
    replies = [
      { status: 502, type: 'application/json', body: '<html>Bad Gateway</html>' },
      { status: 502, type: 'text/html', body: '<html>Bad Gateway</html>' },
    ];
    const err = await failure(
      new AzureTranslator({ key: 'k', endpoint: url, maxAttempts: 2, baseDelayMs: 1 }).detect([secret]),
    );
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ context: { status: 502, attempt: 2, azureCode: undefined } });
    expect(served).toBe(2);
  });
});
