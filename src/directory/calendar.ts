import { DateTime } from 'luxon';
import ical from 'node-ical';
import type { CalendarEntry } from '../engine/types.ts';

const ZONE = 'Europe/Oslo';
const KINDS: CalendarEntry['kind'][] = [
  'foreldremote',
  'utviklingssamtale',
  'holiday',
  'school-start',
  'school-end',
  'day-off',
  'other',
];

/**
 * Reads a school or class calendar (ICS) into entries. The kind comes from
 * CATEGORIES when the school set it, else from the Norwegian summary
 * ("Foreldremøte", "Vinterferie", "Planleggingsdag", ...).
 */
export function parseCalendar(text: string, source: string): CalendarEntry[] {
  let parsed: ical.CalendarResponse;
  try {
    parsed = ical.sync.parseICS(text);
  } catch (err) {
    throw new Error(`${source}: not a valid ICS file: ${(err as Error).message}`);
  }
  const entries: CalendarEntry[] = [];
  for (const component of Object.values(parsed)) {
    if (component?.type !== 'VEVENT') continue;
    const event = component as ical.VEvent;
    if (!event.start) throw new Error(`${source}: event "${String(event.summary)}" has no DTSTART`);
    const title =
      typeof event.summary === 'string'
        ? event.summary
        : String((event.summary as { val?: string })?.val ?? '');
    const allDay = (event.start as Date & { dateOnly?: boolean }).dateOnly === true;
    const start = stamp(event.start, allDay);
    const end = event.end ? stamp(event.end, allDay) : start;
    const location = typeof event.location === 'string' && event.location ? event.location : undefined;
    entries.push({
      kind: kindOf(event.categories, title),
      title,
      start,
      end,
      allDay,
      ...(location ? { location } : {}),
    });
  }
  return entries.sort((a, b) => a.start.localeCompare(b.start));
}

function stamp(d: Date, allDay: boolean): string {
  // node-ical builds all-day dates at local midnight; read them back in local time.
  if (allDay) return DateTime.fromJSDate(d).toISODate() ?? '';
  return DateTime.fromJSDate(d, { zone: ZONE }).toISO({ suppressMilliseconds: true }) ?? '';
}

function kindOf(categories: string[] | undefined, title: string): CalendarEntry['kind'] {
  const tagged = (categories ?? [])
    .map((c) => c.toLowerCase().trim())
    .find((c) => (KINDS as string[]).includes(c));
  if (tagged) return tagged as CalendarEntry['kind'];
  const t = title.toLowerCase();
  if (t.includes('foreldremøte')) return 'foreldremote';
  if (t.includes('utviklingssamtale') || t.includes('konferansetime') || t.includes('foreldresamtale'))
    return 'utviklingssamtale';
  if (t.includes('første skoledag') || t.includes('skolestart')) return 'school-start';
  if (t.includes('siste skoledag')) return 'school-end';
  if (t.includes('ferie')) return 'holiday';
  if (t.includes('fridag') || t.includes('planleggingsdag')) return 'day-off';
  return 'other';
}
