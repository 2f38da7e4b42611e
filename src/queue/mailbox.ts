import type { Redis } from 'ioredis';

/**
 * A partition's mailbox: a Redis list of jobs, emptied in batches by "drain" jobs on the
 * partition's BullMQ queue. BullMQ costs a few hundred microseconds of client and Redis
 * CPU per job and an open-source worker takes one job per fetch, so a job per message
 * caps a partition at one message per fetch. With a mailbox a message costs one script
 * call to post, and a drain takes everything that piled up while the last one ran: at a
 * trickle a drain carries one message, under load a hundred or more (bench/pipeline.ts),
 * and BullMQ's locks, stalled recovery and global concurrency 1 still hold, now per drain.
 *
 * Keys (all under the bus prefix, so one hash slot on Redis Cluster):
 * - `<key>` the list of entries, oldest first;
 * - `<key>:bell` set from the post that rings a drain until a drain finds the list empty:
 *   a post that finds it set adds no drain job, since the drain that is due or running
 *   takes the list again after the post;
 * - `<key>:seq` the number of the last drain rung, which names its job (`drain-<n>`);
 * - `<seen><id>` one per posted id for the dedup window: a repeated id is not posted again.
 */
export interface MailboxEntry {
  /** What the entry stands for (the job id a job of its own would have had). */
  id: string;
  /** When it was posted, ms since the epoch. */
  at: number;
  job: unknown;
}

/** The raw list item and what it parsed to (`undefined`: not an entry; dead-lettered by the caller). */
export interface TakenEntry {
  raw: string;
  entry: MailboxEntry | undefined;
}

// KEYS: list, bell, seq, seen. ARGV: entry, seen ttl (s).
// Returns -1 for a repeated id, 0 when a drain is already due, else the number of the drain to add.
const POST_LUA = `
if not redis.call('SET', KEYS[4], '1', 'EX', ARGV[2], 'NX') then return -1 end
redis.call('RPUSH', KEYS[1], ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local n = redis.call('INCR', KEYS[3])
redis.call('SET', KEYS[2], n)
return n`;

// KEYS: bell, seq. Rings unconditionally (the sweep after a crash between a post and its drain's add).
const RING_LUA = `
local n = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], n)
return n`;

// KEYS: list, bell. ARGV: max. A drain takes until the list is empty; only that last take
// silences the bell, so a post while it runs rings no second drain, and a post after it does.
const TAKE_LUA = `
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items == 0 then redis.call('DEL', KEYS[2]) end
return items`;

// KEYS: list. ARGV: count, the first item taken. Drops the taken items unless another
// drain got there first (a drain taken up again after its worker was presumed dead).
const ACK_LUA = `
if redis.call('LINDEX', KEYS[1], 0) == ARGV[2] then redis.call('LTRIM', KEYS[1], tonumber(ARGV[1]), -1) end
return 0`;

interface MailboxCommands {
  skolebroMailboxPost(
    list: string,
    bell: string,
    seq: string,
    seen: string,
    ...argv: string[]
  ): Promise<number>;
  skolebroMailboxRing(bell: string, seq: string): Promise<number>;
  skolebroMailboxTake(list: string, bell: string, max: string): Promise<string[]>;
  skolebroMailboxAck(list: string, count: string, first: string): Promise<number>;
}

/** Defines the mailbox scripts on `redis` (once per connection is enough; again is harmless). */
function commandsOf(redis: Redis): MailboxCommands {
  redis.defineCommand('skolebroMailboxPost', { numberOfKeys: 4, lua: POST_LUA });
  redis.defineCommand('skolebroMailboxRing', { numberOfKeys: 2, lua: RING_LUA });
  redis.defineCommand('skolebroMailboxTake', { numberOfKeys: 2, lua: TAKE_LUA });
  redis.defineCommand('skolebroMailboxAck', { numberOfKeys: 1, lua: ACK_LUA });
  return redis as unknown as MailboxCommands;
}

export const mailboxKey = (prefix: string, queueName: string) => `${prefix}:mailbox:${queueName}`;

export class Mailbox {
  private readonly cmd: MailboxCommands;

  /**
   * @param key the list's key (`mailboxKey(prefix, queueName)`)
   * @param seen prefix of the dedup markers, shared by the mailboxes of one kind of job
   * @param addDrain adds the drain job numbered `n` to the partition's queue (id `drain-<n>`)
   */
  constructor(
    private readonly redis: Redis,
    readonly key: string,
    private readonly seen: string,
    private readonly addDrain: (n: number) => Promise<void>,
  ) {
    this.cmd = commandsOf(redis);
  }

  /** Posts `job` under `id` unless that id was posted within `dedupSeconds`; rings a drain if none is due. */
  async post(
    id: string,
    job: unknown,
    dedupSeconds: number,
    now = Date.now(),
  ): Promise<{ duplicate: boolean }> {
    const entry: MailboxEntry = { id, at: now, job };
    const n = await this.cmd.skolebroMailboxPost(
      this.key,
      `${this.key}:bell`,
      `${this.key}:seq`,
      `${this.seen}${id}`,
      JSON.stringify(entry),
      String(dedupSeconds),
    );
    if (n > 0) await this.addDrain(n);
    return { duplicate: n < 0 };
  }

  /** Rings a drain whatever the bell says: for a mailbox whose entries wait too long. */
  async ring(): Promise<void> {
    await this.addDrain(await this.cmd.skolebroMailboxRing(`${this.key}:bell`, `${this.key}:seq`));
  }

  /**
   * Takes up to `max` entries at a time, oldest first, hands each batch to `handle` and
   * drops it once `handle` resolves, until the list is empty or `enough()` says to stop
   * between batches (a worker shutting down; a drain that has run long enough under a
   * steady stream): then it rings the next drain for the rest. A batch whose `handle`
   * throws stays at the head of the list for the drain's next run.
   */
  async drain(
    max: number,
    handle: (batch: TakenEntry[]) => Promise<void>,
    enough: () => boolean = () => false,
  ): Promise<number> {
    let drained = 0;
    for (;;) {
      const raw = await this.cmd.skolebroMailboxTake(this.key, `${this.key}:bell`, String(max));
      if (raw.length === 0) return drained;
      await handle(raw.map((item) => ({ raw: item, entry: parseEntry(item) })));
      await this.cmd.skolebroMailboxAck(this.key, String(raw.length), raw[0] as string);
      drained += raw.length;
      if (enough()) {
        // The bell is still set, so no post rings a drain: this one must.
        await this.ring();
        return drained;
      }
    }
  }

  async length(): Promise<number> {
    return this.redis.llen(this.key);
  }

  /** When the oldest waiting entry was posted (ms since the epoch), if any waits. */
  async oldestAt(): Promise<number | undefined> {
    const head = await this.redis.lindex(this.key, 0);
    return head === null ? undefined : (parseEntry(head)?.at ?? 0);
  }
}

function parseEntry(raw: string): MailboxEntry | undefined {
  try {
    const value = JSON.parse(raw) as Partial<MailboxEntry> | null;
    if (value && typeof value.id === 'string' && typeof value.at === 'number' && 'job' in value) {
      return value as MailboxEntry;
    }
  } catch {
    // Not JSON: reported as an entry that is not one.
  }
  return undefined;
}

/**
 * Runs `work` over `items` in one chain per key (`keyOf`): a key's items one at a time in
 * their order, different keys at once. A chain stops early when `work` resolves `false`.
 */
export async function inChains<T>(
  items: readonly T[],
  keyOf: (item: T) => string,
  work: (item: T) => Promise<boolean>,
): Promise<void> {
  const chains = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const chain = chains.get(key);
    if (chain) chain.push(item);
    else chains.set(key, [item]);
  }
  await Promise.all(
    [...chains.values()].map(async (chain) => {
      for (const item of chain) if ((await work(item)) === false) return;
    }),
  );
}
