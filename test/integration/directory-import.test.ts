import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyImport, ImportConflictError, planImport } from '../../src/directory/import.ts';
import { DirectoryImportError, loadDirectoryFolder } from '../../src/directory/load.ts';
import { RedisDirectory } from '../../src/directory/redis.ts';
import { startRedis, type TestRedis, uniquePrefix } from '../helpers/redis-server.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const DEMO = join(ROOT, 'examples/demo-school');

let server: TestRedis;
let redis: Redis;
const temps: string[] = [];

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
}, 30_000);

afterAll(async () => {
  await redis?.quit();
  await server?.stop();
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the demo folder to edit. */
function demoCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'skolebro-import-'));
  temps.push(dir);
  cpSync(DEMO, dir, { recursive: true });
  return dir;
}

function editCsv(dir: string, file: string, edit: (lines: string[]) => string[]) {
  const path = join(dir, file);
  writeFileSync(path, edit(readFileSync(path, 'utf8').split('\n')).join('\n'));
}

/** Every key under the prefix with its type and value, in a stable order. */
async function dump(prefix: string): Promise<Record<string, unknown>> {
  const keys = (await redis.keys(`${prefix}:*`)).sort();
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const type = await redis.type(key);
    if (type === 'string') out[key] = [type, await redis.get(key)];
    else if (type === 'hash') out[key] = [type, Object.entries(await redis.hgetall(key)).sort()];
    else out[key] = [type, 'unexpected type'];
  }
  return out;
}

async function importDir(dir: string, prefix: string, prune = false) {
  const plan = await planImport(redis, loadDirectoryFolder(dir), { prefix, prune });
  await applyImport(redis, plan);
  return plan;
}

describe('importing a school-data folder into Redis', () => {
  it('loads the demo school so that identify and view work', async () => {
    const prefix = uniquePrefix('imp');
    const plan = await importDir(DEMO, prefix);
    expect(plan.changes.guardians.added).toHaveLength(12);
    expect(plan.changes.pupils.added).toHaveLength(13);
    expect(plan.changes.calendars.added.sort()).toEqual([
      'class:bjerkedalen-3a',
      'class:bjerkedalen-3b',
      'class:bjerkedalen-6a',
      'school:bjerkedalen',
    ]);
    const dir = new RedisDirectory(redis, { prefix });
    const amina = await dir.identify('sms', '+4791000001');
    expect(amina).toMatchObject({ kind: 'guardian', id: 'g-amina' });
    const view = await dir.view(amina);
    expect(view.children).toMatchObject([
      { firstName: 'Yusuf', className: '3A', teacher: { name: 'Ingrid Berg' } },
    ]);
    expect(Object.keys(await dump(prefix)).every((k) => k.startsWith(`${prefix}:dir:`))).toBe(true);
  });

  it('is idempotent: a second import writes nothing and leaves identical state', async () => {
    const prefix = uniquePrefix('idem');
    await importDir(DEMO, prefix);
    const first = await dump(prefix);
    const again = await planImport(redis, loadDirectoryFolder(DEMO), { prefix });
    expect(again.writeCount).toBe(0);
    expect(again.changes.guardians).toMatchObject({ added: [], updated: [], removed: [], kept: [] });
    expect(again.changes.guardians.unchanged).toHaveLength(12);
    await applyImport(redis, again);
    expect(await dump(prefix)).toEqual(first);
  });

  it('rejects a malformed folder with file:line problems before touching Redis', async () => {
    const prefix = uniquePrefix('bad');
    await importDir(DEMO, prefix);
    const before = await dump(prefix);
    const dir = demoCopy();
    editCsv(dir, 'guardians.csv', (lines) => {
      lines[2] = 'g-fatima,bjerkedalen,Fatima Khan,ur,0047 91 00 00 02,,,,fatima';
      lines[4] = 'g-anna,bjerkedalen,Anna Kowalska,pl';
      lines[5] = 'g-tesfay,bjerkedalen,Tesfay,ti,+4791000005,,,,tesfay,extra';
      return lines;
    });
    editCsv(dir, 'pupils.csv', (lines) => [
      ...lines.slice(0, -1),
      'p-new,bjerkedalen,New,Pupil,bjerkedalen-9z,g-amina',
      '',
    ]);
    let problems: string[] = [];
    try {
      loadDirectoryFolder(dir);
    } catch (err) {
      expect(err).toBeInstanceOf(DirectoryImportError);
      problems = (err as DirectoryImportError).problems;
    }
    expect(problems).toEqual([
      'guardians.csv:3: phone: phone must be E.164, e.g. +4791234567',
      'guardians.csv:5: expected 9 fields, found 4',
      'guardians.csv:6: expected 9 fields, found 10',
      'pupils.csv: p-new: class_id "bjerkedalen-9z" is not defined',
    ]);
    expect(await dump(prefix)).toEqual(before);
  });

  it('plans without writing (dry run)', async () => {
    const prefix = uniquePrefix('dry');
    await importDir(DEMO, prefix);
    const before = await dump(prefix);
    const dir = demoCopy();
    editCsv(dir, 'guardians.csv', (lines) =>
      lines.map((l) => l.replace('Kari Nordmann', 'Kari Nordmann-Berg')),
    );
    const plan = await planImport(redis, loadDirectoryFolder(dir), { prefix, prune: true });
    expect(plan.changes.guardians.updated).toEqual(['g-kari']);
    expect(plan.writeCount).toBeGreaterThan(0);
    expect(await dump(prefix)).toEqual(before);
  });

  it('keeps records missing from the folder unless asked to prune, then removes only those listed', async () => {
    const prefix = uniquePrefix('prune');
    await importDir(DEMO, prefix);
    const dir = demoCopy();
    editCsv(dir, 'guardians.csv', (lines) => lines.filter((l) => !l.startsWith('g-john,')));
    editCsv(dir, 'pupils.csv', (lines) => lines.filter((l) => !l.startsWith('p-emma,')));
    const reader = new RedisDirectory(redis, { prefix });

    const kept = await importDir(dir, prefix);
    expect(kept.changes.guardians.kept).toEqual(['g-john']);
    expect(kept.changes.pupils.kept).toEqual(['p-emma']);
    expect(kept.writeCount).toBe(0);
    expect(await reader.identify('web', 'john')).toMatchObject({ kind: 'guardian', id: 'g-john' });

    const before = await dump(prefix);
    const dry = await planImport(redis, loadDirectoryFolder(dir), { prefix, prune: true });
    expect(await dump(prefix)).toEqual(before);
    const removed = Object.fromEntries(Object.entries(dry.changes).map(([kind, c]) => [kind, c.removed]));
    expect(removed).toEqual({
      schools: [],
      classes: [],
      staff: [],
      guardians: ['g-john'],
      pupils: ['p-emma'],
      calendars: [],
    });
    await applyImport(redis, dry);

    expect(await redis.hkeys(`${prefix}:dir:guardians`)).not.toContain('g-john');
    expect(await redis.hkeys(`${prefix}:dir:pupils`)).not.toContain('p-emma');
    expect(await redis.hlen(`${prefix}:dir:guardians`)).toBe(11);
    expect(await redis.hlen(`${prefix}:dir:pupils`)).toBe(12);
    expect(await reader.identify('web', 'john')).toEqual({ kind: 'anonymous', id: 'web:john' });
    expect(await reader.identify('sms', '+4791000012')).toMatchObject({ kind: 'anonymous' });
    expect(await redis.hexists(`${prefix}:dir:children`, 'g-john')).toBe(0);
    // Everything else is as a fresh import of the smaller folder would leave it.
    const fresh = uniquePrefix('fresh');
    await importDir(dir, fresh);
    const rename = (d: Record<string, unknown>, p: string) =>
      Object.fromEntries(
        Object.entries(d)
          .filter(([k]) => !k.endsWith(':generation'))
          .map(([k, v]) => [k.slice(p.length), v]),
      );
    expect(rename(await dump(prefix), prefix)).toEqual(rename(await dump(fresh), fresh));
  });

  it('moves the identity link when a guardian’s phone changes, and views follow edits', async () => {
    const prefix = uniquePrefix('phone');
    await importDir(DEMO, prefix);
    const reader = new RedisDirectory(redis, { prefix });
    const amina = await reader.identify('sms', '+4791000001');
    expect((await reader.view(amina)).children[0]?.teacher?.name).toBe('Ingrid Berg'); // now cached

    const dir = demoCopy();
    editCsv(dir, 'guardians.csv', (lines) => lines.map((l) => l.replace('+4791000001', '+4791999001')));
    editCsv(dir, 'staff.csv', (lines) => lines.map((l) => l.replace('Ingrid Berg', 'Ingrid Berg Aas')));
    const plan = await importDir(dir, prefix);
    expect(plan.changes.guardians.updated).toEqual(['g-amina']);
    expect(plan.changes.staff.updated).toEqual(['t-ingrid']);

    expect(await reader.identify('sms', '+4791000001')).toEqual({ kind: 'anonymous', id: 'sms:+4791000001' });
    expect(await reader.identify('sms', '+4791999001')).toMatchObject({ kind: 'guardian', id: 'g-amina' });
    expect(await reader.identify('web', 'amina')).toMatchObject({ kind: 'guardian', id: 'g-amina' });
    expect((await reader.view(amina)).children[0]?.teacher?.name).toBe('Ingrid Berg Aas');
  });

  it('keeps other schools when a folder with another school is imported', async () => {
    const prefix = uniquePrefix('two');
    await importDir(DEMO, prefix);
    const dir = demoCopy();
    // The same register as a second school: other ids, logins and phones.
    const rename = (file: string, edit: (line: string) => string) =>
      editCsv(dir, file, (lines) =>
        lines.map((l, i) => (i === 0 ? l : edit(l.replaceAll('bjerkedalen', 'fjellvik')))),
      );
    rename('schools.csv', (l) => l);
    rename('classes.csv', (l) => l);
    rename('staff.csv', (l) =>
      l
        .replace(/^(\w)-/, '$1-f-')
        .replace(/,(\w+)$/, ',$1-f')
        .replace('+4790', '+4740'),
    );
    rename('guardians.csv', (l) =>
      l
        .replace(/^g-/, 'g-f-')
        .replace(/,(\w+)$/, ',$1-f')
        .replace('+4791', '+4741'),
    );
    rename('pupils.csv', (l) => l.replace(/^p-/, 'p-f-').replaceAll('g-', 'g-f-'));
    rmSync(join(dir, 'calendar'), { recursive: true });
    const plan = await importDir(dir, prefix, true);
    expect(plan.changes.guardians.added).toHaveLength(12);
    expect(plan.changes.guardians.removed).toEqual([]);

    const reader = new RedisDirectory(redis, { prefix });
    expect(await reader.schoolIds()).toEqual(['bjerkedalen', 'fjellvik']);
    const amina = await reader.identify('web', 'amina');
    expect((await reader.view(amina)).school.id).toBe('bjerkedalen');
    const other = await reader.identify('web', 'amina-f');
    expect(other).toMatchObject({ kind: 'guardian', id: 'g-f-amina' });
    expect((await reader.view(other)).children).toMatchObject([{ classId: 'fjellvik-3a', className: '3A' }]);
    expect((await reader.view({ kind: 'anonymous', id: 'web:x' })).school.id).toBe('bjerkedalen');
  });

  it('refuses to apply a plan made before another import', async () => {
    const prefix = uniquePrefix('race');
    await importDir(DEMO, prefix);
    const dir = demoCopy();
    editCsv(dir, 'guardians.csv', (lines) => lines.map((l) => l.replace('Kari Nordmann', 'Kari N.')));
    const late = await planImport(redis, loadDirectoryFolder(dir), { prefix });
    await redis.incr(`${prefix}:dir:generation`); // as another import would
    const before = await dump(prefix);
    await expect(applyImport(redis, late)).rejects.toBeInstanceOf(ImportConflictError);
    expect(await dump(prefix)).toEqual(before);
    expect(await redis.exists(`${prefix}:dir:import-lock`)).toBe(0);
  });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The test's environment with these changes; `undefined` unsets a variable. */
function environment(changes: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent' };
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

function cli(args: string[], env: Record<string, string | undefined>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'bin/skolebro.js'), ...args],
      { cwd: ROOT, env: environment(env), timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('skolebro import / queues / demo-data', { timeout: 60_000 }, () => {
  it('imports a folder, then reports it unchanged; --dry-run and bad data write nothing', async () => {
    const prefix = uniquePrefix('cli');
    const env = { REDIS_URL: server.url, REDIS_KEY_PREFIX: prefix };
    const first = await cli(['import', DEMO], env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/guardians\s+12\s+0\s+0\s+0\s+0/);
    expect(first.stdout).toMatch(/field\(s\) written/);
    const state = await dump(prefix);

    const dir = demoCopy();
    editCsv(dir, 'guardians.csv', (lines) => lines.filter((l) => !l.startsWith('g-john,')));
    editCsv(dir, 'pupils.csv', (lines) => lines.filter((l) => !l.startsWith('p-emma,')));
    const dry = await cli(['import', dir, '--dry-run', '--prune'], env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^dry run:/);
    expect(dry.stdout).toMatch(/guardians\s+0\s+0\s+11\s+1\s+0/);
    expect(dry.stdout).toContain('would remove guardians: g-john');
    expect(dry.stdout).toContain('nothing written');
    expect(await dump(prefix)).toEqual(state);

    const json = await cli(['import', DEMO, '--json'], env);
    expect(JSON.parse(json.stdout)).toMatchObject({
      dryRun: false,
      writes: 0,
      changes: { pupils: { unchanged: 13 } },
    });
    expect(await dump(prefix)).toEqual(state);

    editCsv(dir, 'guardians.csv', (lines) => {
      lines[1] = 'g-amina,bjerkedalen,Amina Hassan,so,+47 910 00 001,,,,amina';
      return lines;
    });
    const bad = await cli(['import', dir], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('guardians.csv:2: phone: phone must be E.164');
    expect(await dump(prefix)).toEqual(state);
  });

  it('says so when REDIS_URL is not set', async () => {
    const run = await cli(['import', DEMO], { REDIS_URL: undefined });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('REDIS_URL is not set');
  });

  it('generates a district that imports cleanly', async () => {
    const out = mkdtempSync(join(tmpdir(), 'skolebro-demo-'));
    temps.push(out);
    const gen = await cli(
      ['demo-data', '--guardians', '300', '--schools', '2', '--seed', 'cli', '--out', out, '--force'],
      {},
    );
    expect(gen.code).toBe(0);
    expect(gen.stdout).toMatch(/2 schools, \d+ classes, \d+ staff, 300 guardians/);
    const prefix = uniquePrefix('gen');
    const run = await cli(['import', out, '--json'], { REDIS_URL: server.url, REDIS_KEY_PREFIX: prefix });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).changes.guardians.added).toBe(300);
  });

  it('shows queue depths and dead letters as JSON', async () => {
    const prefix = uniquePrefix('q');
    const letter = {
      queue: 'inbound-3',
      jobId: 'web-m1',
      name: 'turn',
      reason: 'job_schema: bad',
      at: '2025-09-01T08:00:00.000Z',
    };
    await redis.lpush(`{${prefix}}:dead-letter`, JSON.stringify(letter));
    const run = await cli(['queues', '--json'], {
      REDIS_URL: server.url,
      REDIS_KEY_PREFIX: prefix,
      INBOUND_PARTITIONS: '4',
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.queues.filter((q: { queue: string }) => q.queue.startsWith('inbound-'))).toHaveLength(4);
    expect(report.queues[0]).toEqual({ queue: 'inbound-0', waiting: 0, active: 0, delayed: 0, failed: 0 });
    expect(report.deadLetter).toBe(1);
    expect(report.deadLetters).toEqual([letter]);
    const text = await cli(['queues'], {
      REDIS_URL: server.url,
      REDIS_KEY_PREFIX: prefix,
      INBOUND_PARTITIONS: '4',
    });
    expect(text.stdout).toContain('dead letters: 1');
    expect(text.stdout).toContain('job_schema: bad');
  });
});
