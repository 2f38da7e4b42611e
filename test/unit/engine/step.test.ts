import { describe, expect, it } from 'vitest';
import { initialState, persist, restore } from '../../../src/engine/state.ts';
import { step } from '../../../src/engine/step.ts';
import type { Analysis, ConversationState, Intent, StepContext, Turn } from '../../../src/engine/types.ts';
import { directory, keywords, languages } from '../../helpers/world.ts';

const AT = '2026-11-23T08:00:00+01:00';
const analysis = (intent: Intent, confidence = 0.9, lang = 'en', second: Intent = 'unknown'): Analysis => ({
  lang,
  langConfidence: 0.9,
  intent,
  confidence,
  ranked: [
    { intent, p: confidence },
    { intent: second, p: (1 - confidence) * 0.8 },
  ],
});
const turn = (text: string, a: Analysis, choice?: string): Turn => ({
  id: 'm1',
  at: AT,
  text,
  analysis: a,
  ...(choice ? { choice } : {}),
});

async function context(login: string): Promise<StepContext> {
  const person = await directory.identify('web', login);
  return { person, directory: await directory.view(person), keywords, languages, clarifyBelow: 0.45 };
}

describe('step (pure engine)', () => {
  it('is deterministic and does not mutate its inputs', async () => {
    const ctx = await context('kari');
    const state = initialState('en');
    const frozen = JSON.stringify(state);
    const t = turn('Ola is sick today', analysis('absence.report'));
    const a = step(state, t, ctx);
    const b = step(state, t, ctx);
    expect(a).toEqual(b);
    expect(JSON.stringify(state)).toBe(frozen);
  });

  it('returns actions as data: a reply in the conversation language and a state waiting for confirmation', async () => {
    const ctx = await context('kari');
    const { state, actions } = step(
      initialState('en'),
      turn('Ola is sick today', analysis('absence.report')),
      ctx,
    );
    expect(actions).toEqual([
      {
        type: 'reply',
        lang: 'en',
        say: [{ key: 'absence.confirm.absent', params: { name: 'Ola', days: '2026-11-23', time: '' } }],
        choices: [
          { value: 'yes', label: { key: 'common.yes' } },
          { value: 'no', label: { key: 'common.no' } },
        ],
      },
    ]);
    expect(state.active).toEqual({
      name: 'absence',
      step: 'confirm',
      data: { childId: 'p-ola', days: ['2026-11-23'], mode: 'absent' },
    });
  });

  it('asks a clarifying question with the top two intents when unsure', async () => {
    const ctx = await context('kari');
    const { actions } = step(
      initialState('en'),
      turn('about the meeting thing', analysis('meetings.next', 0.3, 'en', 'contact.teacher')),
      ctx,
    );
    expect(actions[0]).toMatchObject({
      type: 'reply',
      say: [{ key: 'common.clarify' }],
      choices: [
        { value: 'intent:meetings.next' },
        { value: 'intent:contact.teacher' },
        { value: 'intent:human.handoff' },
      ],
    });
  });

  it('escalates a safety concern even at low confidence and in the middle of a flow', async () => {
    const ctx = await context('kari');
    const waiting = step(initialState('en'), turn('Ola is sick', analysis('absence.report')), ctx).state;
    const { actions, state } = step(waiting, turn('they hit him', analysis('safety.concern', 0.3)), ctx);
    expect(actions.map((a) => a.type)).toEqual(['reply', 'escalate']);
    expect(state.active).toBeNull();
  });

  it('switches language on a long, confidently detected message but not on "ok"', async () => {
    const ctx = await context('kari');
    const start: ConversationState = initialState('nb');
    const ok = step(start, turn('ok', { ...analysis('greeting'), lang: 'so' }), ctx);
    expect(ok.state.lang).toBe('nb');
    const long = step(
      start,
      turn('Fadlan ii sheeg goorta kulanka waalidiinta', { ...analysis('meetings.next'), lang: 'so' }),
      ctx,
    );
    expect(long.state.lang).toBe('so');
    expect(long.actions[0]).toEqual({ type: 'setLanguage', lang: 'so' });
  });

  it('a picked language sticks against short messages in another language', async () => {
    const ctx = await context('kari');
    const picked = step(initialState('nb'), turn('', analysis('unknown', 0), 'lang:pl'), ctx).state;
    expect(picked).toMatchObject({ lang: 'pl', langPicked: true });
    const next = step(
      picked,
      turn('hello teacher name?', { ...analysis('contact.teacher'), lang: 'en' }),
      ctx,
    );
    expect(next.state.lang).toBe('pl');
  });

  it('ignores an unknown language choice', async () => {
    const ctx = await context('kari');
    const { state } = step(initialState('nb'), turn('', analysis('unknown', 0), 'lang:xx'), ctx);
    expect(state.lang).toBe('nb');
  });
});

describe('conversation state', () => {
  it('restore(persist(s)) deep-equals s', () => {
    const s: ConversationState = {
      v: 1,
      lang: 'so',
      langPicked: true,
      active: {
        name: 'absence',
        step: 'confirm',
        data: { childId: 'p-1', days: ['2026-11-23'], time: null },
      },
      turns: 7,
    };
    expect(restore(persist(s))).toEqual(s);
  });

  it('starts afresh on a corrupt or foreign stored value', () => {
    expect(restore('{not json')).toEqual(initialState());
    expect(restore(JSON.stringify({ v: 99 }))).toEqual(initialState());
  });
});
