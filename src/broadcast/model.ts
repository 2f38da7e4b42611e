/**
 * The data of a broadcast: an announcement written once in Norwegian, its audience, the
 * texts per language, and per guardian the plan (channels in order) and what became of it.
 * Plain JSON, stored in Redis; no behaviour here.
 */

export const CHANNELS = ['web', 'sms', 'slack', 'teams'] as const;
export type Channel = (typeof CHANNELS)[number];

export type AudienceKind = 'school' | 'trinn' | 'class';

/**
 * Who an announcement is for. `id`: a school id, a trinn number ("3") or a class id.
 * `schoolId` names the school of a trinn audience; default the sender's school.
 */
export interface Audience {
  kind: AudienceKind;
  id: string;
  schoolId?: string;
}

/** An audience as the directory resolved it: its school and the classes it covers. */
export interface ResolvedAudience {
  kind: AudienceKind;
  id: string;
  schoolId: string;
  /** Classes covered, with their trinn (for the FAU scope check and the teachers' reports). */
  classes: Array<{ id: string; trinn: number }>;
}

/** The part of the school an FAU member may broadcast to (staff.csv `fau_scope`). */
export type FauScope =
  | { kind: 'school' }
  | { kind: 'trinn'; trinn: number }
  | { kind: 'class'; classId: string };

/** One language's text: machine-translated, or corrected by hand (which always wins). */
export interface LangText {
  text: string;
  /** False when the text is the original (Norwegian) or MT was not possible. */
  translated: boolean;
  /** Corrected by hand before sending. */
  edited: boolean;
}

/** `failed`: the fan-out gave up (its job failed every attempt); what was queued before still goes. */
export type AnnouncementStatus = 'draft' | 'scheduled' | 'sending' | 'sent' | 'cancelled' | 'failed';

export interface Announcement {
  id: string;
  schoolId: string;
  audience: ResolvedAudience;
  sender: { id: string; name: string };
  /** Source language: always `nb` (the school writes in Norwegian). */
  lang: 'nb';
  text: string;
  /** Per target language, including `nb` (the original). */
  texts: Record<string, LangText>;
  /**
   * Text length × languages machine-translated: what this announcement costs without the
   * cache. A language served from the cache is counted too; the real bill is the
   * `skolebro_translator_characters_total` metric (X-metered-usage).
   */
  billedCharacters: number;
  status: AnnouncementStatus;
  createdAt: string;
  /** When the fan-out starts (ISO); unset: at once on send. */
  sendAt?: string;
  sentAt?: string;
  fannedOutAt?: string;
  cancelledAt?: string;
  /** When and why the fan-out gave up (an error code, never message text). */
  failedAt?: string;
  failure?: string;
  reportedAt?: string;
}

/** A guardian in the audience, with the classes of their children in it. */
export interface Member {
  guardianId: string;
  classIds: string[];
}

/** What a guardian's delivery looks like. `queued`..`read` follow the current try's channel. */
export type DeliveryStatus =
  | 'queued'
  | 'sent'
  | 'delivered'
  | 'read'
  | 'failed'
  /** SMS opted out (STOP) and no other channel. */
  | 'opted-out'
  /** No channel at all (no phone, no linked account) the school can use. */
  | 'unreachable'
  /** The announcement was cancelled before this guardian's message left. */
  | 'cancelled';

/** One way to reach a guardian: a channel and the address on it. */
export interface Route {
  channel: Channel;
  /** Phone (sms), Slack/Teams user id, or web login. */
  address: string;
}

/** How one guardian is to be reached: fixed when the fan-out reaches them. */
export interface RecipientPlan {
  guardianId: string;
  /** For the teachers' list and the CSV of families not reached; never logged. */
  name: string;
  lang: string;
  classIds: string[];
  /** In the order they are tried. */
  routes: Route[];
  /** The phone is opted out of SMS (skipped for SMS; counted). */
  smsOptedOut: boolean;
}

export interface TrackEvent {
  attempt: number;
  channel: Channel | null;
  status: DeliveryStatus;
  error?: string;
  at: string;
}

/** A guardian's plan and what became of it: one per announcement × guardian. */
export interface TrackEntry extends RecipientPlan {
  /** Index into `routes` of the current try. */
  attempt: number;
  status: DeliveryStatus;
  error?: string;
  /** When `status` was last set. */
  at: string;
  history: TrackEvent[];
}
