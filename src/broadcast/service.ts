import type { OptOuts } from '../../adapters/sms/opt-outs.ts';
import type { ClassGroup, Staff } from '../directory/model.ts';
import { STAFF_LANG } from '../i18n/locales.ts';
import type { Logger } from '../log.ts';
import type { JobBus } from '../queue/bus.ts';
import type { BroadcastJob, BroadcastTimerJob, OutboundJob } from '../queue/jobs.ts';
import type { Store } from '../store/store.ts';
import type { Translator } from '../translation/types.ts';
import type { AudienceSource } from './audience.ts';
import { resolveAudience } from './audience.ts';
import type { BroadcastHooks } from './hooks.ts';
import type {
  Announcement,
  Audience,
  Channel,
  DeliveryStatus,
  LangText,
  Member,
  RecipientPlan,
  ResolvedAudience,
  TrackEntry,
} from './model.ts';
import { familiesOf, initialEntry, membersOf, nextTry, planRecipient, transition } from './plan.ts';
import { type Decision, mayBroadcast, parseFauScope, type RefusalReason } from './policy.ts';
import { notSentEntry, type Progress, progressOf, notReachedCsv as toCsv } from './progress.ts';
import { firstReportDelayMs, type ReportDeps, reportDue, reportJob } from './report.ts';
import { type PreviewSummary, type QuietHours, quietDelayMs, summarise } from './schedule.ts';
import type { BroadcastStore } from './store.ts';
import type { BroadcastTexts } from './texts.ts';

export interface BroadcastSettings {
  /** Unset: no quiet hours. */
  quiet?: QuietHours;
  receiptTimeoutMs: number;
  smsSegmentsPerSecond: number;
  batch: number;
  pricePerSegmentNok: number;
  /** Report rounds (each `receiptTimeoutMs` apart) before the report goes out with what is still open. Default 48. */
  reportRounds?: number;
}

export interface BroadcastServiceDeps {
  store: BroadcastStore;
  source: AudienceSource;
  bus: JobBus;
  translator: Translator;
  /** SMS opt-outs; unset: nobody is opted out. */
  optOuts?: Pick<OptOuts, 'optedOut'>;
  /** Where the teachers' reports go (their staff inbox threads). Unset: logged only. */
  threads?: Pick<Store, 'addToThread'>;
  /** This installation's channels, and whether each reports delivery; read at each use (adapters may be added after wiring). */
  channels: () => ReadonlyArray<{ name: Channel; capabilities: { receipts: boolean } }>;
  settings: BroadcastSettings;
  texts: BroadcastTexts;
  log: Logger;
  now: () => Date;
  newId: () => string;
}

/** What a request asks for. */
export interface DraftInput {
  audience: Audience;
  text: string;
  sendAt?: string;
}

export type Result<T> =
  | { ok: true; value: T }
  | { ok: false; status: 400 | 403 | 404 | 409; error: string; reason?: RefusalReason; message: string };

export interface PreviewView {
  id: string;
  status: Announcement['status'];
  audience: ResolvedAudience;
  sendAt?: string;
  text: string;
  preview: PreviewSummary;
  /**
   * Languages machine-translated (or corrected by hand), and the characters billed:
   * text length × languages machine-translated, once per announcement.
   */
  translation: { languages: string[]; characters: number };
}

export interface ProgressView extends Progress {
  id: string;
  status: Announcement['status'];
  sendAt?: string;
  fannedOut: boolean;
  reportedAt?: string;
}

const RTL = new Set(['ar', 'ur', 'fa', 'prs', 'ps', 'ku', 'he']);

/** The reply id (and so the job id) of one announcement × guardian × channel. */
export const broadcastReplyId = (id: string, guardianId: string, channel: Channel) =>
  `bc:${id}:${encodeURIComponent(guardianId)}:${channel}`;

/** The parts of a broadcast reply id; undefined for any other reply id. */
export function parseBroadcastReplyId(
  replyId: string,
): { id: string; guardianId: string; channel: Channel } | undefined {
  const m = /^bc:([^:]+):([^:]+):(web|sms|slack|teams)$/.exec(replyId);
  if (!m) return undefined;
  return { id: m[1] as string, guardianId: decodeURIComponent(m[2] as string), channel: m[3] as Channel };
}

/**
 * The broadcast use case. Requests (draft, correct, send, cancel, progress) each check
 * the sender's right again; the worker side (fan-out, timers, send hooks) keeps every
 * guardian's delivery in the store and moves a guardian on to their next channel when a
 * try fails or stays unconfirmed. The decisions are the pure functions of policy.ts,
 * plan.ts, schedule.ts and progress.ts; this class does the I/O around them.
 */
export class BroadcastService implements BroadcastHooks {
  constructor(private readonly deps: BroadcastServiceDeps) {}

  private get report(): ReportDeps {
    return { ...this.deps, progress: (a) => this.progressOf(a) };
  }

  private get available(): ReadonlySet<Channel> {
    return new Set(this.deps.channels().map((c) => c.name));
  }

  private get receiptChannels(): ReadonlySet<Channel> {
    return new Set(
      this.deps
        .channels()
        .filter((c) => c.capabilities.receipts)
        .map((c) => c.name),
    );
  }

  /** A school's classes, for the audience picker (what a sender may address is `mayBroadcast`'s). */
  async classes(schoolId: string): Promise<ClassGroup[]> {
    return this.deps.source.classes(schoolId);
  }

  /** The staff record of a signed-in staff member. */
  async sender(staffId: string): Promise<Staff | undefined> {
    return this.deps.source.staff(staffId);
  }

  // ---- requests ---------------------------------------------------------------------

  /** A new announcement: checked, translated once per language, previewed. Nothing is sent. */
  async draft(sender: Staff, input: DraftInput): Promise<Result<PreviewView>> {
    if (input.sendAt !== undefined && Number.isNaN(Date.parse(input.sendAt)))
      return this.fail(400, 'bad_send_at', 'badSendAt');
    const audience = await this.resolve(input.audience, sender);
    const decision = mayBroadcast(sender, audience);
    if (!decision.ok) return this.refuse(sender, audience, decision);
    const { plans, families } = await this.plan(audience);
    const langs = [...new Set(plans.map((p) => p.lang))];
    const texts = await this.translate(input.text, langs);
    const billed = Object.values(texts).filter((t) => t.translated).length * input.text.length;
    const now = this.deps.now();
    const a: Announcement = {
      id: this.deps.newId(),
      schoolId: audience.schoolId,
      audience,
      sender: { id: sender.id, name: sender.name },
      lang: STAFF_LANG,
      text: input.text,
      texts,
      billedCharacters: billed,
      status: 'draft',
      createdAt: now.toISOString(),
      ...(input.sendAt ? { sendAt: new Date(input.sendAt).toISOString() } : {}),
    };
    await this.deps.store.create(a);
    this.deps.log.info(
      { broadcastId: a.id, audience: audience.kind, guardians: plans.length, languages: langs.length },
      'broadcast drafted',
    );
    return { ok: true, value: this.view(a, plans, families) };
  }

  async preview(sender: Staff, id: string): Promise<Result<PreviewView>> {
    const found = await this.owned(sender, id, 'read');
    if (!found.ok) return found;
    const { plans, families } = await this.plan(found.value.audience);
    return { ok: true, value: this.view(found.value, plans, families) };
  }

  /** A hand correction of one language's text, before sending. */
  async correct(sender: Staff, id: string, lang: string, text: string): Promise<Result<PreviewView>> {
    const found = await this.owned(sender, id, 'write');
    if (!found.ok) return found;
    if (!(lang in found.value.texts) || lang === STAFF_LANG)
      return this.fail(400, 'unknown_language', 'unknownLanguage');
    const updated = await this.deps.store.update(id, (a) =>
      a.status === 'draft' || a.status === 'scheduled'
        ? { ...a, texts: { ...a.texts, [lang]: { text, translated: false, edited: true } } }
        : null,
    );
    if (!updated || updated.texts[lang]?.text !== text || !updated.texts[lang]?.edited)
      return this.fail(409, 'already_sent', 'alreadySent');
    return this.preview(sender, id);
  }

  /** Sends now, or at `sendAt` (from the request or the draft). */
  async send(sender: Staff, id: string, opts: { sendAt?: string } = {}): Promise<Result<ProgressView>> {
    const found = await this.owned(sender, id, 'write');
    if (!found.ok) return found;
    if (opts.sendAt !== undefined && Number.isNaN(Date.parse(opts.sendAt)))
      return this.fail(400, 'bad_send_at', 'badSendAt');
    const now = this.deps.now();
    const sendAt = opts.sendAt ? new Date(opts.sendAt).toISOString() : found.value.sendAt;
    const later = sendAt !== undefined && Date.parse(sendAt) > now.getTime() + 1000;
    // Set by the change that wins the write: `update` answers with the stored value when
    // nothing changed, and a second press of Send must hear "already sent".
    let sentNow = false;
    const updated = await this.deps.store.update(id, (a) => {
      sentNow = a.status === 'draft' || a.status === 'scheduled';
      if (!sentNow) return null;
      return later
        ? { ...a, status: 'scheduled', sendAt: sendAt as string }
        : { ...a, status: 'sending', sentAt: now.toISOString() };
    });
    if (!updated || !sentNow) return this.fail(409, 'already_sent', 'alreadySent');
    if (updated.status === 'scheduled' && updated.sendAt) {
      await this.deps.bus.schedule(
        { kind: 'broadcast-send', id: `${id}:${updated.sendAt}`, broadcastId: id },
        Date.parse(updated.sendAt) - now.getTime(),
      );
    } else {
      await this.deps.bus.enqueueBroadcast({ id });
    }
    this.deps.log.info({ broadcastId: id, scheduled: updated.status === 'scheduled' }, 'broadcast sent');
    return this.progress(sender, id);
  }

  /** Stops what has not left yet: the fan-out, and every message still queued. */
  async cancel(sender: Staff, id: string): Promise<Result<ProgressView>> {
    const found = await this.owned(sender, id, 'write');
    if (!found.ok) return found;
    const at = this.deps.now().toISOString();
    const updated = await this.deps.store.update(id, (a) =>
      a.status === 'cancelled' ? null : { ...a, status: 'cancelled', cancelledAt: at },
    );
    this.deps.log.info({ broadcastId: id, was: found.value.status }, 'broadcast cancelled');
    if (!updated) return this.fail(404, 'not_found', 'notFound');
    return this.progress(sender, id);
  }

  async progress(sender: Staff, id: string): Promise<Result<ProgressView>> {
    const found = await this.owned(sender, id, 'read');
    if (!found.ok) return found;
    return { ok: true, value: await this.progressOf(found.value) };
  }

  async notReachedCsv(sender: Staff, id: string): Promise<Result<string>> {
    const found = await this.progress(sender, id);
    return found.ok ? { ok: true, value: toCsv(found.value.notReached) } : found;
  }

  /** The explanation of a refusal, in Norwegian (or `lang`). */
  explain(reason: RefusalReason, sender: Staff, lang = 'nb'): string {
    if (reason !== 'fauScope') return this.deps.texts.t(`refused.${reason}`, {}, lang);
    const scopes = (sender.fauScope ?? []).map(parseFauScope);
    const names = scopes.map((s) =>
      s?.kind === 'trinn'
        ? this.deps.texts.t('scope.trinn', { trinn: s.trinn }, lang)
        : s?.kind === 'class'
          ? this.deps.texts.t('scope.class', { className: s.classId }, lang)
          : this.deps.texts.t('scope.school', {}, lang),
    );
    return this.deps.texts.t('refused.fauScope', { scope: names.join(', ') }, lang);
  }

  // ---- worker side ------------------------------------------------------------------

  /**
   * The fan-out, resumable and idempotent: the member list is fixed once; each batch
   * writes its guardians' entries (first write wins), adds one outbound job per guardian
   * on their first channel with a derived id (a redo adds nothing), then moves the cursor.
   * A worker killed anywhere in a batch redoes that batch, and only that batch.
   */
  async fanOut(job: BroadcastJob): Promise<void> {
    const { store, log, settings } = this.deps;
    let a = await store.get(job.id);
    if (!a || (a.status !== 'sending' && a.status !== 'sent')) return;
    const members =
      (await store.members(a.id)) ??
      (await store.membersOnce(a.id, (await this.members(a.audience)).members));
    const start = await store.cursor(a.id);
    for (let i = start; i < members.length; i += settings.batch) {
      a = await store.get(a.id);
      if (!a || a.status === 'cancelled') {
        log.info({ broadcastId: job.id, at: i }, 'broadcast fan-out stopped: cancelled');
        return;
      }
      const slice = members.slice(i, i + settings.batch);
      const plans = await this.plansFor(slice);
      a = await this.ensureTexts(a, plans);
      const at = this.deps.now().toISOString();
      const stored = await store.entriesOnce(
        a.id,
        plans.map((p) => initialEntry(p, at)),
      );
      await this.enqueue(
        a,
        stored.filter((e) => e.status === 'queued'),
      );
      await store.setCursor(a.id, i + slice.length);
    }
    const done = this.deps.now();
    await store.update(a.id, (x) =>
      x.fannedOutAt
        ? null
        : { ...x, status: x.status === 'sending' ? 'sent' : x.status, fannedOutAt: done.toISOString() },
    );
    await this.deps.bus.schedule(reportJob(a.id, 0), firstReportDelayMs(done, settings));
    log.info({ broadcastId: a.id, guardians: members.length }, 'broadcast fanned out');
  }

  /**
   * Marks the announcement failed and schedules its report like a finished fan-out's (same
   * job id: a repeated call adds nothing). Members the fan-out never came to are reported
   * as `not-sent` (see `notSent`).
   */
  async fanOutFailed(job: BroadcastJob, reason: string): Promise<void> {
    const now = this.deps.now();
    const at = now.toISOString();
    const failed = await this.deps.store.update(job.id, (a) =>
      a.status === 'sending' && !a.fannedOutAt
        ? { ...a, status: 'failed', failedAt: at, failure: reason }
        : null,
    );
    if (failed?.status !== 'failed') return;
    this.deps.log.error({ broadcastId: job.id, reason }, 'broadcast fan-out gave up: marked failed');
    // Scheduled first: should the rest fail too, the families are still reported.
    await this.deps.bus.schedule(reportJob(failed.id, 0), firstReportDelayMs(now, this.deps.settings));
    await this.leftBehind(failed);
  }

  /**
   * Makes whole what a fan-out that gave up left: the member list (fixed now if it never
   * was), and the batch it stopped in, whose entries may be written while their jobs are
   * not. What the tracking calls queued is queued again, or the report would wait for it
   * for all its rounds; a job id already added is a no-op, and prepare drops a try
   * already overtaken.
   */
  private async leftBehind(a: Announcement) {
    const { store } = this.deps;
    const members =
      (await store.members(a.id)) ??
      (await store.membersOnce(a.id, (await this.members(a.audience)).members));
    const rest = members.slice(await store.cursor(a.id)).map((m) => m.guardianId);
    const queued = (await store.entries(a.id, rest)).filter((e) => e.status === 'queued');
    if (queued.length > 0) await this.enqueue(a, queued);
  }

  async timer(job: BroadcastTimerJob): Promise<void> {
    if (job.kind === 'broadcast-send') return this.startScheduled(job);
    if (job.kind === 'broadcast-receipt') return this.receiptDue(job);
    return reportDue(this.report, job);
  }

  async prepare(job: OutboundJob): Promise<OutboundJob | null> {
    const b = job.broadcast;
    if (!b) return job;
    const a = await this.deps.store.get(b.id);
    if (!a) return null;
    if (a.status === 'cancelled') {
      await this.record(b.id, b.guardianId, b.attempt, 'cancelled');
      return null;
    }
    const entry = await this.deps.store.entry(b.id, b.guardianId);
    if (entry && (entry.attempt !== b.attempt || entry.status !== 'queued')) return null;
    return { ...job, text: a.texts[job.lang]?.text ?? a.text };
  }

  async afterSend(
    job: OutboundJob,
    outcome: { status: 'sent' | 'delivered' | 'read' | 'failed'; error?: string },
  ): Promise<void> {
    const b = job.broadcast;
    if (!b) return;
    await this.record(b.id, b.guardianId, b.attempt, outcome.status, outcome.error);
  }

  /** A platform's status callback (e.g. Twilio's), found by its reply id; other receipts are ignored. */
  async onReceipt(receipt: {
    replyId: string;
    status: 'sent' | 'delivered' | 'read' | 'failed';
    error?: string;
  }) {
    const ref = parseBroadcastReplyId(receipt.replyId);
    if (!ref) return;
    const entry = await this.deps.store.entry(ref.id, ref.guardianId);
    const attempt = entry?.routes.findIndex((r) => r.channel === ref.channel) ?? -1;
    if (attempt < 0) return;
    await this.record(ref.id, ref.guardianId, attempt, receipt.status, receipt.error);
  }

  // ---- internals --------------------------------------------------------------------

  /** Applies a report to a guardian; a new failure moves them on, a new `sent` starts the receipt clock. */
  private async record(
    id: string,
    guardianId: string,
    attempt: number,
    status: DeliveryStatus,
    error?: string,
  ) {
    const at = this.deps.now().toISOString();
    const { entry, changed } = await this.deps.store.updateEntry(id, guardianId, (e) =>
      transition(e, { attempt, status, at, ...(error ? { error } : {}) }),
    );
    if (!changed || !entry) return;
    const channel = entry.routes[attempt]?.channel;
    if (status === 'failed') await this.fallback(id, guardianId, attempt);
    else if (
      status === 'sent' &&
      channel &&
      this.receiptChannels.has(channel) &&
      attempt + 1 < entry.routes.length
    ) {
      await this.deps.bus.schedule(
        {
          kind: 'broadcast-receipt',
          id: `${id}:${guardianId}:${attempt}`,
          broadcastId: id,
          guardianId,
          attempt,
        },
        this.deps.settings.receiptTimeoutMs,
      );
    }
  }

  /** The guardian's next channel, if they have one and the announcement still stands. */
  private async fallback(id: string, guardianId: string, attempt: number) {
    const a = await this.deps.store.get(id);
    if (!a || a.status === 'cancelled') return;
    const at = this.deps.now().toISOString();
    const { entry, changed } = await this.deps.store.updateEntry(id, guardianId, (e) =>
      e.attempt === attempt && (e.status === 'failed' || e.status === 'sent') ? nextTry(e, at) : null,
    );
    if (!changed || !entry) return;
    this.deps.log.info(
      { broadcastId: id, from: entry.routes[attempt]?.channel, to: entry.routes[entry.attempt]?.channel },
      'broadcast: trying the next channel',
    );
    await this.enqueue(a, [entry]);
  }

  private async receiptDue(job: BroadcastTimerJob) {
    const { guardianId, attempt } = job;
    if (guardianId === undefined || attempt === undefined) return;
    const entry = await this.deps.store.entry(job.broadcastId, guardianId);
    if (!entry || entry.attempt !== attempt || entry.status !== 'sent') return;
    if (attempt + 1 >= entry.routes.length) return; // the last channel: stays "sent, unconfirmed"
    await this.record(job.broadcastId, guardianId, attempt, 'failed', 'no-receipt');
  }

  private async startScheduled(job: BroadcastTimerJob) {
    const at = this.deps.now().toISOString();
    const updated = await this.deps.store.update(job.broadcastId, (a) =>
      a.status === 'scheduled' && job.id === `${a.id}:${a.sendAt}`
        ? { ...a, status: 'sending', sentAt: at }
        : null,
    );
    if (updated?.status === 'sending' && updated.sentAt === at)
      await this.deps.bus.enqueueBroadcast({ id: updated.id });
  }

  /** One outbound job per entry on its current channel; SMS held back through quiet hours. */
  private async enqueue(a: Announcement, entries: readonly TrackEntry[]) {
    const now = this.deps.now();
    const jobs = entries.flatMap((e) => {
      const route = e.routes[e.attempt];
      if (!route) return [];
      const job: OutboundJob = {
        channel: route.channel,
        replyId: broadcastReplyId(a.id, e.guardianId, route.channel),
        conversationId: route.address,
        lang: a.texts[e.lang] ? e.lang : STAFF_LANG,
        dir: RTL.has(e.lang) && a.texts[e.lang] ? 'rtl' : 'ltr',
        // The announcement holds each language's text once; `prepare` puts it in at the send.
        text: '',
        choices: [],
        broadcast: { id: a.id, guardianId: e.guardianId, attempt: e.attempt },
      };
      return [job];
    });
    const sms = jobs.filter((j) => j.channel === 'sms');
    const others = jobs.filter((j) => j.channel !== 'sms');
    if (others.length) await this.deps.bus.enqueueOutboundBulk(others);
    if (sms.length) {
      const delayMs = this.deps.settings.quiet ? quietDelayMs(now, this.deps.settings.quiet) : 0;
      await this.deps.bus.enqueueOutboundBulk(sms, delayMs > 0 ? { delayMs } : {});
    }
  }

  private async resolve(audience: Audience, sender: Staff): Promise<ResolvedAudience> {
    const { source } = this.deps;
    const classById = audience.kind === 'class' ? await source.classById(audience.id) : undefined;
    const schoolId =
      audience.kind === 'school'
        ? audience.id
        : (classById?.schoolId ?? audience.schoolId ?? sender.schoolId);
    return resolveAudience(audience, sender.schoolId, {
      classes: await source.classes(schoolId),
      ...(classById ? { classById } : {}),
    });
  }

  private async members(audience: ResolvedAudience): Promise<{ members: Member[]; families: number }> {
    const pupils = await this.deps.source.pupils(
      audience.schoolId,
      new Set(audience.classes.map((c) => c.id)),
      this.deps.settings.batch,
    );
    return { members: membersOf(pupils), families: familiesOf(pupils) };
  }

  private async plan(audience: ResolvedAudience): Promise<{ plans: RecipientPlan[]; families: number }> {
    const { members, families } = await this.members(audience);
    const plans: RecipientPlan[] = [];
    for (let i = 0; i < members.length; i += this.deps.settings.batch)
      plans.push(...(await this.plansFor(members.slice(i, i + this.deps.settings.batch))));
    return { plans, families };
  }

  /** Plans of a batch of members: their records, SMS opt-outs, channel order. */
  private async plansFor(members: readonly Member[]): Promise<RecipientPlan[]> {
    const guardians = new Map(
      (await this.deps.source.guardians(members.map((m) => m.guardianId))).map((g) => [g.id, g]),
    );
    const phones = [...guardians.values()].flatMap((g) => (g.phone ? [g.phone] : []));
    const optedOut = this.deps.optOuts ? await this.deps.optOuts.optedOut(phones) : new Set<string>();
    return members.flatMap((m) => {
      const g = guardians.get(m.guardianId);
      return g ? [planRecipient(g, m, this.available, g.phone ? optedOut.has(g.phone) : false)] : [];
    });
  }

  /** Machine translation of `text` into every language but Norwegian, in one request. */
  private async translate(text: string, langs: readonly string[]): Promise<Record<string, LangText>> {
    const targets = langs.filter((l) => l !== STAFF_LANG).sort();
    const texts: Record<string, LangText> = { [STAFF_LANG]: { text, translated: false, edited: false } };
    if (targets.length === 0) return texts;
    const [row] = await this.deps.translator.translateMany([text], targets, STAFF_LANG);
    targets.forEach((lang, j) => {
      const t = row?.[j];
      texts[lang] = { text: t?.text ?? text, translated: t?.translated ?? false, edited: false };
    });
    return texts;
  }

  /** Languages that came into the audience after the draft (the register changed) get their translation now. */
  private async ensureTexts(a: Announcement, plans: readonly RecipientPlan[]): Promise<Announcement> {
    const missing = [...new Set(plans.map((p) => p.lang))].filter((l) => !(l in a.texts));
    if (missing.length === 0) return a;
    const added = await this.translate(a.text, missing);
    const billed =
      Object.entries(added).filter(([l, t]) => l !== STAFF_LANG && t.translated).length * a.text.length;
    const merge = (x: Announcement): Announcement => ({
      ...x,
      texts: { ...added, ...x.texts },
      billedCharacters: x.billedCharacters + billed,
    });
    return (await this.deps.store.update(a.id, merge)) ?? merge(a);
  }

  private view(a: Announcement, plans: RecipientPlan[], families: number): PreviewView {
    const startAt =
      a.sendAt && Date.parse(a.sendAt) > this.deps.now().getTime() ? new Date(a.sendAt) : this.deps.now();
    const targets = Object.keys(a.texts).filter((l) => l !== STAFF_LANG);
    return {
      id: a.id,
      status: a.status,
      audience: a.audience,
      ...(a.sendAt ? { sendAt: a.sendAt } : {}),
      text: a.text,
      preview: summarise(plans, a.texts, {
        families,
        smsSegmentsPerSecond: this.deps.settings.smsSegmentsPerSecond,
        pricePerSegmentNok: this.deps.settings.pricePerSegmentNok,
        startAt,
        ...(this.deps.settings.quiet ? { quiet: this.deps.settings.quiet } : {}),
      }),
      translation: {
        languages: targets.filter((l) => a.texts[l]?.translated || a.texts[l]?.edited),
        characters: a.billedCharacters,
      },
    };
  }

  private async progressOf(a: Announcement): Promise<ProgressView> {
    const members = (await this.deps.store.members(a.id)) ?? [];
    const entries = await this.deps.store.entries(
      a.id,
      members.map((m) => m.guardianId),
    );
    const progress = progressOf([...entries, ...(await this.notSent(a, members, entries))], {
      now: this.deps.now(),
      receiptTimeoutMs: this.deps.settings.receiptTimeoutMs,
      receiptChannels: this.receiptChannels,
    });
    const fannedOut = a.fannedOutAt !== undefined;
    return {
      id: a.id,
      status: a.status,
      ...(a.sendAt ? { sendAt: a.sendAt } : {}),
      fannedOut,
      ...(a.reportedAt ? { reportedAt: a.reportedAt } : {}),
      ...progress,
      settled: progress.settled && (fannedOut || a.status === 'cancelled' || a.status === 'failed'),
    };
  }

  /**
   * The members a failed fan-out never came to, as stand-in `not-sent` entries (names from
   * the register), so that progress, report and CSV count them; none for any other status.
   */
  private async notSent(
    a: Announcement,
    members: readonly Member[],
    entries: readonly TrackEntry[],
  ): Promise<TrackEntry[]> {
    if (a.status !== 'failed') return [];
    const tracked = new Set(entries.map((e) => e.guardianId));
    const missing = members.filter((m) => !tracked.has(m.guardianId));
    const out: TrackEntry[] = [];
    for (let i = 0; i < missing.length; i += this.deps.settings.batch) {
      const slice = missing.slice(i, i + this.deps.settings.batch);
      const known = new Map(
        (await this.deps.source.guardians(slice.map((m) => m.guardianId))).map((g) => [g.id, g]),
      );
      out.push(...slice.map((m) => notSentEntry(m, known.get(m.guardianId), a.failedAt ?? a.createdAt)));
    }
    return out;
  }

  /**
   * The announcement if this sender may see (`read`) or change (`write`) it: its sender
   * or the school's rektor/office; a kontaktlærer of a class in it may read. The right
   * to its audience is checked again, as on every request.
   */
  private async owned(sender: Staff, id: string, mode: 'read' | 'write'): Promise<Result<Announcement>> {
    const a = await this.deps.store.get(id);
    if (!a) return this.fail(404, 'not_found', 'notFound');
    const decision = mayBroadcast(sender, a.audience);
    const leader =
      sender.schoolId === a.schoolId && (sender.roles.includes('rektor') || sender.roles.includes('office'));
    const teacherOf =
      sender.schoolId === a.schoolId &&
      sender.roles.includes('kontaktlaerer') &&
      a.audience.classes.some((c) => sender.classIds.includes(c.id));
    if (sender.id === a.sender.id || leader) {
      if (!decision.ok) return this.refuse(sender, a.audience, decision);
      return { ok: true, value: a };
    }
    if (mode === 'read' && teacherOf) return { ok: true, value: a };
    this.deps.log.warn({ broadcastId: id, staffId: sender.id, mode }, 'broadcast access refused: not theirs');
    return this.fail(403, 'not_yours', 'notYours');
  }

  private refuse(sender: Staff, audience: ResolvedAudience, decision: Decision): Result<never> {
    const reason = decision.ok ? 'noRole' : decision.reason;
    // Ids and kinds only: no names, no text.
    this.deps.log.warn(
      { staffId: sender.id, roles: sender.roles, audience: audience.kind, reason },
      'broadcast refused',
    );
    return {
      ok: false,
      status: 403,
      error: 'broadcast_refused',
      reason,
      message: this.explain(reason, sender),
    };
  }

  private fail(status: 400 | 403 | 404 | 409, error: string, key: string): Result<never> {
    return { ok: false, status, error, message: this.deps.texts.t(key) };
  }
}
