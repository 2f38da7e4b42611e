import type { DateTime } from 'luxon';
import type { ActiveDialog, CalendarEntry, ChildView, Choice, Say } from '../src/engine/types.ts';
import type { DialogInput, DialogOutput } from './types.ts';

export const say = (key: string, params?: Say['params']): Say => (params ? { key, params } : { key });

export const choice = (value: string, key: string, params?: Say['params']): Choice => ({
  value,
  label: say(key, params),
});

/** Offers a few topics as buttons, so a finished answer never leaves the parent at a dead end. */
export const topicChoices = (...intents: string[]): Choice[] =>
  intents.map((intent) => choice(`intent:${intent}`, `menu.${intent}`));

/** The main menu: what the bot can do, as buttons. */
export const menu = (): Choice[] =>
  topicChoices('expectations.school', 'meetings.next', 'contact.teacher', 'absence.report');

export const done = (sayList: Say[], choices?: Choice[]): DialogOutput => ({
  say: sayList,
  next: null,
  ...(choices ? { choices } : {}),
});

/** Anonymous senders get general answers only: never a child's name, class, teacher or dates. */
export const needsVerifiedGuardian = (input: DialogInput): DialogOutput | null =>
  input.person.kind === 'guardian' && input.directory.children.length > 0
    ? null
    : done(
        [say('privacy.notVerified')],
        [
          ...(input.person.kind === 'anonymous' ? [choice('dialog:verify', 'verify.offer')] : []),
          ...topicChoices('expectations.school', 'human.handoff'),
        ],
      );

/** Finds the child a message names, by first name without case or diacritics. */
export function childNamedIn(text: string, children: ChildView[]): ChildView | undefined {
  const plain = fold(text);
  return children.find((c) =>
    new RegExp(`(^|[^\\p{L}])${escapeRegExp(fold(c.firstName))}([^\\p{L}]|$)`, 'u').test(plain),
  );
}

/**
 * Resolves which child a turn is about: the only child, a pressed button, or a
 * name in the text. Returns the question to ask when it cannot tell.
 */
export function resolveChild(
  input: DialogInput,
  dialog: string,
  data: Record<string, unknown>,
): { child: ChildView } | { ask: DialogOutput } {
  const { children } = input.directory;
  if (children.length === 1 && children[0]) return { child: children[0] };
  const picked = input.turn.choice?.startsWith('child:')
    ? children.find((c) => `child:${c.id}` === input.turn.choice)
    : childNamedIn(input.turn.text, children);
  if (picked) return { child: picked };
  const next: ActiveDialog = { name: dialog, step: 'child', data };
  return {
    ask: {
      say: [say('common.whichChild')],
      choices: children.map((c) => ({
        value: `child:${c.id}`,
        label: say('common.childOption', { name: c.firstName, className: c.className }),
      })),
      next,
    },
  };
}

export function upcoming(
  entries: CalendarEntry[],
  now: DateTime,
  kinds: CalendarEntry['kind'][],
): CalendarEntry[] {
  const today = now.toISODate() ?? '';
  return entries
    .filter((e) => kinds.includes(e.kind) && e.end.slice(0, 10) >= today)
    .sort((a, b) => a.start.localeCompare(b.start));
}

export function fold(text: string): string {
  return text
    .toLowerCase()
    .replace(/æ/g, 'ae')
    .replace(/ø/g, 'o')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
