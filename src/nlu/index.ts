import type { Analysis, Intent } from '../engine/types.ts';
import { intentExamples, type LocaleBundle } from '../i18n/locales.ts';
import { TextClassifier, type TrainOptions } from './classifier.ts';
import { features } from './features.ts';
import { detectLanguage } from './language.ts';

export interface Nlu {
  /** Language and intent of one message; pure, about a tenth of a millisecond. */
  analyze(text: string, priorLang?: string | null): Analysis;
  languages: ReadonlySet<string>;
}

/** Share of a message's features the model must know before its guess is trusted. */
const MIN_COVERAGE = 0.35;

/** Trains the intent and language models from the example phrases in locales/ (about a second). */
export function createNlu(bundle: LocaleBundle, opts: TrainOptions = {}): Nlu {
  const examples = intentExamples(bundle);
  // Detect every language we have phrases or texts for; replies use only those with texts (ui.json).
  return nluFrom(examples, new Set([...bundle.ui.keys(), ...bundle.intents.keys()]), opts);
}

export function nluFrom(
  examples: Array<{ text: string; label: Intent; lang: string }>,
  languages: ReadonlySet<string>,
  opts: TrainOptions = {},
): Nlu {
  const intents = TextClassifier.train(examples, opts);
  // Same texts, so the same vocabulary: shared, a message is vectorised once for both models.
  const langs = TextClassifier.train(
    examples.map((e) => ({ text: e.text, label: e.lang })),
    { epochs: 6, ...opts },
    intents.vocabulary,
  );
  return {
    languages,
    analyze(text, priorLang) {
      // Both models read the same vector: made once, not once per model.
      const x = intents.vocabulary.vector(features(text));
      const guess = detectLanguage(text, {
        prior: priorLang ?? null,
        supported: languages,
        model: langs,
        vector: x,
      });
      if (!/[\p{L}\p{N}]/u.test(text)) {
        return {
          lang: guess.lang,
          langConfidence: guess.confidence,
          intent: 'unknown',
          confidence: 1,
          ranked: [{ intent: 'unknown', p: 1 }],
        };
      }
      const p = intents.predictVector(x);
      // Text the model has mostly never seen (gibberish, another topic) lowers every confidence.
      const damp = Math.min(1, p.coverage / MIN_COVERAGE);
      const ranked = p.ranked.slice(0, 4).map((r) => ({ intent: r.label, p: r.p * damp }));
      const top = ranked[0] ?? { intent: 'unknown' as Intent, p: 0 };
      return {
        lang: guess.lang,
        langConfidence: guess.confidence,
        intent: top.intent,
        confidence: top.p,
        ranked,
      };
    },
  };
}
