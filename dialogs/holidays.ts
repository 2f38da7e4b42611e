import { done, say, topicChoices, upcoming } from './shared.ts';
import type { Dialog } from './types.ts';

const SHOWN = 4;

/** Holidays and days off from the school's calendar (loaded from ICS; no year is hard-coded). */
export const holidays: Dialog = {
  name: 'holidays',
  intents: ['holidays.dates'],
  start(input) {
    const next = upcoming(input.directory.schoolCalendar, input.now, [
      'holiday',
      'day-off',
      'school-start',
      'school-end',
    ]).slice(0, SHOWN);
    const more = topicChoices('leave.request', 'aks.info');
    if (next.length === 0) return done([say('holidays.none', { school: input.directory.school.name })], more);
    return done(
      [
        say('holidays.intro', { school: input.directory.school.name }),
        ...next.map((e) =>
          e.kind === 'school-start' || e.kind === 'school-end' || e.end <= nextDay(e.start)
            ? say('holidays.day', { term: e.title, date: e.start })
            : say('holidays.range', { term: e.title, from: e.start, to: lastDay(e.end) }),
        ),
        say('holidays.planning'),
      ],
      more,
    );
  },
};

/** ICS all-day ends are exclusive; parents want the last day off. */
function lastDay(endExclusive: string): string {
  const d = new Date(`${endExclusive.slice(0, 10)}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
}

function nextDay(start: string): string {
  const d = new Date(`${start.slice(0, 10)}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}
