import type { KeywordKind } from '../src/engine/types.ts';
import { choice, say } from './shared.ts';
import type { Dialog, DialogInput, DialogOutput } from './types.ts';

/**
 * The standard's three areas, each with what the school does and what it expects
 * of the home. The content is versioned per municipality/school in
 * locales/<lang>/standard.json; this dialog only picks the area and the side.
 */
const AREAS = ['fag', 'trygghet', 'dialog'] as const;
type Area = (typeof AREAS)[number];
type Side = 'school' | 'home';
const NAME = 'expectations';

export const expectations: Dialog = {
  name: NAME,
  intents: ['expectations.school', 'expectations.home'],
  start(input) {
    const side: Side = input.turn.analysis.intent === 'expectations.home' ? 'home' : 'school';
    const area = AREAS.find((a) => input.keywords(input.turn.text, `area.${a}` as KeywordKind));
    return area ? answer(input, area, side) : overview(input, side);
  },
  resume(input) {
    const m = input.turn.choice?.match(/^area:(fag|trygghet|dialog):(school|home)$/);
    return m ? answer(input, m[1] as Area, m[2] as Side) : null;
  },
};

function overview(input: DialogInput, side: Side): DialogOutput {
  const version = input.directory.school.standard;
  return {
    say: [
      say('standard.intro', { version }),
      say('expectations.source', { version }),
      say(`expectations.pick.${side}`),
    ],
    choices: AREAS.map((a) => choice(`area:${a}:${side}`, `standard.${a}.title`, { version })),
    next: { name: NAME, step: 'area', data: {} },
  };
}

/** Answers one area, then offers the other side of it and the other two areas. */
function answer(input: DialogInput, area: Area, side: Side): DialogOutput {
  const version = input.directory.school.standard;
  const other: Side = side === 'school' ? 'home' : 'school';
  return {
    say: [
      say(`expectations.heading.${side}`, { area: `standard.${area}.title`, version }),
      say(`standard.${area}.${side}`, { version }),
      say('expectations.source', { version }),
    ],
    choices: [
      choice(`area:${area}:${other}`, `expectations.other.${other}`),
      ...AREAS.filter((a) => a !== area).map((a) =>
        choice(`area:${a}:${side}`, `standard.${a}.title`, { version }),
      ),
    ],
    next: { name: NAME, step: 'area', data: {} },
  };
}
