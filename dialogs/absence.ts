import type { AbsenceNotice } from '../src/engine/types.ts';
import { choice, done, needsVerifiedGuardian, resolveChild, say } from './shared.ts';
import type { Dialog, DialogInput, DialogOutput } from './types.ts';
import { daysIn, timeIn } from './when.ts';

/**
 * Absence report: which child, which day(s), late/early, confirm, then a notice
 * to the kontaktlærer. Never asks for a reason and never passes one on: a
 * reason like "fever" is health data, so the notice carries child, days and times only.
 */
type Draft = {
  childId?: string;
  days?: string[];
  mode?: AbsenceNotice['mode'];
  time?: string | null;
};

const NAME = 'absence';

export const absence: Dialog = {
  name: NAME,
  intents: ['absence.report'],
  start(input) {
    return needsVerifiedGuardian(input) ?? advance(input, read(input, {}));
  },
  resume(input, active) {
    const draft = active.data as Draft;
    const { choice: picked = '', text } = input.turn;
    switch (active.step) {
      case 'child': {
        const found = resolveChild(input, NAME, draft);
        return 'child' in found ? advance(input, read(input, { ...draft, childId: found.child.id })) : null;
      }
      case 'day': {
        const read1 = read(input, draft);
        if (picked === 'day:other') return ask(input, draft, 'date');
        return read1.days?.length || read1.mode ? advance(input, read1) : null;
      }
      case 'date': {
        const days = daysIn(text, input.now, input.keywords);
        return days.length ? advance(input, { ...draft, days }) : null;
      }
      case 'time': {
        if (picked === 'time:skip' || input.keywords(text, 'no'))
          return advance(input, { ...draft, time: null });
        const time = timeIn(text);
        return time ? advance(input, { ...draft, time }) : null;
      }
      case 'confirm':
        if (picked === 'yes' || input.keywords(text, 'yes')) return send(input, draft);
        if (picked === 'no' || input.keywords(text, 'no')) return done([say('absence.notSent')]);
        return null;
      default:
        return null;
    }
  },
  ask(input, active) {
    return advance(input, active.data as Draft);
  },
};

/** Picks up whatever the message already says: child, days, late or early. */
function read(input: DialogInput, draft: Draft): Draft {
  const { text, choice: picked = '' } = input.turn;
  const next = { ...draft };
  if (!next.childId) {
    const found = resolveChild(input, NAME, draft);
    if ('child' in found) next.childId = found.child.id;
  }
  if (picked === 'day:today') next.days = [input.now.toISODate() ?? ''];
  if (picked === 'day:tomorrow') next.days = [input.now.plus({ days: 1 }).toISODate() ?? ''];
  if (picked === 'day:late' || input.keywords(text, 'late')) next.mode = 'late';
  if (picked === 'day:early' || input.keywords(text, 'early')) next.mode = 'early';
  const days = daysIn(text, input.now, input.keywords);
  if (days.length) next.days = days;
  if (next.mode && next.mode !== 'absent' && !next.days?.length) next.days = [input.now.toISODate() ?? ''];
  if (next.mode && next.mode !== 'absent' && next.time === undefined) {
    const time = timeIn(text, true);
    if (time) next.time = time;
  }
  return next;
}

function advance(input: DialogInput, draft: Draft): DialogOutput {
  if (!draft.childId) {
    const found = resolveChild(input, NAME, draft);
    if ('ask' in found) return found.ask;
    draft = { ...draft, childId: found.child.id };
  }
  if (!draft.days?.length) return ask(input, draft, 'day');
  const mode = draft.mode ?? 'absent';
  if (mode !== 'absent' && draft.time === undefined) return ask(input, { ...draft, mode }, 'time');
  const child = input.directory.children.find((c) => c.id === draft.childId);
  return {
    say: [
      say(`absence.confirm.${mode}`, {
        name: child?.firstName ?? '',
        days: draft.days.join(','),
        time: draft.time ?? '',
      }),
    ],
    choices: [choice('yes', 'common.yes'), choice('no', 'common.no')],
    next: { name: NAME, step: 'confirm', data: { ...draft, mode } },
  };
}

function ask(_input: DialogInput, draft: Draft, step: 'day' | 'date' | 'time'): DialogOutput {
  const next = { name: NAME, step, data: { ...draft } };
  if (step === 'day') {
    return {
      say: [say('absence.askDay')],
      choices: ['today', 'tomorrow', 'other', 'late', 'early'].map((d) =>
        choice(`day:${d}`, `absence.day.${d}`),
      ),
      next,
    };
  }
  if (step === 'date') return { say: [say('absence.askDate')], next };
  return {
    say: [say(`absence.askTime.${draft.mode}`)],
    choices: [choice('time:skip', 'absence.skipTime')],
    next,
  };
}

function send(input: DialogInput, draft: Draft): DialogOutput {
  const child = input.directory.children.find((c) => c.id === draft.childId);
  if (!child || !draft.days?.length) return advance(input, draft);
  const notice: AbsenceNotice = {
    kind: 'absence',
    childId: child.id,
    classId: child.classId,
    days: draft.days,
    mode: draft.mode ?? 'absent',
    ...(draft.time ? { time: draft.time } : {}),
  };
  return {
    say: [
      say('absence.sent', { teacher: child.teacher?.name ?? '', name: child.firstName }),
      say('absence.noReason'),
    ],
    actions: [{ type: 'notifyStaff', to: [{ role: 'kontaktlaerer', childId: child.id }], notice }],
    next: null,
  };
}
