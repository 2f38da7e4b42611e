import type { Redis } from 'ioredis';
import type { ClassGroup, DirectoryData, Guardian, Pupil, Staff } from '../directory/model.ts';
import { directoryKeys } from '../directory/redis.ts';
import type { Audience, ResolvedAudience } from './model.ts';

/**
 * What a broadcast reads of the school register: staff (the sender and the teachers),
 * classes, and a school's pupils and guardians in batches. Folder data in memory, or the
 * Redis register that `skolebro import` wrote (read only, under `<prefix>:dir:`).
 */
export interface AudienceSource {
  staff(id: string): Promise<Staff | undefined>;
  /** Kontaktlærere of a school. */
  teachers(schoolId: string): Promise<Staff[]>;
  classById(id: string): Promise<ClassGroup | undefined>;
  classes(schoolId: string): Promise<ClassGroup[]>;
  /** The school's pupils in classes `classIds`, in register order, read `batch` at a time. */
  pupils(schoolId: string, classIds: ReadonlySet<string>, batch: number): Promise<Pupil[]>;
  guardians(ids: readonly string[]): Promise<Guardian[]>;
}

/**
 * An audience resolved against the register (pure): a school (its id; default the
 * sender's), a trinn of the sender's school (or `schoolId`), or one class.
 * A class of another school resolves to that school, so the permission check can refuse it.
 */
export function resolveAudience(
  audience: Audience,
  senderSchool: string,
  lookup: { classes: readonly ClassGroup[]; classById?: ClassGroup },
): ResolvedAudience {
  const pick = (list: readonly ClassGroup[]) => list.map((c) => ({ id: c.id, trinn: c.trinn }));
  if (audience.kind === 'school') {
    return { kind: 'school', id: audience.id, schoolId: audience.id, classes: pick(lookup.classes) };
  }
  if (audience.kind === 'trinn') {
    const trinn = Number(audience.id);
    const schoolId = audience.schoolId ?? senderSchool;
    return {
      kind: 'trinn',
      id: String(trinn),
      schoolId,
      classes: pick(lookup.classes.filter((c) => c.schoolId === schoolId && c.trinn === trinn)),
    };
  }
  const cls = lookup.classById;
  return {
    kind: 'class',
    id: audience.id,
    schoolId: cls?.schoolId ?? audience.schoolId ?? senderSchool,
    classes: cls ? pick([cls]) : [],
  };
}

/** The register as loaded from a folder (the demo, a pilot school). */
export class MemoryAudience implements AudienceSource {
  constructor(private readonly data: DirectoryData) {}

  async staff(id: string) {
    return this.data.staff.find((s) => s.id === id);
  }

  async teachers(schoolId: string) {
    return this.data.staff.filter((s) => s.schoolId === schoolId && s.roles.includes('kontaktlaerer'));
  }

  async classById(id: string) {
    return this.data.classes.find((c) => c.id === id);
  }

  async classes(schoolId: string) {
    return this.data.classes.filter((c) => c.schoolId === schoolId);
  }

  async pupils(schoolId: string, classIds: ReadonlySet<string>) {
    return this.data.pupils.filter((p) => p.schoolId === schoolId && classIds.has(p.classId));
  }

  async guardians(ids: readonly string[]) {
    const wanted = new Set(ids);
    const byId = new Map(this.data.guardians.filter((g) => wanted.has(g.id)).map((g) => [g.id, g]));
    return ids.map((id) => byId.get(id)).filter((g): g is Guardian => g !== undefined);
  }
}

/** The register in Redis (DIRECTORY=redis): records by id, and each school's row order. */
export class RedisAudience implements AudienceSource {
  private readonly keys: ReturnType<typeof directoryKeys>;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = directoryKeys(prefix);
  }

  async staff(id: string) {
    return parse<Staff>(await this.redis.hget(this.keys.records('staff'), id));
  }

  async teachers(schoolId: string) {
    const all = await this.records<Staff>('staff', await this.order(`staff:${schoolId}`), 500);
    return all.filter((s) => s.roles.includes('kontaktlaerer'));
  }

  async classById(id: string) {
    return parse<ClassGroup>(await this.redis.hget(this.keys.records('classes'), id));
  }

  async classes(schoolId: string) {
    return this.records<ClassGroup>('classes', await this.order(`classes:${schoolId}`), 500);
  }

  async pupils(schoolId: string, classIds: ReadonlySet<string>, batch: number) {
    const all = await this.records<Pupil>('pupils', await this.order(`pupils:${schoolId}`), batch);
    return all.filter((p) => classIds.has(p.classId));
  }

  async guardians(ids: readonly string[]) {
    return this.records<Guardian>('guardians', ids, 500);
  }

  private async order(field: string): Promise<string[]> {
    return parse<string[]>(await this.redis.hget(this.keys.order, field)) ?? [];
  }

  /** Records by id, `batch` per HMGET; missing ones left out. */
  private async records<T>(
    kind: 'staff' | 'classes' | 'pupils' | 'guardians',
    ids: readonly string[],
    batch: number,
  ) {
    const out: T[] = [];
    for (let i = 0; i < ids.length; i += batch) {
      const slice = ids.slice(i, i + batch);
      if (slice.length === 0) continue;
      for (const row of await this.redis.hmget(this.keys.records(kind), ...slice)) {
        const record = parse<T>(row);
        if (record) out.push(record);
      }
    }
    return out;
  }
}

function parse<T>(json: string | null | undefined): T | undefined {
  return json ? (JSON.parse(json) as T) : undefined;
}
