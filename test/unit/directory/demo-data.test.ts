import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemoData } from '../../../src/directory/demo-data.ts';
import { loadDirectoryFolder } from '../../../src/directory/load.ts';
import type { DirectoryData } from '../../../src/directory/model.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const LOCALES = new Set(
  readdirSync(join(ROOT, 'locales'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name),
);
const temps: string[] = [];
const temp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'skolebro-demo-data-'));
  temps.push(dir);
  return dir;
};

/** Every file of a folder, by relative path. */
function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true }))
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      out[path.slice(dir.length + 1)] = readFileSync(path, 'utf8');
    }
  return out;
}

let dir: string;
let data: DirectoryData;

beforeAll(() => {
  dir = temp();
  generateDemoData(dir, { guardians: 500, seed: 'unit' });
  data = loadDirectoryFolder(dir);
});

afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

describe('generated demo district', () => {
  it('loads without problems', () => {
    expect(data.guardians).toHaveLength(500);
    expect(data.schools).toHaveLength(1);
    expect(data.pupils.length).toBeGreaterThan(350);
    expect(data.pupils.length).toBeLessThan(550);
  });

  it('is the same for the same seed and different for another', () => {
    const again = temp();
    generateDemoData(again, { guardians: 500, seed: 'unit' });
    expect(files(again)).toEqual(files(dir));
    const other = temp();
    generateDemoData(other, { guardians: 500, seed: 'other' });
    expect(files(other)['guardians.csv']).not.toEqual(files(dir)['guardians.csv']);
  });

  it('gives every pupil one or two known guardians, and some families several children', () => {
    const guardians = new Set(data.guardians.map((g) => g.id));
    for (const p of data.pupils) {
      expect(p.guardianIds.length).toBeGreaterThanOrEqual(1);
      expect(p.guardianIds.length).toBeLessThanOrEqual(2);
      for (const g of p.guardianIds) expect(guardians.has(g)).toBe(true);
    }
    expect(data.pupils.filter((p) => p.guardianIds.length === 1).length).toBeGreaterThan(20);
    const children = new Map<string, number>();
    for (const p of data.pupils) for (const g of p.guardianIds) children.set(g, (children.get(g) ?? 0) + 1);
    expect([...children.values()].filter((n) => n >= 2).length).toBeGreaterThan(50);
    // Every guardian has a child (the generator creates families, not loose adults).
    expect(children.size).toBe(500);
  });

  it('gives everyone a unique Norwegian mobile number, and some people several channels', () => {
    const phones = [...data.guardians, ...data.staff].map((p) => p.phone).filter(Boolean);
    expect(new Set(phones).size).toBe(phones.length);
    for (const g of data.guardians) expect(g.phone).toMatch(/^\+47[49]\d{7}$/);
    const channels = (g: (typeof data.guardians)[number]) =>
      [g.phone, g.slackId, g.teamsId, g.webLogin].filter(Boolean).length;
    expect(data.guardians.filter((g) => channels(g) >= 2).length).toBeGreaterThan(100);
    expect(data.guardians.some((g) => g.teamsId || g.slackId)).toBe(true);
    const logins = data.guardians.map((g) => g.webLogin).filter(Boolean);
    expect(new Set(logins).size).toBe(logins.length);
  });

  it('mixes languages as in Oslo: Norwegian for most, many others, all with locales', () => {
    const count = new Map<string, number>();
    for (const g of data.guardians) count.set(g.preferredLang, (count.get(g.preferredLang) ?? 0) + 1);
    for (const lang of count.keys()) expect(LOCALES.has(lang)).toBe(true);
    const nb = (count.get('nb') ?? 0) / data.guardians.length;
    expect(nb).toBeGreaterThan(0.5);
    expect(nb).toBeLessThan(0.8);
    expect(count.size).toBeGreaterThanOrEqual(10);
    for (const lang of ['so', 'ur', 'ar', 'pl']) expect(count.get(lang) ?? 0).toBeGreaterThan(5);
  });

  it('has trinn 1–10, a kontaktlærer per class, rektor, office and AKS baseleder', () => {
    const school = data.schools[0]?.id ?? '';
    expect([...new Set(data.classes.map((c) => c.trinn))].sort((a, b) => a - b)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    ]);
    for (const c of data.classes)
      expect(
        data.staff.filter((s) => s.roles.includes('kontaktlaerer') && s.classIds.includes(c.id)),
      ).toHaveLength(1);
    for (const role of ['rektor', 'office', 'aks-baseleder', 'fau'] as const)
      expect(data.staff.filter((s) => s.schoolId === school && s.roles.includes(role))).toHaveLength(1);
  });

  it('writes class calendars with foreldremøter and utviklingssamtaler, and a school year', () => {
    for (const c of data.classes) {
      const kinds = (data.classCalendars[c.id] ?? []).map((e) => e.kind);
      expect(kinds.filter((k) => k === 'foreldremote')).toHaveLength(2);
      expect(kinds.filter((k) => k === 'utviklingssamtale')).toHaveLength(2);
    }
    const year = data.schoolCalendars[data.schools[0]?.id ?? ''] ?? [];
    expect(year.find((e) => e.kind === 'school-start')).toMatchObject({ start: '2025-08-18' });
    expect(year.find((e) => e.title === 'Høstferie')).toMatchObject({
      start: '2025-09-29',
      end: '2025-10-04',
    });
    expect(year.find((e) => e.title === 'Vinterferie')).toMatchObject({ start: '2026-02-16' });
    expect(year.find((e) => e.kind === 'school-end')).toMatchObject({ start: '2026-06-19' });
  });

  it('spreads guardians over the schools asked for', () => {
    const out = temp();
    const summary = generateDemoData(out, { guardians: 600, schools: 3, seed: 'three' });
    const three = loadDirectoryFolder(out);
    expect(summary).toMatchObject({ schools: 3, guardians: 600, pupils: three.pupils.length });
    expect(three.schools).toHaveLength(3);
    for (const s of three.schools)
      expect(three.guardians.filter((g) => g.schoolId === s.id).length).toBeGreaterThan(80);
  });
});
