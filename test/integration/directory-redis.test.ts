import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemoData } from '../../src/directory/demo-data.ts';
import { type DirectoryReader, MemoryDirectory } from '../../src/directory/directory.ts';
import { applyImport, planImport } from '../../src/directory/import.ts';
import { loadDirectoryFolder } from '../../src/directory/load.ts';
import type { DirectoryData } from '../../src/directory/model.ts';
import { RedisDirectory } from '../../src/directory/redis.ts';
import type { Person, StaffTarget } from '../../src/engine/types.ts';
import { startRedis, type TestRedis, uniquePrefix } from '../helpers/redis-server.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const demo = loadDirectoryFolder(join(ROOT, 'examples/demo-school'));

let server: TestRedis;
let redis: Redis;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
}, 30_000);

afterAll(async () => {
  await redis?.quit();
  await server?.stop();
});

async function imported(data: DirectoryData): Promise<RedisDirectory> {
  const prefix = uniquePrefix('dir');
  await applyImport(redis, await planImport(redis, data, { prefix }));
  return new RedisDirectory(redis, { prefix });
}

/** Everyone the directory knows, as `identify` would return them, plus one stranger. */
async function everyone(dir: DirectoryReader, data: DirectoryData): Promise<Person[]> {
  const people: Person[] = [{ kind: 'anonymous', id: 'sms:+4799999999' }];
  for (const g of data.guardians) if (g.phone) people.push(await dir.identify('sms', g.phone));
  for (const s of data.staff) {
    const [channel, id] = s.webLogin ? (['web', s.webLogin] as const) : (['sms', s.phone ?? ''] as const);
    people.push(await dir.identify(channel, id));
  }
  return people;
}

/** Every role, the person's own children and one child that is not theirs. */
async function targets(dir: DirectoryReader, person: Person, data: DirectoryData): Promise<StaffTarget[]> {
  const children = (await dir.view(person)).children.map((c) => c.id);
  return [
    ...[...children, data.pupils.find((p) => !children.includes(p.id))?.id ?? ''].map((childId) => ({
      role: 'kontaktlaerer' as const,
      childId,
    })),
    { role: 'rektor' },
    { role: 'office' },
    { role: 'aks' },
  ];
}

const implementations: Array<[string, () => Promise<DirectoryReader>]> = [
  ['MemoryDirectory', async () => new MemoryDirectory(demo)],
  ['RedisDirectory', () => imported(demo)],
];

describe.each(implementations)('%s with the demo school', (_name, make) => {
  let dir: DirectoryReader;
  beforeAll(async () => {
    dir = await make();
  });

  it('identifies guardians and staff by every linked channel, strangers as anonymous', async () => {
    expect(await dir.identify('web', 'amina')).toEqual({
      kind: 'guardian',
      id: 'g-amina',
      name: 'Amina Hassan',
      preferredLang: 'so',
    });
    expect(await dir.identify('sms', '+4791000002')).toMatchObject({ kind: 'guardian', id: 'g-fatima' });
    expect(await dir.identify('web', 'ingrid')).toEqual({
      kind: 'staff',
      id: 't-ingrid',
      name: 'Ingrid Berg',
      roles: ['kontaktlaerer'],
      preferredLang: 'nb',
    });
    expect(await dir.identify('sms', '+4700000000')).toEqual({ kind: 'anonymous', id: 'sms:+4700000000' });
    expect(await dir.identify('slack', 'amina')).toEqual({ kind: 'anonymous', id: 'slack:amina' });
  });

  it('shows a guardian their children, classes, teachers and calendars', async () => {
    const view = await dir.view(await dir.identify('web', 'fatima'));
    expect(view.school).toMatchObject({ id: 'bjerkedalen', officePhone: '+4722000000', maxLeaveDays: 10 });
    expect(view.school.aksBaseleder).toEqual({ name: 'Mona Lie', phone: '+4790000020' });
    expect(view.children.map((c) => [c.firstName, c.className, c.trinn, c.teacher?.name])).toEqual([
      ['Ali', '3A', 3, 'Ingrid Berg'],
      ['Sara', '6A', 6, 'Sofie Haugen'],
    ]);
    expect(view.children[1]?.teacher).toEqual({
      id: 't-sofie',
      name: 'Sofie Haugen',
      email: 'sofie.haugen@bjerkedalen.example',
    });
    expect(view.children[0]?.events[0]).toMatchObject({
      kind: 'foreldremote',
      start: '2024-09-05T18:00:00+02:00',
    });
    expect(view.schoolCalendar.some((e) => e.title === 'Vinterferie')).toBe(true);
  });

  it('shows an unknown sender the school and no child', async () => {
    const view = await dir.view({ kind: 'anonymous', id: 'sms:+4799999999' });
    expect(view.school.id).toBe('bjerkedalen');
    expect(view.children).toEqual([]);
  });

  it('finds the staff for a target', async () => {
    const amina = await dir.identify('web', 'amina');
    expect(
      (await dir.staffFor(amina, { role: 'kontaktlaerer', childId: 'p-yusuf' })).map((s) => s.id),
    ).toEqual(['t-ingrid']);
    expect(await dir.staffFor(amina, { role: 'kontaktlaerer', childId: 'p-sara' })).toEqual([]);
    expect((await dir.staffFor(amina, { role: 'aks' })).map((s) => s.id)).toEqual(['s-mona']);
    expect((await dir.staffFor(amina, { role: 'rektor' }))[0]).toMatchObject({
      id: 's-per',
      phone: '+4790000010',
    });
  });

  it('returns a guardian record by id', async () => {
    expect(await dir.guardian('g-kari')).toMatchObject({ name: 'Kari Nordmann', email: 'kari@example.no' });
    expect(await dir.guardian('g-nobody')).toBeUndefined();
  });
});

describe('RedisDirectory answers exactly as MemoryDirectory', () => {
  async function compare(data: DirectoryData) {
    const memory = new MemoryDirectory(data);
    const red = await imported(data);
    const people = await everyone(memory, data);
    expect(await everyone(red, data)).toEqual(people);
    for (const g of data.guardians) expect(await red.guardian(g.id)).toEqual(await memory.guardian(g.id));
    for (const person of people) {
      expect(await red.view(person)).toEqual(await memory.view(person));
      for (const target of await targets(memory, person, data))
        expect(await red.staffFor(person, target)).toEqual(await memory.staffFor(person, target));
    }
  }

  it('for every person and target of the demo school', async () => {
    await compare(demo);
  });

  it('for a generated district of three schools', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skolebro-district-'));
    try {
      generateDemoData(dir, { guardians: 150, schools: 3, seed: 'equivalence' });
      const data = loadDirectoryFolder(dir);
      // A guardian with a child in another school; one phone on two guardians of a school
      // (the later row wins) and on a guardian and a teacher (staff wins).
      const [a, b] = data.schools;
      const other = data.classes.find((c) => c.schoolId === b?.id);
      const pupil = data.pupils.find((p) => p.schoolId === a?.id);
      if (!pupil || !other) throw new Error('generated district too small');
      data.pupils.push({ ...pupil, id: 'p-cross', schoolId: other.schoolId, classId: other.id });
      const [g1, g2] = data.guardians.filter((g) => g.schoolId === a?.id);
      const teacher = data.staff.find((s) => s.schoolId === a?.id && s.phone);
      if (!g1 || !g2 || !teacher) throw new Error('generated district too small');
      g2.phone = g1.phone;
      teacher.phone = data.guardians.at(-1)?.phone;
      await compare(data);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('RedisDirectory extras', () => {
  it('lists demo people with a web login and finds staff by id', async () => {
    const dir = await imported(demo);
    const people = await dir.demoPeople();
    expect(people).toHaveLength(12);
    expect(people[0]).toEqual({ login: 'amina', name: 'Amina Hassan', lang: 'so' });
    expect(await dir.demoPeople('bjerkedalen', 3)).toHaveLength(3);
    expect(await dir.demoPeople('no-such-school')).toEqual([]);
    expect(await dir.schoolIds()).toEqual(['bjerkedalen']);
    expect(await dir.staffById('s-mona')).toMatchObject({ name: 'Mona Lie', roles: ['aks-baseleder'] });
    expect(await dir.staffById('nobody')).toBeUndefined();
  });

  it('reads a school snapshot once and then only its etag', async () => {
    const dir = await imported(demo);
    const amina = await dir.identify('web', 'amina');
    await dir.view(amina);
    const monitor = await redis.monitor();
    const commands: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => commands.push(args[0]?.toLowerCase() ?? ''));
    await new Promise((r) => setTimeout(r, 50));
    await dir.view(amina);
    await new Promise((r) => setTimeout(r, 50));
    monitor.disconnect();
    expect(commands.sort()).toEqual(['get', 'get', 'hget', 'hget']);
  });

  it('throws when nothing was imported', async () => {
    const dir = new RedisDirectory(redis, { prefix: uniquePrefix('empty') });
    await expect(dir.view({ kind: 'anonymous', id: 'web:x' })).rejects.toThrow(/no school loaded/);
    expect(await dir.identify('web', 'amina')).toEqual({ kind: 'anonymous', id: 'web:amina' });
  });
});
