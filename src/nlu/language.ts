import { francAll } from 'franc';
import type { SparseVector, TextClassifier } from './classifier.ts';
import { dominantScript, type Script } from './normalize.ts';

/** franc's ISO 639-3 codes for our languages (Azure Translator codes on the right). */
const FRANC_TO_OURS: Record<string, string> = {
  nob: 'nb',
  nno: 'nb', // no Nynorsk in Translator: answer in Bokmål
  dan: 'nb', // short Norwegian is often guessed as Danish
  eng: 'en',
  som: 'so',
  arb: 'ar',
  urd: 'ur',
  pol: 'pl',
  tir: 'ti',
  tur: 'tr',
  vie: 'vi',
  ukr: 'uk',
  rus: 'ru',
  pes: 'fa',
  prs: 'prs',
  pbu: 'ps',
  ckb: 'ku',
  als: 'sq',
  lit: 'lt',
  tgl: 'fil',
};

/** Which franc candidates each script allows; restricting the set is most of the accuracy. */
const CANDIDATES: Partial<Record<Script, string[]>> = {
  latin: ['nob', 'nno', 'dan', 'eng', 'som', 'pol', 'tur', 'vie', 'lit', 'als', 'tgl'],
  arabic: ['arb', 'urd', 'pes', 'prs', 'pbu', 'ckb'],
  cyrillic: ['ukr', 'rus'],
};
const SINGLE_SCRIPT: Partial<Record<Script, string>> = { ethiopic: 'ti', tamil: 'ta', thai: 'th' };

/** Below this many letters a guess is noise; the conversation's language stands. */
const MIN_LETTERS = 8;

export interface LanguageGuess {
  lang: string;
  confidence: number;
}

/**
 * Language identification: script first (Ge'ez, Tamil, Thai decide alone), then
 * franc restricted to the languages of that script, blended with a character
 * model trained on our own example phrases. The blend covers what franc has no
 * model for: Latin-script Arabic and Urdu ("mera beta bimar hai"), Kurmanji.
 * Short texts keep the prior.
 */
export function detectLanguage(
  text: string,
  opts: {
    prior?: string | null;
    supported: ReadonlySet<string>;
    model?: TextClassifier<string>;
    /** The text's vector in `model.vocabulary`, when the caller has it already (the intent model shares it). */
    vector?: SparseVector;
  },
): LanguageGuess {
  const { script, letters } = dominantScript(text);
  const prior = opts.prior ?? undefined;
  if (letters === 0) return { lang: prior ?? 'nb', confidence: 0 };
  const single = SINGLE_SCRIPT[script];
  if (single) return { lang: single, confidence: 0.99 };
  if (letters < MIN_LETTERS && prior) return { lang: prior, confidence: 0.3 };

  const scores = new Map<string, number>();
  const only = CANDIDATES[script];
  if (only) {
    const ranked = francAll(text, { only, minLength: 1 });
    // franc scores are relative to the best (1.0); turn them into a distribution.
    const total = ranked.reduce((s, [, v]) => s + v ** 8, 0) || 1;
    for (const [code, v] of ranked) {
      const ours = FRANC_TO_OURS[code];
      if (ours) scores.set(ours, (scores.get(ours) ?? 0) + v ** 8 / total);
    }
  }
  if (opts.model) {
    const francWeight = scores.size ? 0.5 : 0;
    for (const [k, v] of scores) scores.set(k, v * francWeight);
    const prediction = opts.vector ? opts.model.predictVector(opts.vector) : opts.model.predict(text);
    for (const { label, p } of prediction.ranked) {
      if (!scriptAllows(script, label)) continue;
      scores.set(label, (scores.get(label) ?? 0) + p * (1 - francWeight));
    }
  }
  if (prior && scores.has(prior) && letters < 20) scores.set(prior, (scores.get(prior) ?? 0) + 0.15);
  let best: LanguageGuess = { lang: prior ?? 'nb', confidence: 0 };
  let sum = 0;
  for (const [lang, s] of scores) {
    if (!opts.supported.has(lang)) continue;
    sum += s;
    if (s > best.confidence) best = { lang, confidence: s };
  }
  return sum ? { lang: best.lang, confidence: best.confidence / sum } : best;
}

const ARABIC_SCRIPT = new Set(['ar', 'ur', 'fa', 'prs', 'ps', 'ku']);
const CYRILLIC = new Set(['uk', 'ru']);

function scriptAllows(script: Script, lang: string): boolean {
  if (script === 'arabic') return ARABIC_SCRIPT.has(lang);
  if (script === 'cyrillic') return CYRILLIC.has(lang);
  // Latin script: any language may be romanised (Arabizi, Roman Urdu), except the ones with their own script only.
  if (script === 'latin') return !CYRILLIC.has(lang) && !['ti', 'ta', 'th', 'ku'].includes(lang);
  return true;
}
