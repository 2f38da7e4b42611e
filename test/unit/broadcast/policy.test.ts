import { describe, expect, it } from 'vitest';
import type { ResolvedAudience } from '../../../src/broadcast/model.ts';
import { mayBroadcast, parseFauScope } from '../../../src/broadcast/policy.ts';
import type { Staff } from '../../../src/directory/model.ts';

const staff = (over: Partial<Staff>): Staff => ({
  id: 's',
  schoolId: 'bjerkedalen',
  name: 'S',
  roles: [],
  classIds: [],
  preferredLang: 'nb',
  ...over,
});
const school: ResolvedAudience = {
  kind: 'school',
  id: 'bjerkedalen',
  schoolId: 'bjerkedalen',
  classes: [
    { id: '3a', trinn: 3 },
    { id: '3b', trinn: 3 },
    { id: '6a', trinn: 6 },
  ],
};
const trinn3: ResolvedAudience = {
  kind: 'trinn',
  id: '3',
  schoolId: 'bjerkedalen',
  classes: [
    { id: '3a', trinn: 3 },
    { id: '3b', trinn: 3 },
  ],
};
const class3a: ResolvedAudience = {
  kind: 'class',
  id: '3a',
  schoolId: 'bjerkedalen',
  classes: [{ id: '3a', trinn: 3 }],
};
const otherClass: ResolvedAudience = {
  kind: 'class',
  id: 'x-1a',
  schoolId: 'other',
  classes: [{ id: 'x-1a', trinn: 1 }],
};

describe('mayBroadcast', () => {
  it('lets rektor and the office send anything in their own school, and nothing outside it', () => {
    for (const role of ['rektor', 'office'] as const) {
      const s = staff({ roles: [role] });
      expect([school, trinn3, class3a].map((a) => mayBroadcast(s, a))).toEqual([
        { ok: true },
        { ok: true },
        { ok: true },
      ]);
      expect(mayBroadcast(s, otherClass)).toEqual({ ok: false, reason: 'otherSchool' });
    }
  });

  it('lets a kontaktlærer send to their own class only', () => {
    const s = staff({ roles: ['kontaktlaerer'], classIds: ['3a'] });
    expect(mayBroadcast(s, class3a)).toEqual({ ok: true });
    expect(mayBroadcast(s, trinn3)).toEqual({ ok: false, reason: 'notYourClass' });
    expect(mayBroadcast(s, school)).toEqual({ ok: false, reason: 'notYourClass' });
    expect(mayBroadcast(staff({ roles: ['kontaktlaerer'], classIds: ['3b'] }), class3a)).toEqual({
      ok: false,
      reason: 'notYourClass',
    });
  });

  it('must-show 4: an FAU member of one class cannot broadcast to the whole school', () => {
    const nina = staff({ roles: ['fau'], fauScope: ['class:3a'] });
    expect(mayBroadcast(nina, class3a)).toEqual({ ok: true });
    expect(mayBroadcast(nina, school)).toEqual({ ok: false, reason: 'fauScope' });
    expect(mayBroadcast(nina, trinn3)).toEqual({ ok: false, reason: 'fauScope' });
  });

  it('lets an FAU member send to what their scope covers, and nothing without a scope', () => {
    const trinn = staff({ roles: ['fau'], fauScope: ['trinn:3'] });
    expect(mayBroadcast(trinn, trinn3)).toEqual({ ok: true });
    expect(mayBroadcast(trinn, class3a)).toEqual({ ok: true });
    expect(mayBroadcast(trinn, school)).toEqual({ ok: false, reason: 'fauScope' });
    expect(mayBroadcast(staff({ roles: ['fau'], fauScope: ['school'] }), school)).toEqual({ ok: true });
    expect(mayBroadcast(staff({ roles: ['fau'] }), class3a)).toEqual({
      ok: false,
      reason: 'fauScopeMissing',
    });
  });

  it('refuses other roles and unknown audiences', () => {
    expect(mayBroadcast(staff({ roles: ['aks-baseleder'] }), class3a)).toEqual({
      ok: false,
      reason: 'noRole',
    });
    expect(mayBroadcast(staff({ roles: ['rektor'] }), { ...class3a, classes: [] })).toEqual({
      ok: false,
      reason: 'unknownAudience',
    });
  });
});

describe('parseFauScope', () => {
  it('reads school, trinn:N and class:<id>, and nothing else', () => {
    expect(parseFauScope('school')).toEqual({ kind: 'school' });
    expect(parseFauScope('trinn:3')).toEqual({ kind: 'trinn', trinn: 3 });
    expect(parseFauScope('class:bjerkedalen-3a')).toEqual({ kind: 'class', classId: 'bjerkedalen-3a' });
    expect(parseFauScope('trinn:x')).toBeUndefined();
    expect(parseFauScope('everyone')).toBeUndefined();
  });
});
