import { choice, done, needsVerifiedGuardian, resolveChild, say, topicChoices } from './shared.ts';
import type { Dialog, DialogInput, DialogOutput } from './types.ts';

/**
 * Who the kontaktlærer is and how to reach them, what a kontaktlærer is, and an
 * offer to pass on a message (relayToStaff, translated by the shell).
 */
const NAME = 'contact';

export const contactTeacher: Dialog = {
  name: NAME,
  intents: ['contact.teacher'],
  start(input) {
    const guard = needsVerifiedGuardian(input);
    if (guard) return { ...guard, say: [say('contact.gloss'), ...guard.say] };
    const found = resolveChild(input, NAME, {});
    return 'child' in found ? answer(found.child.id, input) : found.ask;
  },
  resume(input, active) {
    const { choice: picked = '', text } = input.turn;
    const childId = active.data.childId as string | undefined;
    switch (active.step) {
      case 'child': {
        const found = resolveChild(input, NAME, {});
        return 'child' in found ? answer(found.child.id, input) : null;
      }
      case 'offer':
        if (picked === 'relay:start' || input.keywords(text, 'yes')) {
          return {
            say: [say('contact.writeMessage')],
            next: { name: NAME, step: 'message', data: { childId } },
          };
        }
        if (picked === 'no' || input.keywords(text, 'no'))
          return done([say('common.ok')], topicChoices('meetings.next'));
        return null;
      case 'message': {
        if (picked || text.trim().length < 2) return null;
        const child = input.directory.children.find((c) => c.id === childId);
        if (!child) return null;
        return {
          say: [say('contact.relayed', { teacher: child.teacher?.name ?? '' }), replyTime(input)],
          actions: [
            {
              type: 'relayToStaff',
              to: { role: 'kontaktlaerer', childId: child.id },
              childId: child.id,
              text,
              lang: input.lang,
            },
          ],
          next: null,
        };
      }
      default:
        return null;
    }
  },
  ask(input, active) {
    if (active.step === 'message') return { say: [say('contact.writeMessage')], next: active };
    return answer(String(active.data.childId ?? ''), input);
  },
};

function answer(childId: string, input: DialogInput): DialogOutput {
  const child = input.directory.children.find((c) => c.id === childId);
  const teacher = child?.teacher;
  if (!child || !teacher) {
    return done(
      [say('contact.noTeacher', { phone: input.directory.school.officePhone ?? '' })],
      topicChoices('human.handoff'),
    );
  }
  return {
    say: [
      say('contact.teacher', { teacher: teacher.name, name: child.firstName, className: child.className }),
      ...(teacher.email ? [say('contact.email', { email: teacher.email })] : []),
      ...(teacher.phone ? [say('contact.phone', { phone: teacher.phone })] : []),
      say('contact.gloss'),
      say('contact.offer'),
    ],
    choices: [choice('relay:start', 'contact.sendMessage'), choice('no', 'common.noThanks')],
    next: { name: NAME, step: 'offer', data: { childId: child.id } },
  };
}

/** Only a school-configured reply time is promised; otherwise the parent is told no time is promised. */
function replyTime(input: DialogInput) {
  const days = input.directory.school.replyTimeDays;
  return days ? say('contact.replyTime', { days }) : say('contact.noReplyPromise');
}
