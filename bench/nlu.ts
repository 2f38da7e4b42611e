/**
 * NLU evaluation: 5-fold cross-validation over the training phrases in locales/,
 * accuracy on the in-repo dev set (test/fixtures/nlu-dev, never trained on), per
 * language and per intent, language-ID accuracy, and classify latency.
 * Prints JSON. Usage: npx tsx bench/nlu.ts [--folds 5]
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { intentExamples, loadLocales } from '../src/i18n/locales.ts';
import { nluFrom } from '../src/nlu/index.ts';
import { loadNluDevSet } from '../test/fixtures/nlu-dev.ts';

const root = join(import.meta.dirname, '..');
const folds = Number(process.argv[process.argv.indexOf('--folds') + 1]) || 5;
const bundle = loadLocales(join(root, 'locales'));
const examples = intentExamples(bundle);
const languages = new Set([...bundle.intents.keys()]);

type Tally = Record<string, { n: number; ok: number }>;
const bump = (t: Tally, key: string, ok: boolean) => {
  t[key] ??= { n: 0, ok: 0 };
  t[key].n++;
  if (ok) t[key].ok++;
};
const summary = (t: Tally) =>
  Object.fromEntries(
    Object.entries(t)
      .sort()
      .map(([k, v]) => [k, { n: v.n, accuracy: round(v.ok / v.n) }]),
  );
const round = (n: number) => Math.round(n * 1000) / 1000;
const total = (t: Tally) => {
  const n = Object.values(t).reduce((s, v) => s + v.n, 0);
  return round(Object.values(t).reduce((s, v) => s + v.ok, 0) / n);
};

// Cross-validation: fold i holds out every example whose index % folds == i.
const cvByLang: Tally = {};
const cvByIntent: Tally = {};
for (let f = 0; f < folds; f++) {
  const train = examples.filter((_, i) => i % folds !== f);
  const test = examples.filter((_, i) => i % folds === f);
  const nlu = nluFrom(train, languages);
  for (const e of test) {
    const a = nlu.analyze(e.text, null);
    bump(cvByLang, e.lang, a.intent === e.label);
    bump(cvByIntent, e.label, a.intent === e.label);
  }
}

// Dev set: trained on everything, scored on phrasings written separately.
const trainStart = performance.now();
const nlu = nluFrom(examples, languages);
const trainMs = performance.now() - trainStart;
const dev = loadNluDevSet();
const devIntent: Tally = {};
const devIntentByIntent: Tally = {};
const devLang: Tally = {};
const langConfusion: Record<string, Record<string, number>> = {};
const latencies: number[] = [];
for (const e of dev) {
  const t0 = performance.now();
  const a = nlu.analyze(e.text, null);
  latencies.push(performance.now() - t0);
  bump(devIntent, e.lang, a.intent === e.intent);
  bump(devIntentByIntent, e.intent, a.intent === e.intent);
  bump(devLang, e.lang, a.lang === e.lang);
  if (a.lang !== e.lang) {
    langConfusion[e.lang] ??= {};
    const row = langConfusion[e.lang] as Record<string, number>;
    row[a.lang] = (row[a.lang] ?? 0) + 1;
  }
}
// Steady-state latency: classify the dev set again, warm.
const warm: number[] = [];
for (let r = 0; r < 5; r++) {
  for (const e of dev) {
    const t0 = performance.now();
    nlu.analyze(e.text, null);
    warm.push(performance.now() - t0);
  }
}
warm.sort((a, b) => a - b);
const pct = (p: number) => round(warm[Math.min(warm.length - 1, Math.floor(warm.length * p))] ?? 0);

console.log(
  JSON.stringify(
    {
      trainingExamples: examples.length,
      devExamples: dev.length,
      crossValidation: {
        folds,
        accuracy: total(cvByLang),
        byLanguage: summary(cvByLang),
        byIntent: summary(cvByIntent),
      },
      devSet: {
        intentAccuracy: total(devIntent),
        intentByLanguage: summary(devIntent),
        intentByIntent: summary(devIntentByIntent),
        languageIdAccuracy: total(devLang),
        languageIdByLanguage: summary(devLang),
        languageIdConfusions: langConfusion,
      },
      latencyMs: { classifyP50: pct(0.5), classifyP99: pct(0.99), trainMs: Math.round(trainMs) },
    },
    null,
    2,
  ),
);
