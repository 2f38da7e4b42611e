import type { Redis } from 'ioredis';
import { conversationBase, type TeamsReference, teamsReference } from './inbound.ts';

/** The message a staff notice thread hangs from in Teams: later notices of the thread reply to it. */
export interface ThreadPost {
  conversationId: string;
  activityId: string;
}

/**
 * The adapter's state, shared by every process: conversation references (for proactive
 * sends), the Teams post of each Skolebro staff thread per recipient, which Teams
 * messages belong to which thread (so a reply in the chain finds its thread), and the
 * parts of a reply already sent.
 */
export interface TeamsState {
  /** Keeps a reference under its conversation id and, for a personal chat, under the user's AAD object id. */
  saveReference(ref: TeamsReference): Promise<void>;
  /** The bot was removed: forgets the conversation, and the user's entry if it points there. */
  forgetReference(ref: TeamsReference): Promise<void>;
  /** The reference of a conversation id, else of the personal chat of an AAD object id. */
  reference(key: string): Promise<TeamsReference | undefined>;
  threadPost(threadId: string, recipient: string): Promise<ThreadPost | undefined>;
  setThreadPost(threadId: string, recipient: string, post: ThreadPost): Promise<void>;
  /** Records that a message we posted belongs to a Skolebro thread. */
  linkActivity(conversationId: string, activityId: string, threadId: string): Promise<void>;
  /** The Skolebro thread a message we posted belongs to. */
  threadOf(conversationId: string, activityId: string): Promise<string | undefined>;
  /** The activity id of part `part` of a reply, if it was sent. */
  sentPart(replyId: string, part: number): Promise<string | undefined>;
  markPartSent(replyId: string, part: number, activityId: string): Promise<void>;
}

export interface TeamsStateOptions {
  /** How long thread posts and links are kept, in seconds; as long as threads are. Default 15552000 (180 days). */
  threadTtlSeconds?: number;
  /** How long sent-part markers are kept; longer than the queue retries a send. Default 604800 (7 days). */
  sentTtlSeconds?: number;
}

const DEFAULTS = { threadTtlSeconds: 180 * 86_400, sentTtlSeconds: 7 * 86_400 };

const keys = {
  conversation: (id: string) => `ref:conv:${id}`,
  user: (aad: string) => `ref:user:${aad}`,
  post: (threadId: string, recipient: string) => `post:${recipient}:${threadId}`,
  link: (conversationId: string, activityId: string) =>
    `link:${conversationBase(conversationId)}:${activityId}`,
  sent: (replyId: string, part: number) => `sent:${replyId}:${part}`,
};

const personal = (ref: TeamsReference) => ref.conversation.conversationType === 'personal';

function parseReference(raw: string | null | undefined): TeamsReference | undefined {
  if (!raw) return undefined;
  try {
    const parsed = teamsReference.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** For `npm start` and unit tests. `now` drives expiry. */
export class MemoryTeamsState implements TeamsState {
  private readonly entries = new Map<string, { value: string; until: number }>();
  private readonly opts: Required<TeamsStateOptions>;

  constructor(
    options: TeamsStateOptions = {},
    private readonly now: () => Date = () => new Date(),
  ) {
    this.opts = { ...DEFAULTS, ...options };
  }

  async saveReference(ref: TeamsReference) {
    const value = JSON.stringify(ref);
    this.put(keys.conversation(ref.conversation.id), value);
    if (personal(ref) && ref.user.aadObjectId) this.put(keys.user(ref.user.aadObjectId), value);
  }

  async forgetReference(ref: TeamsReference) {
    this.entries.delete(keys.conversation(ref.conversation.id));
    const aad = ref.user.aadObjectId;
    if (aad && parseReference(this.get(keys.user(aad)))?.conversation.id === ref.conversation.id) {
      this.entries.delete(keys.user(aad));
    }
  }

  async reference(key: string) {
    return parseReference(this.get(keys.conversation(key)) ?? this.get(keys.user(key)));
  }

  async threadPost(threadId: string, recipient: string) {
    const raw = this.get(keys.post(threadId, recipient));
    return raw ? (JSON.parse(raw) as ThreadPost) : undefined;
  }

  async setThreadPost(threadId: string, recipient: string, post: ThreadPost) {
    this.put(keys.post(threadId, recipient), JSON.stringify(post), this.opts.threadTtlSeconds);
  }

  async linkActivity(conversationId: string, activityId: string, threadId: string) {
    this.put(keys.link(conversationId, activityId), threadId, this.opts.threadTtlSeconds);
  }

  async threadOf(conversationId: string, activityId: string) {
    return this.get(keys.link(conversationId, activityId));
  }

  async sentPart(replyId: string, part: number) {
    return this.get(keys.sent(replyId, part));
  }

  async markPartSent(replyId: string, part: number, activityId: string) {
    this.put(keys.sent(replyId, part), activityId, this.opts.sentTtlSeconds);
  }

  private get(key: string): string | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until > this.now().getTime()) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  private put(key: string, value: string, ttlSeconds?: number) {
    const until =
      ttlSeconds === undefined ? Number.POSITIVE_INFINITY : this.now().getTime() + ttlSeconds * 1000;
    this.entries.set(key, { value, until });
  }
}

/**
 * Redis strings under `<prefix>teams:`: `ref:conv:<conversation id>` and `ref:user:<AAD
 * object id>` (reference JSON, no TTL: a staff member may go months between notices; they
 * are overwritten on every message and removed on uninstall), `post:<recipient>:<thread>`
 * and `link:<conversation>:<activity id>` (TTL: the thread retention), `sent:<reply>:<part>`.
 * Every command names one key, so the keys may live in any Redis Cluster slot.
 */
export class RedisTeamsState implements TeamsState {
  private readonly opts: Required<TeamsStateOptions>;

  /** `prefix` goes in front of every key as is, e.g. `skolebro:`. */
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    options: TeamsStateOptions = {},
  ) {
    this.opts = { ...DEFAULTS, ...options };
  }

  private key(k: string) {
    return `${this.prefix}teams:${k}`;
  }

  async saveReference(ref: TeamsReference) {
    const value = JSON.stringify(ref);
    const conversation = this.key(keys.conversation(ref.conversation.id));
    // One round trip on the request path (every Teams message refreshes its reference);
    // a pipeline, not MSET, as the two keys may live in different Cluster slots.
    const write = this.redis.pipeline().set(conversation, value);
    if (personal(ref) && ref.user.aadObjectId) write.set(this.key(keys.user(ref.user.aadObjectId)), value);
    for (const [err] of (await write.exec()) ?? []) if (err) throw err;
  }

  async forgetReference(ref: TeamsReference) {
    await this.redis.del(this.key(keys.conversation(ref.conversation.id)));
    const aad = ref.user.aadObjectId;
    if (!aad) return;
    const userKey = this.key(keys.user(aad));
    if (parseReference(await this.redis.get(userKey))?.conversation.id === ref.conversation.id) {
      await this.redis.del(userKey);
    }
  }

  async reference(key: string) {
    return (
      parseReference(await this.redis.get(this.key(keys.conversation(key)))) ??
      parseReference(await this.redis.get(this.key(keys.user(key))))
    );
  }

  async threadPost(threadId: string, recipient: string) {
    const raw = await this.redis.get(this.key(keys.post(threadId, recipient)));
    return raw ? (JSON.parse(raw) as ThreadPost) : undefined;
  }

  async setThreadPost(threadId: string, recipient: string, post: ThreadPost) {
    await this.redis.set(
      this.key(keys.post(threadId, recipient)),
      JSON.stringify(post),
      'EX',
      this.opts.threadTtlSeconds,
    );
  }

  async linkActivity(conversationId: string, activityId: string, threadId: string) {
    await this.redis.set(
      this.key(keys.link(conversationId, activityId)),
      threadId,
      'EX',
      this.opts.threadTtlSeconds,
    );
  }

  async threadOf(conversationId: string, activityId: string) {
    return (await this.redis.get(this.key(keys.link(conversationId, activityId)))) ?? undefined;
  }

  async sentPart(replyId: string, part: number) {
    return (await this.redis.get(this.key(keys.sent(replyId, part)))) ?? undefined;
  }

  async markPartSent(replyId: string, part: number, activityId: string) {
    await this.redis.set(this.key(keys.sent(replyId, part)), activityId, 'EX', this.opts.sentTtlSeconds);
  }
}
