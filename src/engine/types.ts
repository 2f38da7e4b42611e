/**
 * The data the dialog engine reads and writes. Everything here is plain JSON so
 * that a turn can cross a queue and a state can live in Redis.
 */

/** An intent the NLU can recognise. The list is fixed: dialogs, locales and evaluation depend on it. */
export const INTENTS = [
  'greeting',
  'help',
  'expectations.school',
  'expectations.home',
  'meetings.next',
  'contact.teacher',
  'absence.report',
  'leave.request',
  'holidays.dates',
  'safety.concern',
  'fau.info',
  'homework.help',
  'aks.info',
  'language.change',
  'human.handoff',
  'unknown',
] as const;
export type Intent = (typeof INTENTS)[number];

/** What the NLU made of one message; computed by the shell (pure, but kept out of `step` so turns replay exactly). */
export interface Analysis {
  lang: string;
  langConfidence: number;
  intent: Intent;
  confidence: number;
  /** Best intents first, with their probabilities. */
  ranked: Array<{ intent: Intent; p: number }>;
}

/** One inbound turn, already normalised by a channel adapter. */
export interface Turn {
  /** Platform message id; the idempotency key of everything this turn causes. */
  id: string;
  /** ISO timestamp of arrival; the engine's only clock. */
  at: string;
  text: string;
  /** Set when the user pressed a quick-reply button rather than typing. */
  choice?: string;
  analysis: Analysis;
  /** The shell's check of a one-time code written in this turn (identity linking). */
  verification?: 'linked' | 'wrong' | 'expired' | 'locked';
}

/** A message to render in the conversation's language: a locale key and its parameters. */
export interface Say {
  key: string;
  params?: Record<string, string | number>;
}

export interface Choice {
  /** Machine value sent back in `Turn.choice`. */
  value: string;
  label: Say;
}

export interface ChildView {
  id: string;
  firstName: string;
  classId: string;
  className: string;
  trinn: number;
  teacher?: { id: string; name: string; email?: string; phone?: string };
  /** Upcoming and past class events, ISO dates, sorted by start. */
  events: CalendarEntry[];
}

export interface CalendarEntry {
  kind:
    | 'foreldremote'
    | 'utviklingssamtale'
    | 'holiday'
    | 'school-start'
    | 'school-end'
    | 'day-off'
    | 'other';
  title: string;
  /** ISO date or date-time (Europe/Oslo). */
  start: string;
  /** ISO date or date-time, exclusive for all-day events. */
  end: string;
  allDay: boolean;
  location?: string;
}

/** Who is writing, as far as the directory knows. An anonymous sender sees no personal data. */
export type Person =
  | { kind: 'anonymous'; id: string; preferredLang?: string }
  | { kind: 'guardian'; id: string; name: string; preferredLang?: string }
  | { kind: 'staff'; id: string; name: string; roles: string[]; preferredLang?: string };

/** The read-only slice of the directory a dialog may use for this person. */
export interface DirectoryView {
  school: {
    id: string;
    name: string;
    officePhone?: string;
    officeEmail?: string;
    website?: string;
    /** Reply-time promise configured by the school; absent means "no promise". */
    replyTimeDays?: number;
    aksBaseleder?: { name: string; phone?: string; email?: string };
    /** Id of the version of the standard this school follows (locales/<lang>/standard.json). */
    standard: string;
    /** Most school days of leave granted per school year (Oslo: 10). */
    maxLeaveDays: number;
  };
  /** The person's children (guardians only; empty for anonymous senders). */
  children: ChildView[];
  /** School-wide calendar (holidays, start and end of the school year, days off). */
  schoolCalendar: CalendarEntry[];
}

/** The dialog currently waiting for an answer, if any. */
export interface ActiveDialog {
  name: string;
  step: string;
  data: Record<string, unknown>;
}

export interface ConversationState {
  v: 1;
  lang: string | null;
  /** True once the user chose a language explicitly; detection then only overrides on long messages. */
  langPicked: boolean;
  active: ActiveDialog | null;
  /** Intents offered in a clarifying question, so a choice can resolve it. */
  turns: number;
}

export type StaffTarget = { role: 'kontaktlaerer'; childId: string } | { role: 'rektor' | 'office' | 'aks' };

export type Action =
  | { type: 'reply'; lang: string; say: Say[]; choices?: Choice[] }
  | { type: 'setLanguage'; lang: string }
  /** Send a one-time code to a guardian's registered phone, if it is one (the reply never tells). */
  | { type: 'sendCode'; phone: string }
  | {
      type: 'notifyStaff';
      to: StaffTarget[];
      notice: AbsenceNotice | LeaveNotice;
    }
  | { type: 'relayToStaff'; to: StaffTarget; childId?: string; text: string; lang: string }
  | {
      type: 'escalate';
      reason: 'safety' | 'handoff';
      to: StaffTarget[];
      childId?: string;
      text: string;
      lang: string;
    };

/** An absence notice carries child, days and times only: never a reason (health data). */
export interface AbsenceNotice {
  kind: 'absence';
  childId: string;
  classId: string;
  /** ISO dates (Europe/Oslo). */
  days: string[];
  /** 'absent' for whole days; 'late'/'early' with an optional HH:MM. */
  mode: 'absent' | 'late' | 'early';
  time?: string;
}

export interface LeaveNotice {
  kind: 'leave';
  childId: string;
  classId: string;
  from: string;
  to: string;
}

export interface StepResult {
  state: ConversationState;
  actions: Action[];
}

/** Everything `step` may read besides the state and the turn. */
export interface StepContext {
  person: Person;
  directory: DirectoryView;
  /** Keyword lists per language (cancel, yes, no, today, ...), from locales/. */
  keywords: KeywordIndex;
  /** Languages the bot can answer in, for the language picker. */
  languages: Array<{ code: string; name: string }>;
  /** Confidence under which the engine asks instead of answering. */
  clarifyBelow: number;
}

export type KeywordKind =
  | 'cancel'
  | 'yes'
  | 'no'
  | 'today'
  | 'tomorrow'
  | 'late'
  | 'early'
  | 'mon'
  | 'tue'
  | 'wed'
  | 'thu'
  | 'fri'
  | 'area.fag'
  | 'area.trygghet'
  | 'area.dialog';

/** Tells whether a message contains one of the words of a kind, in the given language, Norwegian or English. */
export type KeywordIndex = (text: string, kind: KeywordKind, lang: string) => boolean;

/** A KeywordIndex bound to the conversation's language. */
export type KeywordLookup = (text: string, kind: KeywordKind) => boolean;
