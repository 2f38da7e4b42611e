import type { StaffItem, Store, StoredMessage, StoredReceipt } from './store.ts';

/** Keeps at most this many messages per conversation in memory; the demo is not an archive. */
const HISTORY = 500;

/** In-memory store for the single-process demo; lost on restart by design. */
export class MemoryStore implements Store {
  private readonly states = new Map<string, string>();
  private readonly done = new Set<string>();
  private readonly messages = new Map<string, StoredMessage[]>();
  private readonly seqs = new Map<string, number>();
  private readonly staff = new Map<string, StaffItem[]>();
  private readonly links = new Map<string, string>();
  private readonly receipts = new Map<string, StoredReceipt>();
  private readonly receiptIds = new Map<string, string>();

  async loadState(key: string) {
    return this.states.get(key) ?? null;
  }
  async saveState(key: string, json: string) {
    this.states.set(key, json);
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
  async addStaffItem(item: StaffItem) {
    const list = this.staff.get(item.staffId) ?? [];
    if (!list.some((i) => i.id === item.id)) list.push(item);
    this.staff.set(item.staffId, list);
  }
  async staffItems(staffId: string) {
    return this.staff.get(staffId) ?? [];
  }
  async linkIdentity(channel: string, platformId: string, personId: string) {
    this.links.set(`${channel}:${platformId}`, personId);
  }
  async linkedPerson(channel: string, platformId: string) {
    return this.links.get(`${channel}:${platformId}`) ?? null;
  }
}
