import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { CalendarEntry, ChildView, Person } from '../engine/types.ts';
import { schoolView } from './directory.ts';
import type { ClassGroup, DirectoryData, Guardian, Pupil, School, Staff } from './model.ts';
import {
  type ChildRef,
  type ClassCard,
  type DirectoryKeys,
  directoryKeys,
  IDENTITY_FIELDS,
  RECORD_KINDS,
  type RecordKind,
  results,
  type SchoolSnapshot,
} from './redis.ts';

/**
 * Loading a school-data folder into the Redis directory (see RedisDirectory for the keys).
 *
 * `planImport` reads what Redis holds, merges the folder into it (the folder wins for
 * every id it names; records it does not name stay, unless `prune` is set and they
 * belong to a school of the folder), derives everything readers need from the merged
 * register (identity index, child lists, per-school snapshots) and diffs all of it
 * against Redis. `applyImport` writes only that diff. So a re-import writes nothing,
 * the identity index cannot drift from the records (a changed phone's old link is a
 * field the diff deletes), and an import that died half-way is repaired by running
 * it again.
 */

export interface ImportOptions {
  /** REDIS_KEY_PREFIX; keys go under `<prefix>:dir:`. */
  prefix: string;
  /** Delete records of the folder's schools that the folder does not contain. */
  prune?: boolean;
}

export interface KindChanges {
  added: string[];
  updated: string[];
  unchanged: string[];
  /** Deleted by `prune`. */
  removed: string[];
  /** Of the folder's schools, in Redis but not in the folder, and left alone (no `prune`). */
  kept: string[];
}

type KeyWrite =
  | { type: 'hash'; key: string; set: Array<[string, string]>; del: string[] }
  | { type: 'string'; key: string; value: string | null };

export interface ImportPlan {
  prefix: string;
  prune: boolean;
  /** Schools of the folder, in its order. */
  schools: string[];
  changes: Record<RecordKind, KindChanges>;
  /** Not errors: e.g. one phone number linked to two people (the later row wins, as in memory). */
  warnings: string[];
  /** `generation` when planned; applying refuses if another import ran since. */
  generation: number;
  writes: KeyWrite[];
  /** Fields and keys `applyImport` will set or delete. */
  writeCount: number;
}

export interface ApplyResult {
  /** Fields and keys written or deleted. */
  written: number;
  commands: number;
}

/** The directory changed (or is being changed) under a plan. */
export class ImportConflictError extends Error {
  override name = 'ImportConflictError';
}

type PersonKind = 'classes' | 'staff' | 'guardians' | 'pupils';
const SCHOOL_KINDS: PersonKind[] = ['classes', 'staff', 'guardians', 'pupils'];

interface Register {
  schools: Map<string, School>;
  classes: Map<string, ClassGroup>;
  staff: Map<string, Staff>;
  guardians: Map<string, Guardian>;
  pupils: Map<string, Pupil>;
  /** `school:<id>` | `class:<id>` → entries. */
  calendars: Map<string, CalendarEntry[]>;
}

/** Stored form of each record: fixed field order, no undefined, nothing else. */
const canon = {
  schools: (s: School) => ({
    id: s.id,
    name: s.name,
    officePhone: s.officePhone,
    officeEmail: s.officeEmail,
    website: s.website,
    standard: s.standard,
    replyTimeDays: s.replyTimeDays,
    maxLeaveDays: s.maxLeaveDays,
  }),
  classes: (c: ClassGroup) => ({ id: c.id, schoolId: c.schoolId, trinn: c.trinn, name: c.name }),
  staff: (s: Staff) => ({
    id: s.id,
    schoolId: s.schoolId,
    name: s.name,
    roles: s.roles,
    classIds: s.classIds,
    preferredLang: s.preferredLang,
    phone: s.phone,
    email: s.email,
    slackId: s.slackId,
    teamsId: s.teamsId,
    webLogin: s.webLogin,
    fauScope: s.fauScope,
  }),
  guardians: (g: Guardian) => ({
    id: g.id,
    schoolId: g.schoolId,
    name: g.name,
    preferredLang: g.preferredLang,
    phone: g.phone,
    email: g.email,
    slackId: g.slackId,
    teamsId: g.teamsId,
    webLogin: g.webLogin,
  }),
  pupils: (p: Pupil) => ({
    id: p.id,
    schoolId: p.schoolId,
    firstName: p.firstName,
    lastName: p.lastName,
    classId: p.classId,
    guardianIds: p.guardianIds,
  }),
  calendars: (entries: CalendarEntry[]) =>
    entries.map((e) => ({
      kind: e.kind,
      title: e.title,
      start: e.start,
      end: e.end,
      allDay: e.allDay,
      location: e.location,
    })),
};

const json = (v: unknown) => JSON.stringify(v);

/** Reads Redis and works out what importing `data` would change. Writes nothing. */
export async function planImport(
  redis: Redis,
  data: DirectoryData,
  options: ImportOptions,
): Promise<ImportPlan> {
  const keys = directoryKeys(options.prefix);
  const prune = options.prune ?? false;
  // Read first: an import applied after this point bumps it and our apply refuses.
  const generation = Number((await redis.get(keys.generation)) ?? 0);

  const stored = new Map<string, Map<string, string>>();
  for (const key of [...RECORD_KINDS.map((k) => keys.records(k)), keys.order, keys.identity, keys.children])
    stored.set(key, await readHash(redis, key));
  const hash = (key: string) => stored.get(key) ?? new Map<string, string>();

  const folder = folderRegister(data);
  const imported = data.schools.map((s) => s.id);
  const { merged, texts, changes } = mergeRegisters(folder, new Set(imported), prune, hash, keys);
  const order = orderOf(merged, folder, parseOrder(hash(keys.order)), imported);
  const { desired, warnings } = derive(merged, texts, order, keys);

  const schoolIds = new Set([...hash(keys.records('schools')).keys(), ...merged.schools.keys()]);
  const strings = [keys.defaultSchool, ...[...schoolIds].flatMap((id) => [keys.snapshot(id), keys.etag(id)])];
  const reads = redis.pipeline();
  for (const key of strings) reads.get(key);
  const values = results(await reads.exec());
  const storedStrings = new Map(strings.map((key, i) => [key, values[i] ?? null]));

  const writes: KeyWrite[] = [];
  let writeCount = 0;
  for (const [key, want] of desired) {
    if (want instanceof Map) {
      const have = hash(key);
      const set = [...want].filter(([field, value]) => have.get(field) !== value);
      const del = [...have.keys()].filter((field) => !want.has(field));
      if (set.length || del.length) writes.push({ type: 'hash', key, set, del });
      writeCount += set.length + del.length;
    } else if (storedStrings.get(key) !== want) {
      writes.push({ type: 'string', key, value: want });
      writeCount += 1;
    }
  }
  for (const [key, value] of storedStrings)
    if (value !== null && !desired.has(key)) {
      writes.push({ type: 'string', key, value: null });
      writeCount += 1;
    }

  return {
    prefix: options.prefix,
    prune,
    schools: imported,
    changes,
    warnings,
    generation,
    writes,
    writeCount,
  };
}

/**
 * Writes a plan: sets first, deletions next, the etags that tell readers to refetch a
 * school's snapshot last, then bumps `generation`. Chunked and pipelined (an Oslo-size
 * first import is a few hundred thousand fields). Not one transaction: readers may see
 * a mix for the seconds it runs, and a crash is repaired by importing again.
 */
export async function applyImport(redis: Redis, plan: ImportPlan): Promise<ApplyResult> {
  if (plan.writes.length === 0) return { written: 0, commands: 0 };
  const keys = directoryKeys(plan.prefix);
  const token = randomUUID();
  if ((await redis.set(keys.lock, token, 'EX', 600, 'NX')) !== 'OK')
    throw new ImportConflictError('another import into this directory is running; try again when it is done');
  try {
    const now = Number((await redis.get(keys.generation)) ?? 0);
    if (now !== plan.generation)
      throw new ImportConflictError(
        'the directory was changed by another import since this plan was made; run the import again',
      );
    const isEtag = (key: string) => key.startsWith(`${keys.root}school:`) && key.endsWith(':etag');
    const writer = new ChunkedWriter(redis);
    for (const w of plan.writes) {
      if (w.type === 'hash')
        for (let i = 0; i < w.set.length; i += 1000) await writer.hset(w.key, w.set.slice(i, i + 1000));
      else if (w.value !== null && !isEtag(w.key))
        await writer.add((p) => p.set(w.key, w.value as string), 1);
    }
    for (const w of plan.writes) {
      if (w.type === 'hash')
        for (let i = 0; i < w.del.length; i += 1000) await writer.hdel(w.key, w.del.slice(i, i + 1000));
      else if (w.value === null && !isEtag(w.key)) await writer.add((p) => p.del(w.key), 1);
    }
    for (const w of plan.writes)
      if (w.type === 'string' && isEtag(w.key))
        await writer.add((p) => (w.value === null ? p.del(w.key) : p.set(w.key, w.value)), 1);
    await writer.add((p) => p.incr(keys.generation), 0);
    await writer.flush();
    return { written: writer.fields, commands: writer.commands };
  } finally {
    await redis.eval(
      "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0",
      1,
      keys.lock,
      token,
    );
  }
}

type Pipeline = ReturnType<Redis['pipeline']>;

/**
 * Queues commands and sends them in pipelines of bounded size, a few in flight at a
 * time (one connection keeps them in order; the bound keeps memory flat).
 */
class ChunkedWriter {
  private pipeline: Pipeline;
  private queued = 0;
  private bytes = 0;
  private inFlight: Array<Promise<void>> = [];
  fields = 0;
  commands = 0;

  constructor(private readonly redis: Redis) {
    this.pipeline = redis.pipeline();
  }

  hset(key: string, entries: Array<[string, string]>) {
    const args = entries.flat();
    const bytes = args.reduce((n, a) => n + a.length, 0);
    return this.add((p) => p.hset(key, ...args), entries.length, bytes);
  }

  hdel(key: string, fields: string[]) {
    return this.add((p) => p.hdel(key, ...fields), fields.length);
  }

  async add(command: (p: Pipeline) => unknown, fields: number, bytes = 64) {
    command(this.pipeline);
    this.queued += 1;
    this.commands += 1;
    this.fields += fields;
    this.bytes += bytes;
    if (this.queued < 50 && this.bytes < 4_000_000) return;
    this.inFlight.push(this.send());
    if (this.inFlight.length >= 4) await this.inFlight.shift();
  }

  async flush() {
    if (this.queued) this.inFlight.push(this.send());
    const all = this.inFlight;
    this.inFlight = [];
    await Promise.all(all);
  }

  private send(): Promise<void> {
    const batch = this.pipeline;
    this.pipeline = this.redis.pipeline();
    this.queued = 0;
    this.bytes = 0;
    const sent = batch.exec().then((replies) => {
      results(replies);
    });
    sent.catch(() => {}); // awaited later; this keeps it from counting as unhandled meanwhile
    return sent;
  }
}

async function readHash(redis: Redis, key: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, flat] = await redis.hscan(key, cursor, 'COUNT', 10_000);
    for (let i = 0; i + 1 < flat.length; i += 2) out.set(flat[i] as string, flat[i + 1] as string);
    cursor = next;
  } while (cursor !== '0');
  return out;
}

function folderRegister(data: DirectoryData): Register {
  const byId = <T extends { id: string }>(rows: T[]) => new Map(rows.map((r) => [r.id, r]));
  return {
    schools: byId(data.schools),
    classes: byId(data.classes),
    staff: byId(data.staff),
    guardians: byId(data.guardians),
    pupils: byId(data.pupils),
    calendars: new Map([
      ...Object.entries(data.schoolCalendars).map(([id, e]) => [`school:${id}`, e] as const),
      ...Object.entries(data.classCalendars).map(([id, e]) => [`class:${id}`, e] as const),
    ]),
  };
}

function emptyChanges(): KindChanges {
  return { added: [], updated: [], unchanged: [], removed: [], kept: [] };
}

/**
 * The register after the import: the folder's records, and the stored ones it does
 * not name (minus those `prune` removes). Stored records are parsed only when kept.
 * `texts` holds each merged record's stored form.
 */
function mergeRegisters(
  folder: Register,
  imported: Set<string>,
  prune: boolean,
  hash: (key: string) => Map<string, string>,
  keys: DirectoryKeys,
): {
  merged: Register;
  texts: Record<RecordKind, Map<string, string>>;
  changes: Record<RecordKind, KindChanges>;
} {
  const changes = Object.fromEntries(RECORD_KINDS.map((k) => [k, emptyChanges()])) as Record<
    RecordKind,
    KindChanges
  >;
  const texts = {} as Record<RecordKind, Map<string, string>>;
  const merged = {} as Register;
  const mergeKind = <T>(kind: RecordKind, owner: (id: string, record: T) => string | undefined) => {
    const fresh = folder[kind] as Map<string, T>;
    const stored = hash(keys.records(kind));
    const out = new Map<string, T>();
    const text = new Map<string, string>();
    for (const [id, was] of stored) {
      if (fresh.has(id)) continue;
      const record = JSON.parse(was) as T;
      const school = owner(id, record);
      if (school !== undefined && imported.has(school)) {
        if (prune) {
          changes[kind].removed.push(id);
          continue;
        }
        changes[kind].kept.push(id);
      }
      out.set(id, record);
      text.set(id, was);
    }
    for (const [id, record] of fresh) {
      const now = json(canonical(kind, record));
      const was = stored.get(id);
      if (was === undefined) changes[kind].added.push(id);
      else if (was === now) changes[kind].unchanged.push(id);
      else changes[kind].updated.push(id);
      out.set(id, record);
      text.set(id, now);
    }
    changes[kind].removed.sort();
    changes[kind].kept.sort();
    (merged as unknown as Record<RecordKind, Map<string, T>>)[kind] = out;
    texts[kind] = text;
  };
  mergeKind<School>('schools', () => undefined); // schools are never pruned
  for (const kind of SCHOOL_KINDS) mergeKind<{ schoolId: string }>(kind, (_id, r) => r.schoolId);
  const classSchool = new Map(
    [...hash(keys.records('classes'))].map(([id, v]) => [id, (JSON.parse(v) as ClassGroup).schoolId]),
  );
  mergeKind<CalendarEntry[]>('calendars', (id) => {
    const [type, owner = ''] = splitOnce(id);
    return type === 'school' ? owner : (merged.classes.get(owner)?.schoolId ?? classSchool.get(owner));
  });
  return { merged, texts, changes };
}

function canonical(kind: RecordKind, record: unknown): unknown {
  return (canon[kind] as (r: unknown) => unknown)(record);
}

function splitOnce(id: string): [string, string] {
  const i = id.indexOf(':');
  return [id.slice(0, i), id.slice(i + 1)];
}

function parseOrder(stored: Map<string, string>): Map<string, string[]> {
  return new Map([...stored].map(([field, v]) => [field, JSON.parse(v) as string[]]));
}

interface Order {
  schools: string[];
  /** kind → school id → record ids, in row order. */
  lists: Record<PersonKind, Map<string, string[]>>;
  /** Every record of a kind: schools in order, rows in order within a school. */
  all: { classes: ClassGroup[]; staff: Staff[]; guardians: Guardian[]; pupils: Pupil[] };
}

/**
 * Row order of the merged register, which decides ties as MemoryDirectory's array
 * order does: a school's rows keep the order of the folder that last imported it
 * (rows kept from earlier imports after them); schools keep the order they were first
 * imported in. Deterministic, so a re-import is a no-op.
 */
function orderOf(
  merged: Register,
  folder: Register,
  stored: Map<string, string[]>,
  importedOrder: string[],
): Order {
  const known = (stored.get('schools') ?? []).filter((id) => merged.schools.has(id));
  const schools = [...new Set([...known, ...importedOrder, ...[...merged.schools.keys()].sort()])];
  const lists = {} as Order['lists'];
  const all = {} as Record<PersonKind, Array<{ id: string; schoolId: string }>>;
  for (const kind of SCHOOL_KINDS) {
    const records = merged[kind] as Map<string, { id: string; schoolId: string }>;
    const bySchool = new Map<string, string[]>();
    const placed = new Set<string>();
    const place = (id: string) => {
      const record = records.get(id);
      if (!record || placed.has(id)) return;
      placed.add(id);
      const list = bySchool.get(record.schoolId) ?? [];
      list.push(id);
      bySchool.set(record.schoolId, list);
    };
    for (const id of folder[kind].keys()) place(id);
    for (const [field, ids] of stored) {
      if (!field.startsWith(`${kind}:`)) continue;
      const schoolId = field.slice(kind.length + 1);
      for (const id of ids) if (records.get(id)?.schoolId === schoolId) place(id);
    }
    for (const id of [...records.keys()].sort()) place(id);
    lists[kind] = bySchool;
    const others = [...bySchool.keys()].filter((s) => !merged.schools.has(s)).sort();
    all[kind] = [...schools, ...others].flatMap((s) =>
      (bySchool.get(s) ?? []).map((id) => records.get(id) as { id: string; schoolId: string }),
    );
  }
  return { schools, lists, all: all as unknown as Order['all'] };
}

/** What every directory key should hold for this register: hashes as Maps, strings as strings. */
function derive(
  merged: Register,
  texts: Record<RecordKind, Map<string, string>>,
  order: Order,
  keys: DirectoryKeys,
): { desired: Map<string, Map<string, string> | string>; warnings: string[] } {
  const desired = new Map<string, Map<string, string> | string>();
  const warnings: string[] = [];

  for (const kind of RECORD_KINDS) desired.set(keys.records(kind), texts[kind]);

  const orderHash = new Map<string, string>([['schools', json(order.schools)]]);
  for (const kind of SCHOOL_KINDS)
    for (const [schoolId, ids] of order.lists[kind]) orderHash.set(`${kind}:${schoolId}`, json(ids));
  desired.set(keys.order, orderHash);

  // Guardians first, then staff, each in row order, later rows winning: MemoryDirectory's rule.
  const identity = new Map<string, string>();
  const owner = new Map<string, string>();
  const link = (who: Guardian | Staff, label: string, person: Person) => {
    for (const [channel, field] of Object.entries(IDENTITY_FIELDS)) {
      const value = who[field];
      if (!value) continue;
      const key = `${channel}:${value}`;
      const previous = owner.get(key);
      if (previous && previous !== label)
        warnings.push(`identity ${key} belongs to both ${previous} and ${label}; it is linked to ${label}`);
      owner.set(key, label);
      identity.set(key, json(person));
    }
  };
  for (const g of order.all.guardians)
    link(g, `guardian ${g.id}`, { kind: 'guardian', id: g.id, name: g.name, preferredLang: g.preferredLang });
  for (const s of order.all.staff)
    link(s, `staff ${s.id}`, {
      kind: 'staff',
      id: s.id,
      name: s.name,
      roles: s.roles,
      preferredLang: s.preferredLang,
    });
  desired.set(keys.identity, identity);

  const children = new Map<string, ChildRef[]>();
  for (const p of order.all.pupils) {
    const school = merged.classes.get(p.classId)?.schoolId;
    for (const guardianId of new Set(p.guardianIds)) {
      if (!merged.guardians.has(guardianId)) continue;
      const list = children.get(guardianId) ?? [];
      list.push({ id: p.id, firstName: p.firstName, classId: p.classId, ...(school ? { school } : {}) });
      children.set(guardianId, list);
    }
  }
  desired.set(keys.children, new Map([...children].map(([id, refs]) => [id, json(refs)])));

  const teachers = new Map<string, NonNullable<ChildView['teacher']>>();
  for (const s of order.all.staff) {
    if (!s.roles.includes('kontaktlaerer')) continue;
    for (const classId of s.classIds)
      if (!teachers.has(classId))
        teachers.set(classId, {
          id: s.id,
          name: s.name,
          ...(s.email ? { email: s.email } : {}),
          ...(s.phone ? { phone: s.phone } : {}),
        });
  }
  for (const schoolId of order.schools) {
    const school = merged.schools.get(schoolId) as School;
    const staff = (order.lists.staff.get(schoolId) ?? []).map((id) => merged.staff.get(id) as Staff);
    const aks = staff.find((s) => s.roles.includes('aks-baseleder'));
    const view = schoolView(school, aks);
    const classes: Record<string, ClassCard> = {};
    for (const classId of order.lists.classes.get(schoolId) ?? []) {
      const c = merged.classes.get(classId) as ClassGroup;
      const teacher = teachers.get(classId);
      classes[classId] = {
        name: c.name,
        trinn: c.trinn,
        ...(teacher ? { teacher } : {}),
        events: canon.calendars(merged.calendars.get(`class:${classId}`) ?? []),
      };
    }
    const snapshot: SchoolSnapshot = {
      school: view,
      schoolCalendar: canon.calendars(merged.calendars.get(`school:${schoolId}`) ?? []),
      classes,
      staff: staff.map((s) => canon.staff(s) as Staff),
    };
    const text = json(snapshot);
    desired.set(keys.snapshot(schoolId), text);
    desired.set(keys.etag(schoolId), createHash('sha1').update(text).digest('base64url').slice(0, 16));
  }
  const first = order.schools[0];
  if (first) desired.set(keys.defaultSchool, first);
  return { desired, warnings };
}
