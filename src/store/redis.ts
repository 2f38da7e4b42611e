import type { Redis } from 'ioredis';
import { z } from 'zod';
import type {
  Escalation,
  Store,
  StoredMessage,
  StoredReceipt,
  Thread,
  ThreadEntry,
  ThreadMeta,
} from './store.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

const optionsSchema = z.object({
  /**
   * Put in front of every key, e.g. `skolebro:`. No braces: each conversation and
   * each staff inbox carries its own Redis Cluster hash tag, and a tag in the prefix
   * would pin every key to one slot.
   */
  prefix: z
    .string()
    .min(1)
    .refine(
      (p) => !/[{}]/.test(p),
      'the store prefix must not contain { or }: keys carry their own hash tags',
    ),
  /** Days a message (and an idle staff inbox) is kept. Default 180. */
  retentionDays: z.number().positive().default(180),
  /** Days a turn's done mark is kept; longer than any platform retries a delivery. Default 7. */
  doneDays: z.number().positive().default(7),
});
export type RedisStoreOptions = z.input<typeof optionsSchema>;

/** Conversations handled per round of `purgeOlderThan`, and messages removed per script call. */
const PURGE_BATCH = 500;

/**
 * KEYS: seq, ids (hash id -> seq), msgs (zset seq -> json), bytime (zset at -> seq).
 * ARGV: id, json without seq (an object literal), at in ms, ttl in ms.
 * Returns {seq, 1 when the message is now the conversation's oldest}, or nil when the id
 * was stored before.
 */
const APPEND_LUA = `
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return nil end
local seq = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], ARGV[1], seq)
redis.call('ZADD', KEYS[3], seq, '{"seq":' .. seq .. ',' .. string.sub(ARGV[2], 2))
redis.call('ZADD', KEYS[4], ARGV[3], seq)
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[4]) end
return {seq, redis.call('ZRANK', KEYS[4], seq) == 0 and 1 or 0}
`;

/**
 * KEYS: ids, msgs, bytime. ARGV: cutoff in ms (exclusive), batch size.
 * Removes up to a batch of messages older than the cutoff; returns how many.
 */
const PURGE_LUA = `
local seqs = redis.call('ZRANGE', KEYS[3], '-inf', '(' .. ARGV[1], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[2]))
for _, s in ipairs(seqs) do
  for _, row in ipairs(redis.call('ZRANGE', KEYS[2], s, s, 'BYSCORE')) do
    redis.call('HDEL', KEYS[1], cjson.decode(row).id)
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[2], s, s)
  redis.call('ZREM', KEYS[3], s)
end
return #seqs
`;

/**
 * KEYS: meta, entries, ids, staff, last. ARGV: meta json, entry id, entry json, ttl ms, at, staff ids...
 * Merges the meta, appends the entry once, adds participants, keeps the latest time.
 */
const THREAD_LUA = `
local meta = cjson.decode(ARGV[1])
local old = redis.call('GET', KEYS[1])
if old then
  local merged = cjson.decode(old)
  for k, v in pairs(meta) do merged[k] = v end
  meta = merged
end
redis.call('SET', KEYS[1], cjson.encode(meta))
if redis.call('SADD', KEYS[3], ARGV[2]) == 1 then redis.call('RPUSH', KEYS[2], ARGV[3]) end
for i = 6, #ARGV do redis.call('SADD', KEYS[4], ARGV[i]) end
local last = redis.call('GET', KEYS[5])
if not last or last < ARGV[5] then redis.call('SET', KEYS[5], ARGV[5]) end
for i = 1, 5 do redis.call('PEXPIRE', KEYS[i], ARGV[4]) end
`;

/** KEYS: esc (hash). ARGV: staff id, at. Acknowledges every open escalation; returns how many. */
const ACK_LUA = `
local n = 0
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local e = cjson.decode(all[i + 1])
  if not e.ackedBy then
    e.ackedBy = ARGV[1]
    e.ackedAt = ARGV[2]
    redis.call('HSET', KEYS[1], all[i], cjson.encode(e))
    n = n + 1
  end
end
return n
`;

/** KEYS: esc (hash). ARGV: id, at, recipients json. The escalation passed on, or nil. */
const ESCALATE_LUA = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return nil end
local e = cjson.decode(raw)
if e.ackedBy or e.escalatedAt then return nil end
e.escalatedAt = ARGV[2]
e.escalatedTo = cjson.decode(ARGV[3])
local out = cjson.encode(e)
redis.call('HSET', KEYS[1], ARGV[1], out)
return out
`;

interface StoreCommands {
  skolebroAppendMessage(
    k1: string,
    k2: string,
    k3: string,
    k4: string,
    ...argv: string[]
  ): Promise<[seq: number, oldest: 0 | 1] | null>;
  skolebroPurgeMessages(k1: string, k2: string, k3: string, ...argv: string[]): Promise<number>;
  skolebroAddToThread(...keysAndArgs: string[]): Promise<null>;
  skolebroAcknowledge(k1: string, ...argv: string[]): Promise<number>;
  skolebroEscalate(k1: string, ...argv: string[]): Promise<string | null>;
}

/**
 * The Store over Redis (ioredis).
 *
 * Key layout, all under `prefix` (`P`):
 * - `P{conv:<key>}:state` conversation state (JSON, no expiry);
 * - `P{conv:<key>}:seq|:ids|:msgs|:bytime` the message log; one hash tag per
 *   conversation, so its keys share a Cluster slot and one Lua script updates them
 *   atomically. They expire `retentionDays` after the last message;
 * - `Pmsgindex` zset conversation key -> time of its oldest message, so that
 *   `purgeOlderThan` visits only conversations with something to remove;
 * - `P{conv:<key>}:done:<messageId>` one per handled message, `doneDays`; in the
 *   conversation's slot so that `commitTurn` writes it and the state in one MULTI;
 * - `Preceipt:<replyId>` newest delivery status, and `Preceipt-id:<channel>:<platform id>`
 *   -> reply id, both kept `retentionDays`;
 * - `P{thread:<conversation key>}:meta|:entries|:ids|:staff|:last|:esc` a staff thread
 *   (one per parent conversation), its entries deduplicated by id, its participants and
 *   escalations; one hash tag, so one script updates it; expires `retentionDays` after
 *   the last entry;
 * - `P{staff:<id>}:threads` zset thread id -> time of its latest entry (the inbox);
 * - `Pidentity:<channel>` hash platform id -> person id.
 *
 * Writes of one conversation's state are not locked here: the job bus runs one
 * conversation's turns one at a time.
 */
export class RedisStore implements Store {
  private readonly prefix: string;
  private readonly retentionMs: number;
  private readonly doneSeconds: number;
  private readonly cmd: StoreCommands;

  constructor(
    private readonly redis: Redis,
    options: RedisStoreOptions,
  ) {
    const opts = optionsSchema.parse(options);
    this.prefix = opts.prefix;
    this.retentionMs = Math.round(opts.retentionDays * DAY_MS);
    this.doneSeconds = Math.round((opts.doneDays * DAY_MS) / 1000);
    redis.defineCommand('skolebroAppendMessage', { numberOfKeys: 4, lua: APPEND_LUA });
    redis.defineCommand('skolebroPurgeMessages', { numberOfKeys: 3, lua: PURGE_LUA });
    redis.defineCommand('skolebroAddToThread', { numberOfKeys: 5, lua: THREAD_LUA });
    redis.defineCommand('skolebroAcknowledge', { numberOfKeys: 1, lua: ACK_LUA });
    redis.defineCommand('skolebroEscalate', { numberOfKeys: 1, lua: ESCALATE_LUA });
    this.cmd = redis as unknown as StoreCommands;
  }

  async loadState(conversationKey: string) {
    return this.redis.get(this.conv(conversationKey, 'state'));
  }

  async saveState(conversationKey: string, json: string) {
    await this.redis.set(this.conv(conversationKey, 'state'), json);
  }

  async loadTurn(conversationKey: string, messageId: string) {
    // Same hash tag: one MGET, also on Redis Cluster.
    const [done, state] = await this.redis.mget(
      this.conv(conversationKey, `done:${messageId}`),
      this.conv(conversationKey, 'state'),
    );
    return { done: done !== null, state: state ?? null };
  }

  async isDone(conversationKey: string, messageId: string) {
    return (await this.redis.exists(this.conv(conversationKey, `done:${messageId}`))) === 1;
  }

  async commitTurn(conversationKey: string, messageId: string, stateJson: string) {
    const results = await this.redis
      .multi()
      .set(this.conv(conversationKey, 'state'), stateJson)
      .set(this.conv(conversationKey, `done:${messageId}`), '1', 'EX', this.doneSeconds)
      .exec();
    const failed = results?.find(([err]) => err);
    if (!results || failed) throw new Error(`commitTurn failed: ${failed?.[0]?.message ?? 'aborted'}`);
  }

  async recordReceipt(receipt: StoredReceipt) {
    const ttl = Math.round(this.retentionMs / 1000);
    const key = `${this.prefix}receipt:${receipt.replyId}`;
    const json = JSON.stringify(receipt);
    // A channel without platform ids (web chat) writes one key: no transaction needed.
    if (!receipt.platformMessageId) {
      await this.redis.set(key, json, 'EX', ttl);
      return;
    }
    await this.redis
      .multi()
      .set(key, json, 'EX', ttl)
      .set(
        `${this.prefix}receipt-id:${receipt.channel}:${receipt.platformMessageId}`,
        receipt.replyId,
        'EX',
        ttl,
      )
      .exec();
  }

  async receipt(replyId: string) {
    const json = await this.redis.get(`${this.prefix}receipt:${replyId}`);
    return json ? (JSON.parse(json) as StoredReceipt) : null;
  }

  async receiptByPlatformId(channel: string, platformMessageId: string) {
    const replyId = await this.redis.get(`${this.prefix}receipt-id:${channel}:${platformMessageId}`);
    return replyId ? this.receipt(replyId) : null;
  }

  async appendMessage(conversationKey: string, message: Omit<StoredMessage, 'seq'>) {
    const atMs = Date.parse(message.at);
    if (!Number.isFinite(atMs)) throw new TypeError(`appendMessage: 'at' is not a date: ${message.at}`);
    // Drop a stray seq so the one the script writes is the only one in the JSON.
    const { seq: _ignored, ...rest } = message as StoredMessage;
    const appended = await this.cmd.skolebroAppendMessage(
      this.conv(conversationKey, 'seq'),
      this.conv(conversationKey, 'ids'),
      this.conv(conversationKey, 'msgs'),
      this.conv(conversationKey, 'bytime'),
      message.id,
      JSON.stringify(rest),
      String(atMs),
      String(this.retentionMs),
    );
    if (appended === null) return null;
    const [seq, oldest] = appended;
    // The index holds each conversation's oldest time, so only a message that is now the
    // oldest (the first of an empty or purged log, or one that came late) can move it. LT
    // keeps the older time where the entry is there already (a purge puts it back; see there).
    if (oldest) await this.redis.zadd(this.indexKey, 'LT', atMs, conversationKey);
    return { ...rest, seq };
  }

  async messagesAfter(conversationKey: string, seq: number) {
    const rows = await this.redis.zrange(this.conv(conversationKey, 'msgs'), `(${seq}`, '+inf', 'BYSCORE');
    return rows.map((row) => JSON.parse(row) as StoredMessage);
  }

  /**
   * Removes every message whose `at` is before `cutoff`, in all conversations, and
   * returns how many. Safe to run while messages are being appended.
   */
  async purgeOlderThan(cutoff: Date): Promise<number> {
    const cutoffMs = cutoff.getTime();
    const visited = new Set<string>();
    let removed = 0;
    for (;;) {
      const due = await this.redis.zrange(
        this.indexKey,
        '-inf',
        `(${cutoffMs}`,
        'BYSCORE',
        'LIMIT',
        0,
        PURGE_BATCH,
      );
      const fresh = due.filter((key) => !visited.has(key));
      if (fresh.length === 0) return removed;
      for (const key of fresh) {
        visited.add(key);
        removed += await this.purgeConversation(key, cutoffMs);
      }
    }
  }

  /** True for the one caller that claims `name` for the next `seconds` (periodic jobs run by many workers). */
  async claimRound(name: string, seconds: number): Promise<boolean> {
    return (await this.redis.set(`${this.prefix}round:${name}`, '1', 'EX', seconds, 'NX')) === 'OK';
  }

  async addToThread(meta: ThreadMeta, entry: ThreadEntry, staffIds: string[]) {
    const k = (part: string) => this.threadKey(meta.id, part);
    await this.cmd.skolebroAddToThread(
      ...[k('meta'), k('entries'), k('ids'), k('staff'), k('last')],
      JSON.stringify(meta),
      entry.id,
      JSON.stringify(entry),
      String(this.retentionMs),
      entry.at,
      ...staffIds,
    );
    const score = Date.parse(entry.at);
    for (const staffId of staffIds) {
      const inbox = this.staff(staffId, 'threads');
      await this.redis.multi().zadd(inbox, 'GT', score, meta.id).pexpire(inbox, this.retentionMs).exec();
    }
  }

  async thread(threadId: string): Promise<Thread | null> {
    const k = (part: string) => this.threadKey(threadId, part);
    const [meta, entries, staffIds, esc] = await Promise.all([
      this.redis.get(k('meta')),
      this.redis.lrange(k('entries'), 0, -1),
      this.redis.smembers(k('staff')),
      this.redis.hvals(k('esc')),
    ]);
    if (!meta) return null;
    return {
      meta: JSON.parse(meta) as ThreadMeta,
      entries: entries.map((e) => JSON.parse(e) as ThreadEntry),
      staffIds: staffIds.sort(),
      escalations: esc.map((e) => JSON.parse(e) as Escalation).sort((x, y) => x.at.localeCompare(y.at)),
    };
  }

  async threadsFor(staffId: string) {
    const ids = await this.redis.zrevrange(this.staff(staffId, 'threads'), 0, 199);
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.get(this.threadKey(id, 'meta')).get(this.threadKey(id, 'last'));
    const rows = (await pipeline.exec()) ?? [];
    const out: Array<{ meta: ThreadMeta; lastAt: string }> = [];
    for (let i = 0; i < ids.length; i++) {
      const meta = rows[2 * i]?.[1] as string | null;
      const last = rows[2 * i + 1]?.[1] as string | null;
      if (meta && last) out.push({ meta: JSON.parse(meta) as ThreadMeta, lastAt: last });
    }
    return out;
  }

  async openEscalation(escalation: Escalation) {
    const key = this.threadKey(escalation.threadId, 'esc');
    await this.redis
      .multi()
      .hsetnx(key, escalation.id, JSON.stringify(escalation))
      .pexpire(key, this.retentionMs)
      .exec();
  }

  async acknowledge(threadId: string, staffId: string, at: string) {
    return this.cmd.skolebroAcknowledge(this.threadKey(threadId, 'esc'), staffId, at);
  }

  async escalateIfUnacknowledged(threadId: string, id: string, at: string, to: string[]) {
    const out = await this.cmd.skolebroEscalate(this.threadKey(threadId, 'esc'), id, at, JSON.stringify(to));
    return out ? (JSON.parse(out) as Escalation) : null;
  }

  async linkIdentity(channel: string, platformId: string, personId: string) {
    await this.redis.hset(`${this.prefix}identity:${channel}`, platformId, personId);
  }

  async linkedPerson(channel: string, platformId: string) {
    return this.redis.hget(`${this.prefix}identity:${channel}`, platformId);
  }

  private async purgeConversation(key: string, cutoffMs: number): Promise<number> {
    const ids = this.conv(key, 'ids');
    const msgs = this.conv(key, 'msgs');
    const bytime = this.conv(key, 'bytime');
    let removed = 0;
    for (;;) {
      const n = await this.cmd.skolebroPurgeMessages(
        ids,
        msgs,
        bytime,
        String(cutoffMs),
        String(PURGE_BATCH),
      );
      removed += n;
      if (n < PURGE_BATCH) break;
    }
    // The index lives in another slot, so it cannot change in the script. Remove the
    // entry, then put back the oldest remaining time. An append racing with this either
    // lands before the read (seen here) or after it, into a log whose oldest is put back
    // here or into an emptied one, where it is the oldest and adds its own entry after the ZREM.
    await this.redis.zrem(this.indexKey, key);
    // Two calls instead of WITHSCORES, whose reply shape differs between RESP2 and RESP3.
    const [first] = await this.redis.zrange(bytime, 0, '0');
    const oldest = first === undefined ? null : await this.redis.zscore(bytime, first);
    if (oldest !== null) await this.redis.zadd(this.indexKey, 'LT', Number(oldest), key);
    return removed;
  }

  private get indexKey() {
    return `${this.prefix}msgindex`;
  }

  private conv(conversationKey: string, part: string) {
    return `${this.prefix}{conv:${conversationKey}}:${part}`;
  }

  private threadKey(threadId: string, part: string) {
    return `${this.prefix}{thread:${threadId}}:${part}`;
  }

  private staff(staffId: string, part: string) {
    return `${this.prefix}{staff:${staffId}}:${part}`;
  }
}
