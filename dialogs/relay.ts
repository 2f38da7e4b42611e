import { DateTime } from 'luxon';
import type { AbsenceNotice, LeaveNotice, Person, Say } from '../src/engine/types.ts';
import { say } from './shared.ts';

/**
 * The staff side of a conversation, as pure decisions: who may answer a parent's
 * thread, what the parent sees of a staff reply, and when an unanswered safety
 * report goes on to the office. The worker does the I/O around these.
 */

/** Staff may read and answer a thread only if it was addressed to them (their class, or their role at the school). */
export function mayAnswer(thread: { staffIds: string[] }, staff: Person): staff is StaffPerson {
  if (staff.kind !== 'staff') return false;
  return thread.staffIds.includes(staff.id);
}

type StaffPerson = Extract<Person, { kind: 'staff' }>;

/** How the parent is told who wrote; the first role with its own wording wins. */
const FROM_KEYS: Record<string, string> = {
  kontaktlaerer: 'relay.fromKontaktlaerer',
  rektor: 'relay.fromRektor',
  'aks-baseleder': 'relay.fromAks',
};

/**
 * A staff reply as the parent reads it: who wrote, the words in the parent's language,
 * and whether a machine translated them (the Norwegian original goes along for "show original").
 */
export function staffReplySay(
  staff: StaffPerson,
  text: string,
  translation: 'translated' | 'untranslated' | 'same-language',
): Say[] {
  const role = staff.roles.find((r) => FROM_KEYS[r]);
  return [
    say(role ? (FROM_KEYS[role] as string) : 'relay.fromSchool', { name: staff.name }),
    say('common.raw', { text }),
    ...(translation === 'same-language'
      ? []
      : [say(translation === 'translated' ? 'relay.machineTranslated' : 'relay.notTranslated')]),
  ];
}

/** Who and what a staff notice is about; names come from the directory, never from the parent's text. */
export interface NoticeSubject {
  kind: 'message' | 'absence' | 'leave' | 'safety' | 'handoff' | 'escalated' | 'reply';
  guardian?: string;
  child?: { name: string; className: string };
  notice?: AbsenceNotice | LeaveNotice;
}

/**
 * The Norwegian heading of a staff notice on Slack or Teams: what happened, from whom,
 * about which child. Absence and leave carry days and times only, as the notice does.
 */
export function staffNoticeSay(subject: NoticeSubject): Say[] {
  const who = {
    guardian: subject.guardian ?? '',
    child: subject.child?.name ?? '',
    className: subject.child?.className ?? '',
  };
  const about = subject.child ? 'Child' : '';
  const n = subject.notice;
  if (n?.kind === 'absence')
    return [say(`staffNotice.absence.${n.mode}`, { ...who, days: n.days.join(','), time: n.time ?? '' })];
  if (n?.kind === 'leave') return [say('staffNotice.leave', { ...who, from: n.from, to: n.to })];
  return [say(`staffNotice.${subject.kind}${subject.guardian ? '' : 'Anonymous'}${about}`, who)];
}

export interface SchoolHours {
  /** Minutes after midnight, Europe/Oslo. */
  opens: number;
  closes: number;
  /** ISO weekdays (1 = Monday) the school is open. */
  days: number[];
}

export const DEFAULT_SCHOOL_HOURS: SchoolHours = { opens: 8 * 60, closes: 16 * 60, days: [1, 2, 3, 4, 5] };

/** "08:00-16:00" to minutes; undefined when malformed. */
export function parseSchoolHours(spec: string, days = DEFAULT_SCHOOL_HOURS.days): SchoolHours | undefined {
  const m = /^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$/.exec(spec.trim());
  if (!m) return undefined;
  const [opens, closes] = [Number(m[1]) * 60 + Number(m[2]), Number(m[3]) * 60 + Number(m[4])];
  return opens < closes && closes <= 24 * 60 ? { opens, closes, days } : undefined;
}

/**
 * When an unacknowledged escalation goes on to the office: `minutes` of school time
 * after `at`. A report at night or on a weekend counts from the next opening, when
 * someone is there to take it up (the parent has been given the emergency numbers).
 */
export function escalationDeadline(
  at: string,
  minutes: number,
  hours: SchoolHours = DEFAULT_SCHOOL_HOURS,
): Date {
  let t = DateTime.fromISO(at, { zone: 'Europe/Oslo' });
  let left = minutes;
  for (let guard = 0; guard < 400; guard++) {
    const minuteOfDay = t.hour * 60 + t.minute + t.second / 60;
    const open = hours.days.includes(t.weekday) && minuteOfDay < hours.closes;
    if (open && minuteOfDay >= hours.opens) {
      const room = hours.closes - minuteOfDay;
      if (left <= room) return t.plus({ minutes: left }).toJSDate();
      left -= room;
    }
    const nextDay = open && minuteOfDay < hours.opens ? t.startOf('day') : t.startOf('day').plus({ days: 1 });
    t = nextDay.plus({ minutes: hours.opens });
    if (!hours.days.includes(t.weekday)) t = t.startOf('day').plus({ days: 1 });
  }
  throw new Error('escalationDeadline: no school hours configured');
}
