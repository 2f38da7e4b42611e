import type { DateTime } from 'luxon';
import type { KeywordKind, KeywordLookup } from '../src/engine/types.ts';

const WEEKDAYS: Array<[KeywordKind, number]> = [
  ['mon', 1],
  ['tue', 2],
  ['wed', 3],
  ['thu', 4],
  ['fri', 5],
];

/**
 * Finds the school days a message names: today, tomorrow, weekdays (the next
 * one, today included) and dates written 24.3, 24/3 or 24.03.2025.
 * Returns ISO dates, sorted and without duplicates.
 */
export function daysIn(text: string, now: DateTime, keywords: KeywordLookup): string[] {
  const days = new Set<string>();
  if (keywords(text, 'today')) days.add(iso(now));
  if (keywords(text, 'tomorrow')) days.add(iso(now.plus({ days: 1 })));
  for (const [kind, weekday] of WEEKDAYS) {
    if (keywords(text, kind)) days.add(iso(now.plus({ days: (weekday - now.weekday + 7) % 7 })));
  }
  for (const m of text.matchAll(/(?<![\d.])(\d{1,2})[./](\d{1,2})(?:[./](\d{2,4}))?(?![\d])/g)) {
    const date = dateFrom(now, m[1], m[2], m[3]);
    if (date) days.add(date);
  }
  return [...days].sort();
}

/**
 * A clock time as HH:MM. Strict mode (used on free text) takes only 9:30 or 09.30;
 * an answer to "what time?" may also be a bare hour like 9.
 */
export function timeIn(text: string, strict = false): string | undefined {
  const pattern = strict
    ? /(?<![\d.:])([01]?\d|2[0-3])[:.]([0-5]\d)(?![\d.])/
    : /(?<![\d.:])([01]?\d|2[0-3])(?:[:.]?([0-5]\d))?(?![\d.])/;
  const m = text.match(pattern);
  if (!m?.[1]) return undefined;
  return `${m[1].padStart(2, '0')}:${m[2] ?? '00'}`;
}

/** Reads "24.3 - 2.4" style ranges: the first and last date named. */
export function rangeIn(text: string, now: DateTime): { from: string; to: string } | undefined {
  const dates = [...text.matchAll(/(?<![\d.])(\d{1,2})[./](\d{1,2})(?:[./](\d{2,4}))?(?![\d])/g)]
    .map((m) => dateFrom(now, m[1], m[2], m[3]))
    .filter((d): d is string => Boolean(d));
  const first = dates[0];
  if (!first) return undefined;
  const last = dates[dates.length - 1] ?? first;
  return first <= last ? { from: first, to: last } : { from: last, to: first };
}

function dateFrom(now: DateTime, d?: string, m?: string, y?: string): string | undefined {
  const day = Number(d);
  const month = Number(m);
  let year = y ? Number(y) : now.year;
  if (y && year < 100) year += 2000;
  let date = now.set({ year, month, day });
  if (!date.isValid || date.day !== day || date.month !== month) return undefined;
  // Without a year, a date already past this year means next year (a parent planning ahead).
  if (!y && iso(date) < iso(now.minus({ days: 1 }))) date = date.plus({ years: 1 });
  return iso(date);
}

const iso = (d: DateTime) => d.toISODate() ?? '';
