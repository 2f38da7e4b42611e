import type { AbsenceNotice, LeaveNotice } from '../engine/types.ts';

/** A message shown in a conversation (web chat history, staff inbox). */
export interface StoredMessage {
  seq: number;
  id: string;
  from: 'user' | 'bot';
  at: string;
  lang: string;
  dir: 'ltr' | 'rtl';
  text: string;
  choices: Array<{ value: string; label: string }>;
}

/** Something for a member of staff: an absence or leave notice, a relayed message, an escalation. */
export interface StaffItem {
  id: string;
  staffId: string;
  at: string;
  kind: 'absence' | 'leave' | 'message' | 'safety' | 'handoff';
  guardianId?: string;
  childId?: string;
  notice?: AbsenceNotice | LeaveNotice;
  /** The parent's words (original) and the language they were written in; never on absence notices. */
  original?: { text: string; lang: string };
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
  /** Whether this message's turn was committed already (a redelivery after a crash or a retry). */
  isDone(conversationKey: string, messageId: string): Promise<boolean>;
  /** Saves the state a turn produced and marks its message done, atomically. */
  commitTurn(conversationKey: string, messageId: string, stateJson: string): Promise<void>;
  appendMessage(conversationKey: string, message: Omit<StoredMessage, 'seq'>): Promise<StoredMessage | null>;
  messagesAfter(conversationKey: string, seq: number): Promise<StoredMessage[]>;
  addStaffItem(item: StaffItem): Promise<void>;
  staffItems(staffId: string): Promise<StaffItem[]>;
  /** Keeps the newest status of a sent message; a receipt with a platform id can be found by it. */
  recordReceipt(receipt: StoredReceipt): Promise<void>;
  receipt(replyId: string): Promise<StoredReceipt | null>;
  receiptByPlatformId(channel: string, platformMessageId: string): Promise<StoredReceipt | null>;
  linkIdentity(channel: string, platformId: string, personId: string): Promise<void>;
  linkedPerson(channel: string, platformId: string): Promise<string | null>;
}
