import type { Guardian } from '../directory/model.ts';
import type { Channel, DeliveryStatus, Member, RecipientPlan, Route, TrackEntry } from './model.ts';

/**
 * The order channels are tried in, for every guardian (pure data):
 * 1. Teams, 2. Slack: an account the guardian linked themselves, read in an app they
 *    chose; free and with read state.
 * 2. SMS: nearly every guardian has a phone; costs per segment; delivery receipts.
 * 3. web: the web chat inbox of their login, the last resort (seen only when they sign in).
 * A channel is used only when the guardian has an address on it and this installation
 * has that channel's adapter; an SMS opt-out (STOP) removes SMS.
 */
export const CHANNEL_ORDER: readonly Channel[] = ['teams', 'slack', 'sms', 'web'];

/** The web chat conversation a broadcast to a web login goes to. */
export const webInbox = (login: string) => `inbox:${login}`;

function addressOn(guardian: Guardian, channel: Channel): string | undefined {
  if (channel === 'teams') return guardian.teamsId;
  if (channel === 'slack') return guardian.slackId;
  if (channel === 'sms') return guardian.phone;
  return guardian.webLogin ? webInbox(guardian.webLogin) : undefined;
}

/** A guardian's routes in CHANNEL_ORDER, and whether SMS was skipped for an opt-out. Pure. */
export function channelOrder(
  guardian: Guardian,
  available: ReadonlySet<Channel>,
  smsOptedOut: boolean,
): { routes: Route[]; smsOptedOut: boolean } {
  const routes: Route[] = [];
  let skipped = false;
  for (const channel of CHANNEL_ORDER) {
    const address = addressOn(guardian, channel);
    if (!address || !available.has(channel)) continue;
    if (channel === 'sms' && smsOptedOut) {
      skipped = true;
      continue;
    }
    routes.push({ channel, address });
  }
  return { routes, smsOptedOut: skipped };
}

/** How one member of the audience is to be reached. Pure. */
export function planRecipient(
  guardian: Guardian,
  member: Member,
  available: ReadonlySet<Channel>,
  smsOptedOut: boolean,
): RecipientPlan {
  const order = channelOrder(guardian, available, smsOptedOut);
  return {
    guardianId: guardian.id,
    name: guardian.name,
    lang: guardian.preferredLang,
    classIds: member.classIds,
    routes: order.routes,
    smsOptedOut: order.smsOptedOut,
  };
}

/**
 * The audience's members from its pupils: every guardian of every pupil, once, in pupil
 * order, each with the classes of their children in the audience. Two guardians of one
 * child are two members (each in their own language). Pure.
 */
export function membersOf(pupils: ReadonlyArray<{ classId: string; guardianIds: string[] }>): Member[] {
  const byGuardian = new Map<string, Member>();
  for (const pupil of pupils) {
    for (const guardianId of pupil.guardianIds) {
      const member = byGuardian.get(guardianId) ?? { guardianId, classIds: [] };
      if (!member.classIds.includes(pupil.classId)) member.classIds.push(pupil.classId);
      byGuardian.set(guardianId, member);
    }
  }
  return [...byGuardian.values()];
}

/** Families (distinct sets of guardians) among the pupils. Pure. */
export function familiesOf(pupils: ReadonlyArray<{ guardianIds: string[] }>): number {
  return new Set(pupils.map((p) => [...p.guardianIds].sort().join(' '))).size;
}

/** The first entry of a plan: queued on its first route, or why it cannot be sent. Pure. */
export function initialEntry(plan: RecipientPlan, at: string): TrackEntry {
  const first = plan.routes[0];
  const status: DeliveryStatus = first ? 'queued' : plan.smsOptedOut ? 'opted-out' : 'unreachable';
  // Fields named, not spread: this runs once per recipient of a district-wide fan-out.
  return {
    guardianId: plan.guardianId,
    name: plan.name,
    lang: plan.lang,
    classIds: plan.classIds,
    routes: plan.routes,
    smsOptedOut: plan.smsOptedOut,
    attempt: 0,
    status,
    at,
    history: [{ attempt: 0, channel: first?.channel ?? null, status, at }],
  };
}

/** Order of statuses within one try; a report never moves a try backwards. */
const RANK: Record<DeliveryStatus, number> = {
  queued: 1,
  sent: 2,
  // A channel that says both (Twilio can) is taken at its first word.
  delivered: 3,
  failed: 3,
  read: 4,
  'opted-out': 9,
  unreachable: 9,
  cancelled: 9,
};

/** Statuses after which nothing more happens to a guardian. */
const FINAL = new Set<DeliveryStatus>(['opted-out', 'unreachable', 'cancelled']);

export interface Update {
  attempt: number;
  status: DeliveryStatus;
  error?: string;
  at: string;
}

/**
 * A report applied to an entry: the new entry, or null when it changes nothing (a
 * stale try, a status already passed, a repeat). Receipts arrive out of order and more
 * than once (status callbacks, redelivered jobs); this makes them idempotent. Pure.
 */
export function transition(entry: TrackEntry, update: Update): TrackEntry | null {
  if (FINAL.has(entry.status)) return null;
  if (update.attempt < entry.attempt) return null;
  if (update.attempt === entry.attempt && RANK[update.status] <= RANK[entry.status]) return null;
  if (update.status === 'cancelled' && entry.status !== 'queued') return null;
  const channel = entry.routes[update.attempt]?.channel ?? null;
  const { error: _old, ...rest } = entry;
  return {
    ...rest,
    attempt: update.attempt,
    status: update.status,
    ...(update.error ? { error: update.error } : {}),
    at: update.at,
    history: [
      ...entry.history,
      {
        attempt: update.attempt,
        channel,
        status: update.status,
        ...(update.error ? { error: update.error } : {}),
        at: update.at,
      },
    ],
  };
}

/** After a failed (or unconfirmed) try: the next route, queued; null when none is left. Pure. */
export function nextTry(entry: TrackEntry, at: string): TrackEntry | null {
  const next = entry.attempt + 1;
  if (next >= entry.routes.length) return null;
  return transition(entry, { attempt: next, status: 'queued', at });
}

/** The route of the current try. */
export const currentRoute = (entry: TrackEntry): Route | undefined => entry.routes[entry.attempt];
