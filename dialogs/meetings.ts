import type { ChildView } from '../src/engine/types.ts';
import { done, needsVerifiedGuardian, resolveChild, say, topicChoices, upcoming } from './shared.ts';
import type { Dialog, DialogInput, DialogOutput } from './types.ts';

/** The next foreldremøte and utviklingssamtale for this parent's child's class, from the school calendar. */
export const meetings: Dialog = {
  name: 'meetings',
  intents: ['meetings.next'],
  start(input) {
    const guard = needsVerifiedGuardian(input);
    if (guard) return guard;
    const found = resolveChild(input, 'meetings', {});
    return 'child' in found ? answer(input, found.child) : found.ask;
  },
  resume(input) {
    const found = resolveChild(input, 'meetings', {});
    return 'child' in found ? answer(input, found.child) : null;
  },
  ask(input) {
    const found = resolveChild(input, 'meetings', {});
    return 'ask' in found ? found.ask : answer(input, found.child);
  },
};

function answer(input: DialogInput, child: ChildView): DialogOutput {
  const next = (['foreldremote', 'utviklingssamtale'] as const)
    .map((kind) => upcoming(child.events, input.now, [kind])[0])
    .filter((e) => e !== undefined);
  const more = topicChoices('contact.teacher', 'expectations.home');
  if (next.length === 0) return done([say('meetings.none', { className: child.className })], more);
  return done(
    [
      ...next.flatMap((e) => [
        say(`meetings.${e.kind}`, { name: child.firstName, className: child.className, date: e.start }),
        ...(e.location ? [say('meetings.location', { location: e.location })] : []),
      ]),
      say('meetings.interpreter'),
    ],
    more,
  );
}
