import type { AbsenceNotice, LeaveNotice } from '../engine/types.ts';

/** A message shown in a conversation (web chat history, staff inbox). */
export interface StoredMessage {
  seq: number;
  id: string;
  /** `staff`: a person at the school wrote it (relayed, usually machine-translated). */
  from: 'user' | 'bot' | 'staff';
  at: string;
  lang: string;
  dir: 'ltr' | 'rtl';
  text: string;
  choices: Array<{ value: string; label: string }>;
  /** For `staff` messages: the words as written (Norwegian), shown on request, and the toggle's label. */
  original?: { text: string; lang: string; label?: string };
}

/**
 * The staff side of one parent conversation: every notice, relayed message, escalation
 * and staff reply about it, in order. Its id is the parent's conversation key
 * (`channel:conversationId`), so a staff reply in it goes to that parent only.
 */
export interface ThreadMeta {
  id: string;
  channel: string;
  conversationId: string;
  guardianId?: string;
  childId?: string;
  /** The parent's language when last heard from. */
  lang: string;
}

export interface ThreadEntry {
  /** Derived from the message that caused it, so a redone turn adds nothing. */
  id: string;
  at: string;
  from: 'parent' | 'staff' | 'system';
  kind: 'message' | 'absence' | 'leave' | 'safety' | 'handoff' | 'reply' | 'escalated';
  /** Staff addressed (parent entries) or the author (a staff reply). */
  to?: string[];
  /** The child it is about, for staff: first name and class (from the directory). */
  child?: { name: string; className: string };
  staffId?: string;
  notice?: AbsenceNotice | LeaveNotice;
  /** The words as written and their language; never on absence or leave notices. */
  original?: { text: string; lang: string };
  /** A parent's words in Norwegian, for staff; `translated: false` when no MT was possible. */
  norwegian?: { text: string; translated: boolean };
  /** A staff reply as the parent received it. */
  translation?: { text: string; lang: string; translated: boolean };
}

export interface Thread {
  meta: ThreadMeta;
  entries: ThreadEntry[];
  /** Staff members this thread was addressed to: the only ones who may read or answer it. */
  staffIds: string[];
  escalations: Escalation[];
}

/** A safety report or handoff waiting for a person to take it up. */
export interface Escalation {
  id: string;
  threadId: string;
  reason: 'safety' | 'handoff';
  at: string;
  notified: string[];
  /** When the office is alerted if nobody has opened or answered it. */
  deadline: string;
  ackedBy?: string;
  ackedAt?: string;
  escalatedAt?: string;
  escalatedTo?: string[];
}

/** What became of one outbound message, as the channel reported it. */
export interface StoredReceipt {
  replyId: string;
  channel: string;
  status: 'sent' | 'delivered' | 'read' | 'failed';
  at: string;
  platformMessageId?: string;
  /** Why it failed (platform error code, `opted-out`); never message text. */
  error?: string;
}

/**
 * Persistence seam: conversation state, the chat history a channel shows, staff
 * items, and identity links. Redis in production, memory for `npm start`.
 */
export interface Store {
  loadState(conversationKey: string): Promise<string | null>;
  saveState(conversationKey: string, json: string): Promise<void>;
  /** The conversation's state, and whether this message's turn was committed already, in one read. */
  loadTurn(conversationKey: string, messageId: string): Promise<{ done: boolean; state: string | null }>;
  /** Whether this message's turn was committed already (a redelivery after a crash or a retry). */
  isDone(conversationKey: string, messageId: string): Promise<boolean>;
  /** Saves the state a turn produced and marks its message done, atomically. */
  commitTurn(conversationKey: string, messageId: string, stateJson: string): Promise<void>;
  appendMessage(conversationKey: string, message: Omit<StoredMessage, 'seq'>): Promise<StoredMessage | null>;
  messagesAfter(conversationKey: string, seq: number): Promise<StoredMessage[]>;
  /** Adds an entry once (by id), makes `staffIds` participants, and puts the thread in their inboxes. */
  addToThread(meta: ThreadMeta, entry: ThreadEntry, staffIds: string[]): Promise<void>;
  thread(threadId: string): Promise<Thread | null>;
  /** A staff member's threads, most recent first. */
  threadsFor(staffId: string): Promise<Array<{ meta: ThreadMeta; lastAt: string }>>;
  /** Records an escalation once (by id). */
  openEscalation(escalation: Escalation): Promise<void>;
  /** Marks the thread's open escalations as taken up by `staffId`; returns how many were open. */
  acknowledge(threadId: string, staffId: string, at: string): Promise<number>;
  /** Marks an escalation as passed on, unless it was acknowledged or passed on already (then null). */
  escalateIfUnacknowledged(
    threadId: string,
    id: string,
    at: string,
    to: string[],
  ): Promise<Escalation | null>;
  /** Keeps the newest status of a sent message; a receipt with a platform id can be found by it. */
  recordReceipt(receipt: StoredReceipt): Promise<void>;
  receipt(replyId: string): Promise<StoredReceipt | null>;
  receiptByPlatformId(channel: string, platformMessageId: string): Promise<StoredReceipt | null>;
  linkIdentity(channel: string, platformId: string, personId: string): Promise<void>;
  linkedPerson(channel: string, platformId: string): Promise<string | null>;
}
