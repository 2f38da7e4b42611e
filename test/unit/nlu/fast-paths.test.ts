import { describe, expect, it } from 'vitest';
import { intentExamples } from '../../../src/i18n/locales.ts';
import { TextClassifier } from '../../../src/nlu/classifier.ts';
import { features } from '../../../src/nlu/features.ts';
import { dominantScript, normalize } from '../../../src/nlu/normalize.ts';
import { loadNluDevSet } from '../../fixtures/nlu-dev.ts';
import { locales } from '../../helpers/world.ts';

// The implementations before their fast paths, kept as the reference the fast ones must match exactly.
function referenceNormalize(text: string): string {
  return text
    .toLowerCase()
    .replace(/æ/g, 'ae')
    .replace(/[øœ]/g, 'o')
    .replace(/ß/g, 'ss')
    .replace(/ł/g, 'l')
    .replace(/ı/g, 'i')
    .replace(/đ/g, 'd')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[\u064b-\u065f\u0670\u0640\u200c\u200d]/g, '')
    .replace(/[أإآٱ]/g, 'ا')
    .replace(/[ىیۍېئ]/g, 'ي')
    .replace(/[ةۀہھۂ]/g, 'ه')
    .replace(/ك/g, 'ک')
    .replace(/ؤ/g, 'و')
    .replace(/[\u0660-\u0669]/g, (d) => String(d.charCodeAt(0) - 0x660))
    .replace(/[\u06f0-\u06f9]/g, (d) => String(d.charCodeAt(0) - 0x6f0))
    .replace(/[^\p{L}\p{M}\p{N}]+/gu, ' ')
    .trim();
}

const REFERENCE_SCRIPTS = [
  ['latin', /\p{Script=Latin}/gu],
  ['arabic', /\p{Script=Arabic}/gu],
  ['cyrillic', /\p{Script=Cyrillic}/gu],
  ['ethiopic', /\p{Script=Ethiopic}/gu],
  ['tamil', /\p{Script=Tamil}/gu],
  ['thai', /\p{Script=Thai}/gu],
] as const;

function referenceDominantScript(text: string): { script: string; letters: number } {
  let best = 'none';
  let bestCount = 0;
  let letters = 0;
  for (const [script, re] of REFERENCE_SCRIPTS) {
    const n = text.match(re)?.length ?? 0;
    letters += n;
    if (n > bestCount) {
      best = script;
      bestCount = n;
    }
  }
  const other = (text.match(/\p{L}/gu)?.length ?? 0) - letters;
  if (other > bestCount) return { script: 'other', letters: letters + other };
  return { script: best, letters: letters + Math.max(other, 0) };
}

const devTexts = loadNluDevSet().map((p) => p.text);
const odd = [
  '',
  '   ',
  '😀😀😀',
  'K', // KELVIN SIGN: lower-cases to ASCII "k"
  'İSTANBUL IŞIK',
  'ÆØÅ Œuvre Straße Łódź Đorđe',
  'e\u0301cole',
  'ﷺ ﻻ ﭘ \u200c\u200d',
  'mi\u200cshavad a\u200db', // zero-width (non-)joiners without Arabic letters: removed, not spaces
  'أؤإئآٱ ىیۍېئ ةۀہھۂ ك ٠١٢٣٤٥٦٧٨٩ ۰۱۲۳۴۵۶۷۸۹ \u064b\u0670\u0640',
  'ab\ud800cd \udc00 \udbff\udfff x\ud83d',
  'Ⅻ ª º ʰ 𝐀𝐁𝐂 中文 한국어 ελληνικά עברית हिन्दी',
  '\t\n12\u00a0345\u3000x',
];
// Every code point, in runs of 64, alone and between letters of other scripts.
const everyCodePoint: string[] = [];
for (let start = 0; start < 0x110000; start += 64) {
  let run = '';
  for (let c = start; c < start + 64; c++) run += String.fromCodePoint(c);
  everyCodePoint.push(run, `a${run}ب`);
}
const inputs = [...intentExamples(locales).map((e) => e.text), ...devTexts, ...odd, ...everyCodePoint];

describe('NLU fast paths match the reference implementations', () => {
  it('normalize', () => {
    const diff = inputs.filter((t) => normalize(t) !== referenceNormalize(t));
    expect(diff).toEqual([]);
  });

  it('dominantScript', () => {
    const diff = inputs.filter(
      (t) => JSON.stringify(dominantScript(t)) !== JSON.stringify(referenceDominantScript(t)),
    );
    expect(diff).toEqual([]);
  });
});

describe('shared vocabulary', () => {
  it('a model trained on the same texts with another model’s vocabulary is the same model', () => {
    const examples = intentExamples(locales).filter((_, i) => i % 5 === 0);
    const byLang = examples.map((e) => ({ text: e.text, label: e.lang }));
    const intents = TextClassifier.train(examples, { epochs: 2 });
    const own = TextClassifier.train(byLang, { epochs: 2 });
    const shared = TextClassifier.train(byLang, { epochs: 2 }, intents.vocabulary);
    for (const text of [...devTexts, ...odd]) {
      const x = intents.vocabulary.vector(features(text));
      expect(shared.predictVector(x)).toEqual(own.predict(text));
    }
  });
});
