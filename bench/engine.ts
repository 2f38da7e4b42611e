/**
 * Engine throughput: pure `step` calls per second on one core, over a mix of
 * pre-analysed turns (NLU excluded; bench/nlu.ts measures it), plus the same with
 * NLU included. Prints JSON. Usage: npx tsx bench/engine.ts [--seconds 3]
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MemoryDirectory } from '../src/directory/directory.ts';
import { loadDirectoryFolder } from '../src/directory/load.ts';
import { initialState } from '../src/engine/state.ts';
import { step } from '../src/engine/step.ts';
import type { StepContext, Turn } from '../src/engine/types.ts';
import { keywordLists, loadLocales } from '../src/i18n/locales.ts';
import { createNlu } from '../src/nlu/index.ts';
import { keywordIndex } from '../src/nlu/keywords.ts';

const root = join(import.meta.dirname, '..');
const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 3;
const locales = loadLocales(join(root, 'locales'));
const directory = new MemoryDirectory(loadDirectoryFolder(join(root, 'examples/demo-school')));
const nlu = createNlu(locales);
const person = await directory.identify('web', 'fatima');
const ctx: StepContext = {
  person,
  directory: await directory.view(person),
  keywords: keywordIndex(keywordLists(locales)),
  languages: locales.languages.map(({ code, name }) => ({ code, name })),
  clarifyBelow: 0.45,
};
const texts = [
  'Ali er syk i dag',
  'When is the next foreldremøte?',
  'Yaa ah macalinka fasalka?',
  'Kiedy są ferie zimowe?',
  'میرا بیٹا آج بیمار ہے',
  'hei',
  'avbryt',
  'ja',
];
const turns: Turn[] = texts.map((text, i) => ({
  id: `m${i}`,
  at: '2026-11-23T08:00:00+01:00',
  text,
  analysis: nlu.analyze(text, 'nb'),
}));

function run(withNlu: boolean) {
  let state = initialState('nb');
  let n = 0;
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    for (const t of turns) {
      const t0 = performance.now();
      const turn = withNlu ? { ...t, analysis: nlu.analyze(t.text, state.lang) } : t;
      state = step(state, turn, ctx).state;
      latencies.push(performance.now() - t0);
      n++;
    }
  }
  latencies.sort((a, b) => a - b);
  const q = (p: number) => Math.round((latencies[Math.floor(latencies.length * p)] ?? 0) * 1000) / 1000;
  return { turns: n, turnsPerSecond: Math.round(n / seconds), p50Ms: q(0.5), p99Ms: q(0.99) };
}

run(false); // warm-up
console.log(
  JSON.stringify(
    { seconds, engineOnly: run(false), engineWithNlu: run(true), target: { turnsPerSecondPerCore: 5000 } },
    null,
    2,
  ),
);
