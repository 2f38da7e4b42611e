import type { Channel, DeliveryStatus, Member, TrackEntry } from './model.ts';
import { currentRoute } from './plan.ts';

export type Counts = Partial<Record<DeliveryStatus, number>>;

export interface NotReached {
  guardianId: string;
  name: string;
  lang: string;
  classIds: string[];
  /** The last channel tried; null when there was none. */
  channel: Channel | null;
  status: DeliveryStatus;
  /** Why: the platform's error code, `no-receipt`, `opted-out`, `no-channel`, `not-sent`. */
  reason: string;
}

export interface Progress {
  guardians: number;
  byStatus: Counts;
  byChannel: Partial<Record<Channel | 'none', Counts>>;
  byLang: Record<string, Counts>;
  /** Guardians whose SMS was skipped for an opt-out. */
  smsOptedOut: number;
  /** Nothing is in flight any more: every guardian reached, failed for good, or unconfirmed past the timeout. */
  settled: boolean;
  notReached: NotReached[];
}

export interface ProgressOptions {
  now: Date;
  receiptTimeoutMs: number;
  /** Channels that report delivery; on the others `sent` counts as reached. */
  receiptChannels: ReadonlySet<Channel>;
}

/** Whether a guardian is reached: delivered or read, or sent on a channel without receipts. Pure. */
export function isReached(entry: TrackEntry, receiptChannels: ReadonlySet<Channel>): boolean {
  if (entry.status === 'delivered' || entry.status === 'read') return true;
  const route = currentRoute(entry);
  return entry.status === 'sent' && route !== undefined && !receiptChannels.has(route.channel);
}

/** Whether more may still happen to this guardian: queued, or sent and waiting for a receipt. Pure. */
export function isPending(entry: TrackEntry, opts: ProgressOptions): boolean {
  if (entry.status === 'queued') return true;
  if (entry.status !== 'sent') return false;
  const route = currentRoute(entry);
  if (!route || !opts.receiptChannels.has(route.channel)) return false;
  return opts.now.getTime() - Date.parse(entry.at) < opts.receiptTimeoutMs;
}

/** The reason of a member a failed fan-out never came to. */
export const NOT_SENT = 'not-sent';

/**
 * A stand-in entry for a member a failed fan-out never came to (it has none of its own):
 * failed with reason `not-sent`, no channel tried. Name and language from the register;
 * the guardian id and no language when the register no longer has them. Pure.
 */
export function notSentEntry(
  member: Member,
  guardian: { name: string; preferredLang: string } | undefined,
  at: string,
): TrackEntry {
  return {
    guardianId: member.guardianId,
    name: guardian?.name ?? member.guardianId,
    lang: guardian?.preferredLang ?? '',
    classIds: member.classIds,
    routes: [],
    smsOptedOut: false,
    attempt: 0,
    status: 'failed',
    error: NOT_SENT,
    at,
    history: [{ attempt: 0, channel: null, status: 'failed', error: NOT_SENT, at }],
  };
}

function reasonOf(entry: TrackEntry): string {
  if (entry.status === 'opted-out') return 'opted-out';
  if (entry.status === 'unreachable') return 'no-channel';
  if (entry.status === 'sent') return 'no-receipt';
  if (entry.status === 'queued') return 'not-sent-yet';
  return entry.error ?? entry.status;
}

/** Counts by status per channel and language, and the guardians not reached. Pure. */
export function progressOf(entries: readonly TrackEntry[], opts: ProgressOptions): Progress {
  const byStatus: Counts = {};
  const byChannel: Progress['byChannel'] = {};
  const byLang: Record<string, Counts> = {};
  const notReached: NotReached[] = [];
  let smsOptedOut = 0;
  let settled = true;
  const bump = (counts: Counts, status: DeliveryStatus) => {
    counts[status] = (counts[status] ?? 0) + 1;
  };
  for (const entry of entries) {
    const channel = currentRoute(entry)?.channel ?? 'none';
    bump(byStatus, entry.status);
    byChannel[channel] ??= {};
    bump(byChannel[channel] as Counts, entry.status);
    byLang[entry.lang] ??= {};
    bump(byLang[entry.lang] as Counts, entry.status);
    if (entry.smsOptedOut) smsOptedOut++;
    const pending = isPending(entry, opts);
    if (pending) settled = false;
    if (!pending && entry.status !== 'cancelled' && !isReached(entry, opts.receiptChannels)) {
      notReached.push({
        guardianId: entry.guardianId,
        name: entry.name,
        lang: entry.lang,
        classIds: entry.classIds,
        channel: channel === 'none' ? null : channel,
        status: entry.status,
        reason: reasonOf(entry),
      });
    }
  }
  return { guardians: entries.length, byStatus, byChannel, byLang, smsOptedOut, settled, notReached };
}

function cell(value: string): string {
  // A spreadsheet would run a cell starting with = + - @ as a formula: a leading ' keeps it text.
  const v = /^[=+\-@]/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/** The families not reached as CSV (RFC 4180, CRLF, a header row). Pure. */
export function notReachedCsv(rows: readonly NotReached[]): string {
  const head = 'guardian_id,name,language,class_ids,channel,status,reason';
  const lines = rows.map((r) =>
    [r.guardianId, r.name, r.lang, r.classIds.join(' '), r.channel ?? '', r.status, r.reason]
      .map(cell)
      .join(','),
  );
  return `${[head, ...lines].join('\r\n')}\r\n`;
}
