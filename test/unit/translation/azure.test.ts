import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../../src/errors.ts';
import { LIMITS, parseRetryAfter, planBatches } from '../../../src/translation/azure.ts';
import { translatorEnvSchema } from '../../../src/translation/config.ts';
import { NoTranslator } from '../../../src/translation/none.ts';

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
