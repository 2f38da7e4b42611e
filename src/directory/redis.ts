import type { Redis } from 'ioredis';
import type { CalendarEntry, ChildView, DirectoryView, Person, StaffTarget } from '../engine/types.ts';
import type { DirectoryReader, IdentityChannel } from './directory.ts';
import type { Guardian, Identities, Staff } from './model.ts';

/** Same mapping as MemoryDirectory's; typed so that a new channel fails to compile here until mapped. */
export const IDENTITY_FIELDS: Record<IdentityChannel, keyof Identities> = {
  web: 'webLogin',
  sms: 'phone',
  slack: 'slackId',
  teams: 'teamsId',
};

export const RECORD_KINDS = ['schools', 'classes', 'staff', 'guardians', 'pupils', 'calendars'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

/**
 * Every directory key, under `<prefix>:dir:`. No hash tag, so on Redis Cluster the
 * keys spread over slots; no command or script touches two of them at once.
 *
 * - `schools|classes|staff|guardians|pupils` hash id → record JSON (what the folder said)
 * - `calendars` hash `school:<id>` | `class:<id>` → CalendarEntry[] JSON
 * - `order` hash `schools` | `<kind>:<school id>` → id[] JSON: the folder's row order,
 *   which decides ties the same way MemoryDirectory's array order does
 * - `identity` hash `<channel>:<platform id>` → Person JSON (one HGET per `identify`)
 * - `children` hash guardian id → ChildRef[] JSON
 * - `school:<id>:snapshot` / `school:<id>:etag` what `view` and `staffFor` need of a school
 * - `default-school` the school an unknown sender is answered for (the first one)
 * - `generation` bumped by every import that wrote something; `import-lock` while one runs
 */
export function directoryKeys(prefix: string) {
  const d = `${prefix}:dir:`;
  return {
    root: d,
    records: (kind: RecordKind) => `${d}${kind}`,
    order: `${d}order`,
    identity: `${d}identity`,
    children: `${d}children`,
    defaultSchool: `${d}default-school`,
    snapshot: (schoolId: string) => `${d}school:${schoolId}:snapshot`,
    etag: (schoolId: string) => `${d}school:${schoolId}:etag`,
    generation: `${d}generation`,
    lock: `${d}import-lock`,
  };
}
export type DirectoryKeys = ReturnType<typeof directoryKeys>;

/** A guardian's child as stored under `children`; `school` is the school of the child's class. */
export interface ChildRef {
  id: string;
  firstName: string;
  classId: string;
  school?: string;
}

export interface ClassCard {
  name: string;
  trinn: number;
  teacher?: ChildView['teacher'];
  events: CalendarEntry[];
}

/** Everything `view` and `staffFor` need of one school, derived at import time. */
export interface SchoolSnapshot {
  school: DirectoryView['school'];
  schoolCalendar: CalendarEntry[];
  classes: Record<string, ClassCard>;
  /** The school's staff in folder order. */
  staff: Staff[];
}

export interface DemoPerson {
  login: string;
  name: string;
  lang: string;
}

/**
 * The school register in Redis, written by `skolebro import` (src/directory/import.ts).
 * Behaves like MemoryDirectory for the same data.
 *
 * Per turn: `identify` is one HGET. `view` is two round trips: the guardian's record
 * and child list (one pipeline), then one GET of the etag of each school involved
 * (normally one). The school part of a view (school, AKS, calendars, class cards with
 * teacher and events, staff) is a per-school snapshot cached in this process and
 * fetched again only when its etag changed. Why not a single directory-wide version:
 * an import of one school would then make every worker refetch all 143 snapshots;
 * why not fetch the snapshot every turn: it is tens of kB per school, the etag 16 bytes.
 * The cache holds at most one snapshot per school (≈ 60 kB each at Oslo scale).
 */
export class RedisDirectory implements DirectoryReader {
  private readonly keys: DirectoryKeys;
  private readonly cache = new Map<string, { etag: string; snapshot: SchoolSnapshot }>();

  constructor(
    private readonly redis: Redis,
    options: { prefix: string },
  ) {
    this.keys = directoryKeys(options.prefix);
  }

  async identify(channel: IdentityChannel, platformId: string): Promise<Person> {
    const found = await this.redis.hget(this.keys.identity, `${channel}:${platformId}`);
    return found ? (JSON.parse(found) as Person) : { kind: 'anonymous', id: `${channel}:${platformId}` };
  }

  async guardian(id: string): Promise<Guardian | undefined> {
    return parse<Guardian>(await this.redis.hget(this.keys.records('guardians'), id));
  }

  async staffById(id: string): Promise<Staff | undefined> {
    return parse<Staff>(await this.redis.hget(this.keys.records('staff'), id));
  }

  async view(person: Person): Promise<DirectoryView> {
    return (await this.resolve(person)).view;
  }

  async staffFor(person: Person, target: StaffTarget): Promise<Staff[]> {
    const { view, snapshot } = await this.resolve(person);
    if (target.role === 'kontaktlaerer') {
      const child = view.children.find((c) => c.id === target.childId);
      return child
        ? snapshot.staff.filter(
            (s) => s.roles.includes('kontaktlaerer') && s.classIds.includes(child.classId),
          )
        : [];
    }
    const role = target.role === 'aks' ? 'aks-baseleder' : target.role;
    return snapshot.staff.filter((s) => s.roles.includes(role));
  }

  /** School ids in import order. */
  async schoolIds(): Promise<string[]> {
    return parse<string[]>(await this.redis.hget(this.keys.order, 'schools')) ?? [];
  }

  /** Guardians of a school (default: the first school) who have a web login, for the web chat's demo sign-in. */
  async demoPeople(schoolId?: string, limit = 50): Promise<DemoPerson[]> {
    const school = schoolId ?? (await this.redis.get(this.keys.defaultSchool));
    if (!school) return [];
    const ids = parse<string[]>(await this.redis.hget(this.keys.order, `guardians:${school}`)) ?? [];
    const people: DemoPerson[] = [];
    for (let i = 0; i < ids.length && people.length < limit; i += 500) {
      const rows = await this.redis.hmget(this.keys.records('guardians'), ...ids.slice(i, i + 500));
      for (const row of rows) {
        const g = parse<Guardian>(row);
        if (g?.webLogin && people.length < limit)
          people.push({ login: g.webLogin, name: g.name, lang: g.preferredLang });
      }
    }
    return people;
  }

  /** Staff with a web login (the staff inbox's demo sign-in), in folder order. */
  async demoStaff(
    schoolId?: string,
    limit = 50,
  ): Promise<Array<{ login: string; name: string; roles: string[] }>> {
    const school = schoolId ?? (await this.redis.get(this.keys.defaultSchool));
    if (!school) return [];
    const ids = (parse<string[]>(await this.redis.hget(this.keys.order, `staff:${school}`)) ?? []).slice(
      0,
      2000,
    );
    if (ids.length === 0) return [];
    const rows = await this.redis.hmget(this.keys.records('staff'), ...ids);
    return rows
      .map((row) => parse<Staff>(row))
      .filter((s): s is Staff => Boolean(s?.webLogin))
      .slice(0, limit)
      .map((s) => ({ login: s.webLogin as string, name: s.name, roles: s.roles }));
  }

  private async resolve(person: Person): Promise<{ view: DirectoryView; snapshot: SchoolSnapshot }> {
    const k = this.keys;
    let schoolId: string | undefined;
    let refs: ChildRef[] = [];
    const batch = this.redis.pipeline().get(k.defaultSchool);
    if (person.kind === 'guardian') batch.hget(k.records('guardians'), person.id).hget(k.children, person.id);
    if (person.kind === 'staff') batch.hget(k.records('staff'), person.id);
    const [fallback, record, children] = results(await batch.exec());
    if (person.kind !== 'anonymous' && record) {
      schoolId = (JSON.parse(record) as { schoolId: string }).schoolId;
      if (person.kind === 'guardian') refs = parse<ChildRef[]>(children) ?? [];
    }
    const wanted = new Set<string>();
    for (const id of [schoolId ?? fallback, ...refs.map((r) => r.school)]) if (id) wanted.add(id);
    const snapshots = await this.snapshots([...wanted]);
    let snapshot = schoolId === undefined ? undefined : snapshots.get(schoolId);
    if (!snapshot && fallback)
      snapshot = snapshots.get(fallback) ?? (await this.snapshots([fallback])).get(fallback);
    if (!snapshot) throw new Error('directory: no school loaded');
    const childViews = refs.map((ref): ChildView => {
      const card = ref.school ? snapshots.get(ref.school)?.classes[ref.classId] : undefined;
      return {
        id: ref.id,
        firstName: ref.firstName,
        classId: ref.classId,
        className: card?.name ?? '',
        trinn: card?.trinn ?? 0,
        ...(card?.teacher ? { teacher: card.teacher } : {}),
        events: card?.events ?? [],
      };
    });
    return {
      view: { school: snapshot.school, children: childViews, schoolCalendar: snapshot.schoolCalendar },
      snapshot,
    };
  }

  /** The snapshots of these schools: one GET of each etag, and the snapshot itself only when it changed. */
  private async snapshots(ids: string[]): Promise<Map<string, SchoolSnapshot>> {
    const out = new Map<string, SchoolSnapshot>();
    if (ids.length === 0) return out;
    const etagBatch = this.redis.pipeline();
    for (const id of ids) etagBatch.get(this.keys.etag(id));
    const etags = results(await etagBatch.exec());
    const stale: string[] = [];
    ids.forEach((id, i) => {
      const cached = this.cache.get(id);
      if (!etags[i]) this.cache.delete(id);
      else if (cached?.etag === etags[i]) out.set(id, cached.snapshot);
      else stale.push(id);
    });
    if (stale.length) {
      // etag before snapshot: racing an import can only pair a newer snapshot with an
      // older etag, which the next call corrects by fetching again.
      const fetch = this.redis.pipeline();
      for (const id of stale) fetch.get(this.keys.etag(id)).get(this.keys.snapshot(id));
      const rows = results(await fetch.exec());
      stale.forEach((id, i) => {
        const etag = rows[2 * i];
        const snapshot = parse<SchoolSnapshot>(rows[2 * i + 1]);
        if (!etag || !snapshot) return;
        this.cache.set(id, { etag, snapshot });
        out.set(id, snapshot);
      });
    }
    return out;
  }
}

function parse<T>(json: string | null | undefined): T | undefined {
  return json ? (JSON.parse(json) as T) : undefined;
}

/** Values of a pipeline's replies; the first error is thrown. */
export function results(replies: Array<[Error | null, unknown]> | null): Array<string | null> {
  if (!replies) throw new Error('redis: pipeline was not executed');
  return replies.map(([err, value]) => {
    if (err) throw err;
    return value as string | null;
  });
}
