import { DateTime } from 'luxon';
import { dialogFor, dialogNamed } from '../../dialogs/index.ts';
import { menu, topicChoices } from '../../dialogs/shared.ts';
import type { DialogInput, DialogOutput } from '../../dialogs/types.ts';
import type { Action, ConversationState, Intent, StepContext, StepResult, Turn } from './types.ts';
import { INTENTS } from './types.ts';

export const ZONE = 'Europe/Oslo';
/** Messages shorter than this (in letters) keep the conversation's language: "ok" or "hi" says nothing about it. */
const SHORT_MESSAGE_LETTERS = 12;
/** A picked language yields to detection only for a long, confidently detected message. */
const PICKED_OVERRIDE_LETTERS = 30;
/** Below this, a top intent of safety.concern is still escalated: a missed bullying report costs more than a needless one. */
const SAFETY_FLOOR = 0.2;
/** How far ahead of the runner-up a middling top intent must be to be answered without asking. */
const LEAD_FACTOR = 2.5;
/** Intents below this are not worth offering in a clarifying question. */
const GUESS_FLOOR = 0.1;

/**
 * The dialog engine: one pure step of one conversation. Returns the new state and
 * the actions for the shell to carry out; does no I/O and reads no clock (time is `turn.at`).
 */
export function step(state: ConversationState, turn: Turn, ctx: StepContext): StepResult {
  const lang = chooseLanguage(state, turn, ctx);
  const actions: Action[] = [];
  let next: ConversationState = { ...state, lang, turns: state.turns + 1 };
  if (lang !== state.lang) actions.push({ type: 'setLanguage', lang });

  let now: DateTime | undefined;
  const input: DialogInput = {
    turn,
    state: next,
    lang,
    person: ctx.person,
    directory: ctx.directory,
    keywords: (text, kind) => ctx.keywords(text, kind, lang),
    languages: ctx.languages,
    // Made when a dialog first reads it: time-zone arithmetic was a twentieth of a turn's
    // CPU, and most turns (greetings, contacts, expectations) read no date.
    get now() {
      now ??= DateTime.fromISO(turn.at, { zone: ZONE });
      return now;
    },
  };

  const out = route(input, state, ctx);
  if ('pickedLanguage' in out) {
    next = { ...next, lang: out.pickedLanguage, langPicked: true, active: null };
    actions.length = 0;
    if (out.pickedLanguage !== state.lang) actions.push({ type: 'setLanguage', lang: out.pickedLanguage });
    actions.push({
      type: 'reply',
      lang: out.pickedLanguage,
      say: [{ key: 'language.changed' }],
      choices: menu(),
    });
    return { state: next, actions };
  }
  next = { ...next, active: out.next };
  actions.push({ type: 'reply', lang, say: out.say, ...(out.choices ? { choices: out.choices } : {}) });
  actions.push(...(out.actions ?? []));
  return { state: next, actions };
}

type Routed = DialogOutput | { pickedLanguage: string };

function route(input: DialogInput, previous: ConversationState, ctx: StepContext): Routed {
  const { turn } = input;
  const choice = turn.choice ?? '';

  if (choice.startsWith('lang:')) {
    const code = choice.slice(5);
    if (ctx.languages.some((l) => l.code === code)) return { pickedLanguage: code };
  }
  if (choice.startsWith('dialog:')) {
    const dialog = dialogNamed(choice.slice(7));
    if (dialog) return dialog.start(input);
  }
  if (choice.startsWith('intent:')) {
    const intent = choice.slice(7) as Intent;
    // A pressed topic button is as good as a certain classification.
    const chosen = { ...turn.analysis, intent, confidence: 1 };
    if ((INTENTS as readonly string[]).includes(intent))
      return dialogFor(intent).start({ ...input, turn: { ...turn, analysis: chosen } });
  }

  const active = previous.active;
  const { intent, confidence, ranked } = turn.analysis;
  if (active && !choice && input.keywords(turn.text, 'cancel')) {
    return { say: [{ key: 'common.cancelled' }], choices: menu(), next: null };
  }
  // Safety outranks whatever flow is open.
  if (intent === 'safety.concern' && confidence >= SAFETY_FLOOR) return dialogFor(intent).start(input);

  if (active) {
    const resumed = dialogNamed(active.name)?.resume?.(input, active);
    if (resumed) return resumed;
    const isNewQuestion = intent !== 'unknown' && isConfident(turn.analysis, ctx.clarifyBelow);
    const again = isNewQuestion ? undefined : dialogNamed(active.name)?.ask?.(input, active);
    if (again) return { ...again, say: [{ key: 'common.notUnderstood' }, ...again.say] };
  }

  if (intent !== 'unknown' && isConfident(turn.analysis, ctx.clarifyBelow))
    return dialogFor(intent).start(input);
  const options = ranked.filter((r) => r.intent !== 'unknown' && r.p >= GUESS_FLOOR).slice(0, 2);
  if (options.length === 0) return dialogFor('unknown').start(input);
  return {
    say: [{ key: 'common.clarify' }],
    choices: topicChoices(...new Set([...options.map((o) => o.intent), 'human.handoff'])),
    next: null,
  };
}

/**
 * Sure enough to answer: a high top probability, or a fair one well ahead of the
 * runner-up (with sixteen intents, probability mass spreads even when the ranking is right).
 */
function isConfident(a: Turn['analysis'], clarifyBelow: number): boolean {
  const [first, second] = a.ranked;
  if (a.confidence >= clarifyBelow) return true;
  return (
    a.confidence >= clarifyBelow / 2 &&
    a.confidence >= LEAD_FACTOR * (second?.p ?? 0) &&
    first?.intent === a.intent
  );
}

function chooseLanguage(state: ConversationState, turn: Turn, ctx: StepContext): string {
  const fallback = state.lang ?? ctx.person.preferredLang ?? 'nb';
  const { lang: detected, langConfidence } = turn.analysis;
  if (turn.choice || !detected || detected === fallback) return fallback;
  const letters = (turn.text.match(/\p{L}/gu) ?? []).length;
  if (!ctx.languages.some((l) => l.code === detected) || langConfidence < 0.5) return fallback;
  if (letters < SHORT_MESSAGE_LETTERS) return fallback;
  if (state.langPicked && letters < PICKED_OVERRIDE_LETTERS) return fallback;
  return detected;
}
