import type {
  Escalation,
  Store,
  StoredMessage,
  StoredReceipt,
  Thread,
  ThreadEntry,
  ThreadMeta,
} from './store.ts';

/** Keeps at most this many messages per conversation in memory; the demo is not an archive. */
const HISTORY = 500;

/** In-memory store for the single-process demo; lost on restart by design. */
export class MemoryStore implements Store {
  private readonly states = new Map<string, string>();
  private readonly done = new Set<string>();
  private readonly messages = new Map<string, StoredMessage[]>();
  private readonly seqs = new Map<string, number>();
  private readonly threads = new Map<string, Thread & { lastAt: string }>();
  private readonly inboxes = new Map<string, Set<string>>();
  private readonly links = new Map<string, string>();
  private readonly receipts = new Map<string, StoredReceipt>();
  private readonly receiptIds = new Map<string, string>();

  async loadState(key: string) {
    return this.states.get(key) ?? null;
  }
  async saveState(key: string, json: string) {
    this.states.set(key, json);
  }
  async loadTurn(key: string, messageId: string) {
    return { done: await this.isDone(key, messageId), state: this.states.get(key) ?? null };
  }
  async isDone(key: string, messageId: string) {
    return this.done.has(`${key}\n${messageId}`);
  }
  async commitTurn(key: string, messageId: string, json: string) {
    this.states.set(key, json);
    this.done.add(`${key}\n${messageId}`);
  }
  async recordReceipt(receipt: StoredReceipt) {
    this.receipts.set(receipt.replyId, receipt);
    if (receipt.platformMessageId)
      this.receiptIds.set(`${receipt.channel}:${receipt.platformMessageId}`, receipt.replyId);
  }
  async receipt(replyId: string) {
    return this.receipts.get(replyId) ?? null;
  }
  async receiptByPlatformId(channel: string, platformMessageId: string) {
    const id = this.receiptIds.get(`${channel}:${platformMessageId}`);
    return id ? (this.receipts.get(id) ?? null) : null;
  }
  async appendMessage(key: string, message: Omit<StoredMessage, 'seq'>) {
    const list = this.messages.get(key) ?? [];
    if (list.some((m) => m.id === message.id)) return null;
    const seq = (this.seqs.get(key) ?? 0) + 1;
    this.seqs.set(key, seq);
    const stored = { ...message, seq };
    list.push(stored);
    if (list.length > HISTORY) list.shift();
    this.messages.set(key, list);
    return stored;
  }
  async messagesAfter(key: string, seq: number) {
    return (this.messages.get(key) ?? []).filter((m) => m.seq > seq);
  }
  async addToThread(meta: ThreadMeta, entry: ThreadEntry, staffIds: string[]) {
    const thread = this.threads.get(meta.id) ?? {
      meta,
      entries: [],
      staffIds: [],
      escalations: [],
      lastAt: entry.at,
    };
    thread.meta = { ...thread.meta, ...meta };
    if (!thread.entries.some((e) => e.id === entry.id)) thread.entries.push(entry);
    for (const id of staffIds) {
      if (!thread.staffIds.includes(id)) thread.staffIds.push(id);
      const inbox = this.inboxes.get(id) ?? new Set();
      inbox.add(meta.id);
      this.inboxes.set(id, inbox);
    }
    if (entry.at > thread.lastAt) thread.lastAt = entry.at;
    this.threads.set(meta.id, thread);
  }
  async thread(threadId: string): Promise<Thread | null> {
    const t = this.threads.get(threadId);
    return t
      ? structuredClone({
          meta: t.meta,
          entries: t.entries,
          staffIds: [...t.staffIds].sort(),
          escalations: t.escalations,
        })
      : null;
  }
  async threadsFor(staffId: string) {
    return [...(this.inboxes.get(staffId) ?? [])]
      .map((id) => this.threads.get(id))
      .filter((t) => t !== undefined)
      .map((t) => ({ meta: t.meta, lastAt: t.lastAt }))
      .sort((x, y) => y.lastAt.localeCompare(x.lastAt));
  }
  async openEscalation(escalation: Escalation) {
    const thread = this.threads.get(escalation.threadId);
    if (!thread) throw new Error(`openEscalation: no thread ${escalation.threadId}`);
    if (!thread.escalations.some((e) => e.id === escalation.id)) thread.escalations.push({ ...escalation });
  }
  async acknowledge(threadId: string, staffId: string, at: string) {
    let n = 0;
    for (const e of this.threads.get(threadId)?.escalations ?? []) {
      if (e.ackedBy) continue;
      e.ackedBy = staffId;
      e.ackedAt = at;
      n++;
    }
    return n;
  }
  async escalateIfUnacknowledged(threadId: string, id: string, at: string, to: string[]) {
    const e = this.threads.get(threadId)?.escalations.find((x) => x.id === id);
    if (!e || e.ackedBy || e.escalatedAt) return null;
    e.escalatedAt = at;
    e.escalatedTo = to;
    return { ...e };
  }
  async linkIdentity(channel: string, platformId: string, personId: string) {
    this.links.set(`${channel}:${platformId}`, personId);
  }
  async linkedPerson(channel: string, platformId: string) {
    return this.links.get(`${channel}:${platformId}`) ?? null;
  }
}
