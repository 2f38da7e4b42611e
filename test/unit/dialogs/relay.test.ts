import { describe, expect, it } from 'vitest';
import { escalationDeadline, mayAnswer, parseSchoolHours, staffReplySay } from '../../../dialogs/relay.ts';
import type { Person } from '../../../src/engine/types.ts';

const ingrid: Person = { kind: 'staff', id: 't-ingrid', name: 'Ingrid Berg', roles: ['kontaktlaerer'] };
const mona: Person = { kind: 'staff', id: 's-mona', name: 'Mona Lie', roles: ['aks-baseleder'] };
const amina: Person = { kind: 'guardian', id: 'g-amina', name: 'Amina Hassan', preferredLang: 'so' };

describe('who may answer a thread', () => {
  it('lets only the staff it was addressed to answer', () => {
    expect(mayAnswer({ staffIds: ['t-ingrid', 's-per'] }, ingrid)).toBe(true);
    expect(mayAnswer({ staffIds: ['t-lars'] }, ingrid)).toBe(false);
    expect(mayAnswer({ staffIds: ['g-amina'] }, amina)).toBe(false);
  });
});

describe('a staff reply as the parent reads it', () => {
  it('names the writer by role and says whether a machine translated it', () => {
    expect(staffReplySay(ingrid as Extract<Person, { kind: 'staff' }>, 'hei', 'translated')).toMatchObject([
      { key: 'relay.fromKontaktlaerer', params: { name: 'Ingrid Berg' } },
      { key: 'common.raw', params: { text: 'hei' } },
      { key: 'relay.machineTranslated' },
    ]);
    const aks = staffReplySay(mona as Extract<Person, { kind: 'staff' }>, 'hei', 'untranslated');
    expect(aks.map((s) => s.key)).toEqual(['relay.fromAks', 'common.raw', 'relay.notTranslated']);
    const same = staffReplySay(ingrid as Extract<Person, { kind: 'staff' }>, 'hei', 'same-language');
    expect(same.map((s) => s.key)).toEqual(['relay.fromKontaktlaerer', 'common.raw']);
  });
});

describe('escalation deadline in school time (Europe/Oslo, Mon–Fri 08–16)', () => {
  const at = (iso: string) => escalationDeadline(iso, 30).toISOString();
  it('adds the minutes inside school hours', () => {
    // Wednesday 10:00 Oslo (09:00Z) -> 10:30.
    expect(at('2026-11-25T09:00:00.000Z')).toBe('2026-11-25T09:30:00.000Z');
  });
  it('carries what is left over the closing to the next morning', () => {
    // Wednesday 15:50 Oslo -> 10 minutes left today, 20 on Thursday from 08:00.
    expect(at('2026-11-25T14:50:00.000Z')).toBe('2026-11-26T07:20:00.000Z');
  });
  it('starts the clock at the next opening at night and at weekends', () => {
    // Friday 22:00 Oslo -> Monday 08:30.
    expect(at('2026-11-27T21:00:00.000Z')).toBe('2026-11-30T07:30:00.000Z');
    // Monday 06:00 Oslo -> 08:30 the same day.
    expect(at('2026-11-30T05:00:00.000Z')).toBe('2026-11-30T07:30:00.000Z');
  });
  it('follows summer time', () => {
    // Wednesday 10 June 2026, 10:00 Oslo = 08:00Z.
    expect(at('2026-06-10T08:00:00.000Z')).toBe('2026-06-10T08:30:00.000Z');
  });
  it('parses configured hours and refuses nonsense', () => {
    expect(parseSchoolHours('07:30-15:00')).toMatchObject({ opens: 450, closes: 900 });
    expect(parseSchoolHours('16:00-08:00')).toBeUndefined();
    expect(parseSchoolHours('all day')).toBeUndefined();
  });
});
