import type { StaffTarget } from '../src/engine/types.ts';
import { childNamedIn, say } from './shared.ts';
import type { Dialog } from './types.ts';

/**
 * Safety and bullying never stay in the bot: the kontaktlærer and the rektor are
 * alerted at once (escalate), and the parent is told a person will follow up.
 */
export const safety: Dialog = {
  name: 'safety',
  intents: ['safety.concern'],
  start(input) {
    const { children, school } = input.directory;
    const named =
      childNamedIn(input.turn.text, children) ?? (children.length === 1 ? children[0] : undefined);
    const about = named ? [named] : children;
    const to: StaffTarget[] = [
      ...about.map((c) => ({ role: 'kontaktlaerer' as const, childId: c.id })),
      { role: 'rektor' },
      ...(about.length === 0 ? [{ role: 'office' as const }] : []),
    ];
    return {
      say: [
        say('safety.heard'),
        say(input.person.kind === 'guardian' ? 'safety.followUp' : 'safety.followUpAnonymous', {
          phone: school.officePhone ?? '',
        }),
        say('safety.duty'),
        say('safety.emergency'),
      ],
      actions: [
        {
          type: 'escalate',
          reason: 'safety',
          to,
          ...(named ? { childId: named.id } : {}),
          text: input.turn.text,
          lang: input.lang,
        },
      ],
      next: null,
    };
  },
};

/** "I want to talk to a person": the school office is asked to get in touch, and the parent gets the number. */
export const handoff: Dialog = {
  name: 'handoff',
  intents: ['human.handoff'],
  start(input) {
    const phone = input.directory.school.officePhone ?? '';
    const known = input.person.kind === 'guardian';
    return {
      say: [
        say(known ? 'handoff.passed' : 'handoff.callOffice', { phone }),
        say('handoff.office', { phone }),
      ],
      actions: known
        ? [
            {
              type: 'escalate',
              reason: 'handoff',
              to: [{ role: 'office' }],
              text: input.turn.text,
              lang: input.lang,
            },
          ]
        : [],
      next: null,
    };
  },
};
