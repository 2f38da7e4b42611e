import type { LeaveNotice } from '../src/engine/types.ts';
import { choice, done, resolveChild, say, topicChoices } from './shared.ts';
import type { Dialog, DialogInput, DialogOutput } from './types.ts';
import { rangeIn } from './when.ts';

/** Permisjon: the rules first, then (for a verified guardian) an offer to send the request to the rektor. */
const NAME = 'leave';

export const leave: Dialog = {
  name: NAME,
  intents: ['leave.request'],
  start(input) {
    const rules = [
      say('leave.rules.advance'),
      say('leave.rules.decides'),
      say('leave.rules.max', { days: input.directory.school.maxLeaveDays }),
      say('leave.rules.religious'),
      say('leave.rules.appeal'),
    ];
    if (input.person.kind !== 'guardian' || input.directory.children.length === 0) {
      return done(rules, topicChoices('holidays.dates', 'contact.teacher'));
    }
    return {
      say: [...rules, say('leave.offer')],
      choices: [choice('leave:apply', 'leave.apply'), choice('no', 'common.noThanks')],
      next: { name: NAME, step: 'offer', data: {} },
    };
  },
  resume(input, active) {
    const { choice: picked = '', text } = input.turn;
    const data = active.data as { childId?: string; from?: string; to?: string };
    switch (active.step) {
      case 'offer':
        if (picked === 'leave:apply' || input.keywords(text, 'yes')) return pickChild(input, data);
        if (picked === 'no' || input.keywords(text, 'no')) return done([say('common.ok')]);
        return null;
      case 'child':
        return pickChild(input, data, true);
      case 'dates': {
        const range = rangeIn(text, input.now);
        return range ? confirm(input, { ...data, ...range }) : null;
      }
      case 'confirm':
        if (picked === 'yes' || input.keywords(text, 'yes')) return send(input, data);
        if (picked === 'no' || input.keywords(text, 'no')) return done([say('leave.notSent')]);
        return null;
      default:
        return null;
    }
  },
  ask(input, active) {
    const data = active.data as { childId?: string; from?: string; to?: string };
    if (active.step === 'dates') return { say: [say('leave.askDates')], next: active };
    if (active.step === 'confirm') return confirm(input, data);
    return pickChild(input, data) ?? done([say('leave.notSent')]);
  },
};

function pickChild(input: DialogInput, data: { childId?: string }, answering = false): DialogOutput | null {
  const found = resolveChild(input, NAME, data);
  if ('ask' in found) return answering ? null : found.ask;
  return {
    say: [say('leave.askDates')],
    next: { name: NAME, step: 'dates', data: { childId: found.child.id } },
  };
}

function confirm(input: DialogInput, data: { childId?: string; from?: string; to?: string }): DialogOutput {
  const child = input.directory.children.find((c) => c.id === data.childId);
  return {
    say: [say('leave.confirm', { name: child?.firstName ?? '', from: data.from ?? '', to: data.to ?? '' })],
    choices: [choice('yes', 'common.yes'), choice('no', 'common.no')],
    next: { name: NAME, step: 'confirm', data },
  };
}

function send(input: DialogInput, data: { childId?: string; from?: string; to?: string }): DialogOutput {
  const child = input.directory.children.find((c) => c.id === data.childId);
  if (!child || !data.from || !data.to) return pickChild(input, data) ?? done([say('leave.notSent')]);
  const notice: LeaveNotice = {
    kind: 'leave',
    childId: child.id,
    classId: child.classId,
    from: data.from,
    to: data.to,
  };
  return {
    say: [say('leave.sent', { name: child.firstName })],
    actions: [
      { type: 'notifyStaff', to: [{ role: 'rektor' }, { role: 'kontaktlaerer', childId: child.id }], notice },
    ],
    next: null,
  };
}
