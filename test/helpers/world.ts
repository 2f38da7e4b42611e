import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { MemoryDirectory } from '../../src/directory/directory.ts';
import { loadDirectoryFolder } from '../../src/directory/load.ts';
import { initialState } from '../../src/engine/state.ts';
import { step } from '../../src/engine/step.ts';
import type { Action, ConversationState, Person, StepContext } from '../../src/engine/types.ts';
import { keywordLists, loadLocales } from '../../src/i18n/locales.ts';
import { createRenderer } from '../../src/i18n/render.ts';
import { createNlu } from '../../src/nlu/index.ts';
import { keywordIndex } from '../../src/nlu/keywords.ts';

export const ROOT = join(import.meta.dirname, '..', '..');
export const locales = loadLocales(join(ROOT, 'locales'));
export const data = loadDirectoryFolder(join(ROOT, 'examples/demo-school'));
export const directory = new MemoryDirectory(data);
export const renderer = createRenderer(locales);
export const keywords = keywordIndex(keywordLists(locales));
export const languages = locales.languages.map(({ code, name }) => ({ code, name }));

let trained: ReturnType<typeof createNlu> | undefined;
/** The NLU trained on locales/ (a few seconds, once per test file). */
export const nlu = () => {
  trained ??= createNlu(locales);
  return trained;
};

export interface Said {
  text: string;
  lang: string;
  choices: Array<{ value: string; label: string }>;
  actions: Action[];
  state: ConversationState;
}

/**
 * A conversation driven through the real NLU, engine and renderer, in memory:
 * what a parent would see, without HTTP. `at` is the turn's clock.
 */
export async function conversation(login: string | null, opts: { at?: string } = {}) {
  const person: Person = login
    ? await directory.identify('web', login)
    : { kind: 'anonymous', id: 'web:anon' };
  const view = await directory.view(person);
  let state = initialState(person.preferredLang ?? null);
  const at = opts.at ?? '2026-11-23T08:00:00+01:00';
  const ctx: StepContext = { person, directory: view, keywords, languages, clarifyBelow: 0.45 };
  return {
    person,
    get state() {
      return state;
    },
    send(text: string, choice?: string): Said {
      const analysis = nlu().analyze(text, state.lang ?? person.preferredLang);
      const result = step(
        state,
        { id: randomUUID(), at, text, analysis, ...(choice ? { choice } : {}) },
        ctx,
      );
      state = result.state;
      const reply = result.actions.find((a) => a.type === 'reply');
      if (reply?.type !== 'reply') throw new Error('no reply');
      return {
        text: renderer.reply(reply.lang, reply.say),
        lang: reply.lang,
        choices: (reply.choices ?? []).map((c) => ({
          value: c.value,
          label: renderer.label(reply.lang, c.label),
        })),
        actions: result.actions.filter((a) => a.type !== 'reply'),
        state,
      };
    },
  };
}
