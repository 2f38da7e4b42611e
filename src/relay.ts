import {
  escalationDeadline,
  mayAnswer,
  type NoticeSubject,
  type SchoolHours,
  staffNoticeSay,
  staffReplySay,
} from '../dialogs/relay.ts';
import type { DirectoryReader } from './directory/directory.ts';
import type { Staff } from './directory/model.ts';
import { restore } from './engine/state.ts';
import type { Action, Person } from './engine/types.ts';
import { STAFF_LANG } from './i18n/locales.ts';
import type { Renderer } from './i18n/render.ts';
import type { Logger } from './log.ts';
import type { JobBus } from './queue/bus.ts';
import type { InboundJob, TimerJob } from './queue/jobs.ts';
import type { Store, ThreadEntry, ThreadMeta } from './store/store.ts';
import type { Translator } from './translation/types.ts';

export interface RelayDeps {
  bus: JobBus;
  store: Store;
  directory: DirectoryReader;
  renderer: Renderer;
  translator: Translator;
  log: Logger;
  escalation: { afterMinutes: number; hours: SchoolHours };
  /** Staff channels with an adapter running; staff elsewhere use the web inbox only. */
  staffChannels: ReadonlySet<'slack' | 'teams'>;
  now?: () => Date;
}

type StaffAction = Extract<Action, { type: 'notifyStaff' | 'relayToStaff' | 'escalate' }>;

/**
 * Carries out a staff-bound action of a parent's turn: the entry lands in the thread of
 * the parent's conversation, addressed to the staff the directory names for the child
 * and role, with the parent's words in Norwegian beside the original. Safety reports
 * and handoffs also start the clock for escalation to the office.
 */
export async function toStaff(
  deps: RelayDeps,
  job: InboundJob,
  person: Person,
  lang: string,
  action: StaffAction,
  index: number,
): Promise<void> {
  const targets = action.type === 'relayToStaff' ? [action.to] : action.to;
  const staff = (await Promise.all(targets.map((t) => deps.directory.staffFor(person, t)))).flat();
  const staffIds = [...new Set(staff.map((s) => s.id))];
  if (staffIds.length === 0) deps.log.warn({ action: action.type }, 'no staff member found for action');
  const childId = action.type === 'notifyStaff' ? action.notice.childId : action.childId;
  const meta: ThreadMeta = {
    id: `${job.channel}:${job.conversationId}`,
    channel: job.channel,
    conversationId: job.conversationId,
    lang,
    ...(person.kind === 'guardian' ? { guardianId: person.id } : {}),
    ...(childId ? { childId } : {}),
  };
  const id = `${job.channel}:${job.messageId}:a${index}`;
  const child = childId ? await childNamed(deps, person, childId) : undefined;
  const base = { id, at: job.at, from: 'parent' as const, to: staffIds, ...(child ? { child } : {}) };
  let entry: ThreadEntry;
  if (action.type === 'notifyStaff') {
    // Absence and leave notices carry child, days and times only — never the parent's words.
    entry = { ...base, kind: action.notice.kind, notice: action.notice };
  } else {
    entry = {
      ...base,
      kind: action.type === 'relayToStaff' ? 'message' : action.reason,
      original: { text: action.text, lang: action.lang },
      norwegian: await toNorwegian(deps, action.text, action.lang),
    };
  }
  await deps.store.addToThread(meta, entry, staffIds);
  await notifyOnStaffChannels(deps, meta, entry, staff, person);
  if (action.type !== 'escalate') return;

  const deadline = escalationDeadline(job.at, deps.escalation.afterMinutes, deps.escalation.hours);
  await deps.store.openEscalation({
    id,
    threadId: meta.id,
    reason: action.reason,
    at: job.at,
    notified: staffIds,
    deadline: deadline.toISOString(),
  });
  const now = deps.now?.() ?? new Date();
  await deps.bus.schedule({ kind: 'escalation', id, threadId: meta.id }, deadline.getTime() - now.getTime());
}

/**
 * Staff who use Slack or Teams get the entry there too, in the platform thread of this
 * parent's conversation; the web inbox shows it either way.
 */
async function notifyOnStaffChannels(
  deps: RelayDeps,
  meta: ThreadMeta,
  entry: ThreadEntry,
  staff: Staff[],
  person: Person,
): Promise<void> {
  const on = deps.staffChannels;
  const addressOf = (s: Staff) =>
    on.has('slack') && s.slackId
      ? { channel: 'slack' as const, id: s.slackId }
      : on.has('teams') && s.teamsId
        ? { channel: 'teams' as const, id: s.teamsId }
        : undefined;
  const reachable = staff.filter((s) => addressOf(s));
  if (reachable.length === 0) return;
  const view = person.kind === 'anonymous' ? undefined : await deps.directory.view(person);
  const child = view?.children.find((c) => c.id === meta.childId);
  const subject: NoticeSubject = {
    kind: entry.kind,
    ...(person.kind === 'guardian' ? { guardian: person.name } : {}),
    ...(child ? { child: { name: child.firstName, className: child.className } } : {}),
    ...(entry.notice ? { notice: entry.notice } : {}),
  };
  const { renderer } = deps;
  const heading = renderer.reply(STAFF_LANG, staffNoticeSay(subject));
  const notes = [
    ...(entry.norwegian && entry.original?.lang !== STAFF_LANG
      ? [
          renderer.reply(STAFF_LANG, [
            {
              key: entry.norwegian.translated ? 'staffNotice.machineTranslated' : 'staffNotice.notTranslated',
            },
          ]),
        ]
      : []),
    renderer.reply(STAFF_LANG, [{ key: 'staffNotice.replyHint' }]),
  ];
  const original =
    entry.original && entry.original.lang !== STAFF_LANG
      ? { ...entry.original, dir: renderer.dir(entry.original.lang) }
      : undefined;
  const text = [
    heading,
    entry.norwegian?.text,
    original &&
      `${renderer.reply(STAFF_LANG, [{ key: 'staffNotice.original', params: { lang: original.lang } }])}\n${original.text}`,
    ...notes,
  ]
    .filter(Boolean)
    .join('\n\n');
  for (const member of reachable) {
    const address = addressOf(member) as { channel: 'slack' | 'teams'; id: string };
    await deps.bus.enqueueOutbound({
      channel: address.channel,
      replyId: `${entry.id}:notify:${member.id}`,
      conversationId: address.id,
      lang: STAFF_LANG,
      dir: 'ltr',
      text,
      choices: [],
      staff: {
        threadId: meta.id,
        kind: entry.kind,
        heading,
        ...(entry.norwegian ? { norwegian: entry.norwegian } : {}),
        ...(original ? { original } : {}),
        notes,
      },
    });
  }
}

/** A child's first name and class, for staff who see notices of several children. */
async function childNamed(deps: RelayDeps, person: Person, childId: string) {
  if (person.kind === 'anonymous') return undefined;
  const found = (await deps.directory.view(person)).children.find((c) => c.id === childId);
  return found ? { name: found.firstName, className: found.className } : undefined;
}

/** The parent's words in Norwegian; a translator that cannot help leaves them as written, marked so. */
async function toNorwegian(deps: RelayDeps, text: string, lang: string) {
  if (lang === STAFF_LANG) return { text, translated: false };
  try {
    const [result] = await deps.translator.translate([text], STAFF_LANG, lang);
    return { text: result?.text ?? text, translated: result?.translated ?? false };
  } catch (err) {
    deps.log.warn(
      { err: { message: (err as Error).message }, from: lang },
      'translation to Norwegian failed; relayed as written',
    );
    return { text, translated: false };
  }
}

/**
 * A staff member's Norwegian reply in a thread goes to that thread's parent only, in the
 * parent's language, on the parent's channel. Anyone the thread was not addressed to is
 * refused (and it is logged). Answering counts as taking up any open escalation.
 */
export async function fromStaff(deps: RelayDeps, job: InboundJob & { thread: string }): Promise<void> {
  const { store, log } = deps;
  const staff = await deps.directory.identify(job.channel, job.senderId);
  const thread = await store.thread(job.thread);
  if (!thread || !mayAnswer(thread, staff)) {
    log.warn(
      { channel: job.channel, staffId: staff.kind === 'staff' ? staff.id : null },
      'staff reply refused: not their thread',
    );
    return;
  }
  const { meta } = thread;
  const stored = await store.loadState(meta.id);
  const lang = (stored ? restore(stored).lang : null) ?? meta.lang;
  let translation = { text: job.text, lang, translated: false };
  if (lang !== STAFF_LANG) {
    // Not caught: a translator that is down fails the job, which is retried. Sending
    // Norwegian to a parent who reads Somali is worse than a later answer.
    const [result] = await deps.translator.translate([job.text], lang, STAFF_LANG);
    translation = { text: result?.text ?? job.text, lang, translated: result?.translated ?? false };
  }
  const { renderer } = deps;
  await deps.bus.enqueueOutbound({
    channel: meta.channel as InboundJob['channel'],
    replyId: `${job.channel}:${job.messageId}:relay`,
    conversationId: meta.conversationId,
    lang,
    dir: renderer.dir(lang),
    text: renderer.reply(
      lang,
      staffReplySay(
        staff,
        translation.text,
        lang === STAFF_LANG ? 'same-language' : translation.translated ? 'translated' : 'untranslated',
      ),
    ),
    choices: [],
    relay: {
      from: staff.name,
      original: { text: job.text, lang: STAFF_LANG },
      translated: translation.translated,
      showOriginal: renderer.label(lang, { key: 'relay.showOriginal' }),
    },
  });
  await store.addToThread(
    meta,
    {
      id: `${job.channel}:${job.messageId}`,
      at: job.at,
      from: 'staff',
      kind: 'reply',
      staffId: staff.id,
      original: { text: job.text, lang: STAFF_LANG },
      translation,
    },
    [staff.id],
  );
  await store.acknowledge(meta.id, staff.id, job.at);
}

/** An escalation's deadline passed: if nobody has opened or answered it, the school office is alerted. */
export async function escalationDue(deps: RelayDeps, timer: TimerJob): Promise<void> {
  const thread = await deps.store.thread(timer.threadId);
  const escalation = thread?.escalations.find((e) => e.id === timer.id);
  if (!thread || !escalation || escalation.ackedBy || escalation.escalatedAt) return;
  const guardian = thread.meta.guardianId ? await deps.directory.guardian(thread.meta.guardianId) : undefined;
  const person: Person = guardian
    ? { kind: 'guardian', id: guardian.id, name: guardian.name, preferredLang: guardian.preferredLang }
    : { kind: 'anonymous', id: thread.meta.id };
  const office = (await deps.directory.staffFor(person, { role: 'office' })).map((s) => s.id);
  const at = (deps.now?.() ?? new Date()).toISOString();
  const passed = await deps.store.escalateIfUnacknowledged(thread.meta.id, escalation.id, at, office);
  if (!passed) return;
  const source = thread.entries.find((e) => e.id === escalation.id);
  await deps.store.addToThread(
    thread.meta,
    {
      id: `${escalation.id}:escalated`,
      at,
      from: 'system',
      kind: 'escalated',
      to: office,
      ...(source?.original ? { original: source.original } : {}),
      ...(source?.norwegian ? { norwegian: source.norwegian } : {}),
    },
    office,
  );
  deps.log.warn(
    { reason: escalation.reason, notified: escalation.notified.length, office: office.length },
    'escalation not acknowledged in time; office alerted',
  );
}
