import type { Redis } from 'ioredis';
import type { Announcement, Member, TrackEntry } from './model.ts';

/**
 * Where broadcasts live. Every write that can race (a status callback and the worker on
 * the same guardian; a cancel and the fan-out on the announcement) goes through `update`,
 * a compare-and-set loop around a pure function.
 */
export interface BroadcastStore {
  create(a: Announcement): Promise<void>;
  get(id: string): Promise<Announcement | null>;
  /** Applies `change` to the stored announcement until it sticks; `null` from `change` leaves it. */
  update(id: string, change: (a: Announcement) => Announcement | null): Promise<Announcement | null>;
  /** Members in fan-out order, fixed by the first call; later calls get the first list. */
  membersOnce(id: string, members: Member[]): Promise<Member[]>;
  members(id: string): Promise<Member[] | null>;
  /** Members handed to the queues so far (the fan-out's resume point). */
  cursor(id: string): Promise<number>;
  setCursor(id: string, n: number): Promise<void>;
  /** Writes entries not written before; returns what is stored for each (the older one wins). */
  entriesOnce(id: string, entries: TrackEntry[]): Promise<TrackEntry[]>;
  entry(id: string, guardianId: string): Promise<TrackEntry | null>;
  entries(id: string, guardianIds: readonly string[]): Promise<TrackEntry[]>;
  /** Compare-and-set on one guardian's entry; `changed` false when `change` returned null. */
  updateEntry(
    id: string,
    guardianId: string,
    change: (e: TrackEntry) => TrackEntry | null,
  ): Promise<{ entry: TrackEntry | null; changed: boolean }>;
}

/**
 * KEYS[1]: the key. ARGV: the value read (empty: none), the new value, TTL in ms.
 * Sets the key only if it still holds what was read; 1 if set.
 */
const CAS_LUA = `
local cur = redis.call('GET', KEYS[1])
if (cur or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`;

/**
 * KEYS: entry keys. ARGV[1]: TTL in ms; ARGV[1 + i]: the entry for KEYS[i]. Writes each
 * key that is absent and answers, per key, with what was there (nil: it was written).
 * One command for a batch: a pipeline of a thousand SETs costs the client more than Redis.
 */
const SET_ONCE_LUA = `
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = redis.call('SET', key, ARGV[i + 1], 'PX', ARGV[1], 'NX', 'GET')
end
return out
`;

type CasRedis = Redis & {
  skolebroBroadcastCas(key: string, old: string, value: string, ttlMs: string): Promise<number>;
  skolebroBroadcastSetOnce(numKeys: number, ...keysThenArgs: string[]): Promise<Array<string | null>>;
};

/**
 * Keys under `<prefix>bc:{<id>}:` (one Redis Cluster hash tag per announcement):
 * `meta` (the announcement JSON), `members` (JSON list), `cursor`, `g:<guardian id>`
 * (one TrackEntry JSON per guardian). Everything expires after `retentionDays`.
 */
export class RedisBroadcastStore implements BroadcastStore {
  private readonly redis: CasRedis;
  private readonly ttlMs: number;

  constructor(
    redis: Redis,
    private readonly opts: { prefix: string; retentionDays: number },
  ) {
    if (!('skolebroBroadcastCas' in redis))
      redis.defineCommand('skolebroBroadcastCas', { numberOfKeys: 1, lua: CAS_LUA });
    if (!('skolebroBroadcastSetOnce' in redis))
      redis.defineCommand('skolebroBroadcastSetOnce', { lua: SET_ONCE_LUA });
    this.redis = redis as CasRedis;
    this.ttlMs = Math.round(opts.retentionDays * 86_400_000);
  }

  private key(id: string, part: string) {
    return `${this.opts.prefix}bc:{${id}}:${part}`;
  }

  async create(a: Announcement) {
    await this.redis.set(this.key(a.id, 'meta'), JSON.stringify(a), 'PX', this.ttlMs, 'NX');
  }

  async get(id: string) {
    const json = await this.redis.get(this.key(id, 'meta'));
    return json ? (JSON.parse(json) as Announcement) : null;
  }

  async update(id: string, change: (a: Announcement) => Announcement | null) {
    const result = await this.cas<Announcement>(this.key(id, 'meta'), change);
    return result.value;
  }

  async membersOnce(id: string, members: Member[]) {
    await this.redis.set(this.key(id, 'members'), JSON.stringify(members), 'PX', this.ttlMs, 'NX');
    return (await this.members(id)) ?? members;
  }

  async members(id: string) {
    const json = await this.redis.get(this.key(id, 'members'));
    return json ? (JSON.parse(json) as Member[]) : null;
  }

  async cursor(id: string) {
    return Number((await this.redis.get(this.key(id, 'cursor'))) ?? 0);
  }

  async setCursor(id: string, n: number) {
    await this.redis.set(this.key(id, 'cursor'), String(n), 'PX', this.ttlMs);
  }

  async entriesOnce(id: string, entries: TrackEntry[]) {
    if (entries.length === 0) return [];
    const keys = entries.map((e) => this.key(id, `g:${e.guardianId}`));
    const values = entries.map((e) => JSON.stringify(e));
    let earlier: Array<string | null>;
    try {
      earlier = await this.redis.skolebroBroadcastSetOnce(
        keys.length,
        ...keys,
        String(this.ttlMs),
        ...values,
      );
    } catch (err) {
      throw new Error(`broadcast ${id}: writing ${entries.length} entries: ${(err as Error).message}`);
    }
    return entries.map((e, i) => {
      const json = earlier[i];
      return typeof json === 'string' ? (JSON.parse(json) as TrackEntry) : e;
    });
  }

  async entry(id: string, guardianId: string) {
    const json = await this.redis.get(this.key(id, `g:${guardianId}`));
    return json ? (JSON.parse(json) as TrackEntry) : null;
  }

  async entries(id: string, guardianIds: readonly string[]) {
    const out: TrackEntry[] = [];
    for (let i = 0; i < guardianIds.length; i += 500) {
      const rows = await this.redis.mget(...guardianIds.slice(i, i + 500).map((g) => this.key(id, `g:${g}`)));
      for (const row of rows) if (row) out.push(JSON.parse(row) as TrackEntry);
    }
    return out;
  }

  async updateEntry(id: string, guardianId: string, change: (e: TrackEntry) => TrackEntry | null) {
    const result = await this.cas<TrackEntry>(this.key(id, `g:${guardianId}`), change);
    return { entry: result.value, changed: result.changed };
  }

  /** Read, change, write-if-unchanged; again on a lost race. */
  private async cas<T>(
    key: string,
    change: (v: T) => T | null,
  ): Promise<{ value: T | null; changed: boolean }> {
    for (let round = 0; round < 50; round++) {
      const old = await this.redis.get(key);
      if (old === null) return { value: null, changed: false };
      const current = JSON.parse(old) as T;
      const next = change(current);
      if (next === null) return { value: current, changed: false };
      const json = JSON.stringify(next);
      if ((await this.redis.skolebroBroadcastCas(key, old, json, String(this.ttlMs))) === 1)
        return { value: next, changed: true };
    }
    throw new Error('broadcast store: too many concurrent updates of one key');
  }
}

/** For `npm start` without Redis and for unit tests; lost on restart. */
export class MemoryBroadcastStore implements BroadcastStore {
  private readonly meta = new Map<string, Announcement>();
  private readonly memberLists = new Map<string, Member[]>();
  private readonly cursors = new Map<string, number>();
  private readonly tracks = new Map<string, TrackEntry>();

  async create(a: Announcement) {
    if (!this.meta.has(a.id)) this.meta.set(a.id, structuredClone(a));
  }

  async get(id: string) {
    const a = this.meta.get(id);
    return a ? structuredClone(a) : null;
  }

  async update(id: string, change: (a: Announcement) => Announcement | null) {
    const a = this.meta.get(id);
    if (!a) return null;
    const next = change(structuredClone(a));
    if (next) this.meta.set(id, structuredClone(next));
    return structuredClone(next ?? a);
  }

  async membersOnce(id: string, members: Member[]) {
    if (!this.memberLists.has(id)) this.memberLists.set(id, structuredClone(members));
    return structuredClone(this.memberLists.get(id) as Member[]);
  }

  async members(id: string) {
    const m = this.memberLists.get(id);
    return m ? structuredClone(m) : null;
  }

  async cursor(id: string) {
    return this.cursors.get(id) ?? 0;
  }

  async setCursor(id: string, n: number) {
    this.cursors.set(id, n);
  }

  async entriesOnce(id: string, entries: TrackEntry[]) {
    for (const e of entries) {
      const k = `${id}\u0000${e.guardianId}`;
      if (!this.tracks.has(k)) this.tracks.set(k, structuredClone(e));
    }
    return this.entries(
      id,
      entries.map((e) => e.guardianId),
    );
  }

  async entry(id: string, guardianId: string) {
    const e = this.tracks.get(`${id}\u0000${guardianId}`);
    return e ? structuredClone(e) : null;
  }

  async entries(id: string, guardianIds: readonly string[]) {
    const out: TrackEntry[] = [];
    for (const g of guardianIds) {
      const e = this.tracks.get(`${id}\u0000${g}`);
      if (e) out.push(structuredClone(e));
    }
    return out;
  }

  async updateEntry(id: string, guardianId: string, change: (e: TrackEntry) => TrackEntry | null) {
    const k = `${id}\u0000${guardianId}`;
    const e = this.tracks.get(k);
    if (!e) return { entry: null, changed: false };
    const next = change(structuredClone(e));
    if (next) this.tracks.set(k, structuredClone(next));
    return { entry: structuredClone(next ?? e), changed: next !== null };
  }
}
