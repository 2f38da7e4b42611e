import { STAFF_LANG } from '../i18n/locales.ts';
import type { Logger } from '../log.ts';
import type { JobBus } from '../queue/bus.ts';
import type { BroadcastTimerJob } from '../queue/jobs.ts';
import type { Store } from '../store/store.ts';
import type { AudienceSource } from './audience.ts';
import type { Announcement } from './model.ts';
import type { NotReached, Progress } from './progress.ts';
import { type QuietHours, quietDelayMs } from './schedule.ts';
import type { BroadcastStore } from './store.ts';
import type { BroadcastTexts } from './texts.ts';

export interface ReportDeps {
  store: Pick<BroadcastStore, 'get' | 'update'>;
  /** Who the kontaktlærere of the school are. */
  source: Pick<AudienceSource, 'teachers'>;
  bus: Pick<JobBus, 'schedule'>;
  /** Where the teachers' reports go (their staff inbox threads). Unset: logged only. */
  threads?: Pick<Store, 'addToThread'>;
  /** The announcement's progress; `settled` only once its fan-out is over (finished, failed or cancelled). */
  progress: (a: Announcement) => Promise<Pick<Progress, 'settled' | 'notReached'>>;
  settings: {
    receiptTimeoutMs: number;
    /** Report rounds (each `receiptTimeoutMs` apart) before the report goes out with what is still open. Default 48. */
    reportRounds?: number;
  };
  texts: BroadcastTexts;
  log: Logger;
  now: () => Date;
}

/** The report timer of round `round`; the id makes a second schedule of a round a no-op. */
export const reportJob = (broadcastId: string, round: number): BroadcastTimerJob => ({
  kind: 'broadcast-report',
  id: `${broadcastId}:report:${round}`,
  broadcastId,
  attempt: round,
});

/**
 * When the first report round is due after the fan-out ended at `at`: once SMS held back
 * through quiet hours have left and had `receiptTimeoutMs` for a receipt (plus 5 s slack). Pure.
 */
export function firstReportDelayMs(
  at: Date,
  settings: { quiet?: QuietHours; receiptTimeoutMs: number },
): number {
  const quiet = settings.quiet ? quietDelayMs(at, settings.quiet) : 0;
  return quiet + settings.receiptTimeoutMs + 5000;
}

/**
 * A report round: when nothing is in flight any more (or after `reportRounds` rounds), each
 * kontaktlærer of a class in the audience gets the list of their families not reached,
 * once; otherwise the next round is scheduled.
 */
export async function reportDue(deps: ReportDeps, job: BroadcastTimerJob): Promise<void> {
  const { store, settings, log } = deps;
  const a = await store.get(job.broadcastId);
  if (!a || a.reportedAt) return;
  const progress = await deps.progress(a);
  const round = job.attempt ?? 0;
  if (!progress.settled && round + 1 < (settings.reportRounds ?? 48)) {
    await deps.bus.schedule(reportJob(a.id, round + 1), settings.receiptTimeoutMs);
    return;
  }
  const at = deps.now().toISOString();
  // Marked before anything is posted: a redelivered round posts nothing twice.
  const marked = await store.update(a.id, (x) => (x.reportedAt ? null : { ...x, reportedAt: at }));
  if (marked?.reportedAt !== at) return;
  const teachers = await deps.source.teachers(a.schoolId);
  let notified = 0;
  for (const cls of a.audience.classes) {
    const rows = progress.notReached.filter((r) => r.classIds.includes(cls.id));
    if (rows.length === 0) continue;
    const text = reportText(a, cls.id, rows, deps.texts);
    for (const teacher of teachers.filter((t) => t.classIds.includes(cls.id))) {
      notified++;
      await deps.threads?.addToThread(
        {
          id: `web:broadcast-report:${a.id}:${teacher.id}`,
          channel: 'web',
          conversationId: `broadcast-report:${a.id}:${teacher.id}`,
          lang: STAFF_LANG,
        },
        {
          id: `${a.id}:${cls.id}`,
          at,
          from: 'system',
          kind: 'message',
          to: [teacher.id],
          norwegian: { text, translated: false },
        },
        [teacher.id],
      );
    }
  }
  log.info(
    { broadcastId: a.id, notReached: progress.notReached.length, teachersNotified: notified },
    'broadcast report',
  );
}

/**
 * One class's report: a heading, a line per guardian not reached with why, and a footer.
 * A reason without a text of its own reads as "sending failed (<code>)". Pure.
 */
export function reportText(
  a: Announcement,
  classId: string,
  rows: readonly NotReached[],
  texts: BroadcastTexts,
): string {
  const { t } = texts;
  const reason = (code: string) => {
    const key = `reason.${code}`;
    return t(key) === key ? `${t('reason.failed')} (${code})` : t(key);
  };
  return [
    t('report.heading', {
      sender: a.sender.name,
      date: (a.sentAt ?? a.createdAt).slice(0, 10),
      className: classId,
    }),
    ...rows.map((r) => t('report.line', { name: r.name, lang: r.lang, reason: reason(r.reason) })),
    t('report.footer'),
  ].join('\n');
}
