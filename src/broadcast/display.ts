import type { ChatTexts } from './chat.ts';
import { NOT_SENT } from './progress.ts';
import type { PreviewView, ProgressView } from './service.ts';

/**
 * What the chat adapters show a sender about an announcement, whatever the platform:
 * numbers, amounts, language names and durations as the reader writes them, and the
 * progress of a sending in numbers. Pure. The words come from each adapter's texts.
 */

/** The time texts a duration is worded with. */
export type DurationKey = 'broadcast.time.underMinute' | 'broadcast.time.minutes' | 'broadcast.time.hours';

const locale = (lang: string) => (lang === 'en' ? 'en-GB' : 'nb-NO');

/** A number as the reader writes it (`1 234`, `2,50`); `digits` after the decimal sign, default 0. */
export function formatNumber(lang: string, n: number, digits = 0): string {
  return new Intl.NumberFormat(locale(lang), {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(n);
}

/** An amount in Norwegian kroner as the reader writes it (`2,50 kr`, `NOK 2.50`). */
export function formatNok(lang: string, amount: number): string {
  return new Intl.NumberFormat(locale(lang), { style: 'currency', currency: 'NOK' }).format(amount);
}

/** A language's name in the reader's language (`so` → `somali`), or the code. */
export function languageName(code: string, lang: string): string {
  try {
    const name = new Intl.DisplayNames([lang === 'en' ? 'en' : 'nb'], { type: 'language' }).of(code);
    return name && name !== code ? name : code;
  } catch {
    return code;
  }
}

/** A duration in seconds as "under a minute", "about 5 min", "about 2 h". */
export function duration(
  seconds: number,
  t: (key: DurationKey, params?: Record<string, string | number>) => string,
): string {
  if (seconds < 60) return t('broadcast.time.underMinute');
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 90) return t('broadcast.time.minutes', { count: minutes });
  return t('broadcast.time.hours', { count: Math.round(minutes / 60) });
}

/** A time of day in Oslo, `HH:MM`, with the date when it is not `now`'s day. */
export function clockTime(iso: string, lang: string, now: Date): string {
  const at = new Date(iso);
  const day = (d: Date) => d.toLocaleDateString('sv-SE', { timeZone: 'Europe/Oslo' });
  const time = at.toLocaleTimeString(locale(lang), {
    timeZone: 'Europe/Oslo',
    hour: '2-digit',
    minute: '2-digit',
  });
  if (day(at) === day(now)) return time;
  const date = at.toLocaleDateString(locale(lang), {
    timeZone: 'Europe/Oslo',
    day: 'numeric',
    month: 'long',
  });
  return `${date} ${time}`;
}

/** Where a sending stands, in numbers. */
export interface ProgressNumbers {
  state: 'starting' | 'sending' | 'waiting' | 'done' | 'cancelled' | 'failed';
  /** Guardians tracked so far (grows while the fan-out runs). */
  total: number;
  /** Guardians whose message has left (or who needed none): all but those queued or never sent. */
  done: number;
  /** 0–100; 100 only when the fan-out is over and nothing is queued. */
  percent: number;
  delivered: number;
  /** Sent and not (yet) confirmed, not counted as not reached. */
  sent: number;
  queued: number;
  notReached: number;
  /** Reached: not in the not-reached list, not cancelled, not pending (exact once settled). */
  reached: number;
}

/** The numbers of a progress view. Pure. */
export function progressNumbers(p: ProgressView): ProgressNumbers {
  const n = (s: keyof ProgressView['byStatus']) => p.byStatus[s] ?? 0;
  const total = p.guardians;
  const queued = n('queued');
  // Members a failed fan-out never came to are in the total, but nothing left for them.
  const done = total - queued - p.notReached.filter((r) => r.reason === NOT_SENT).length;
  const sentNotReached = p.notReached.filter((r) => r.status === 'sent').length;
  let percent = total > 0 ? Math.floor((done / total) * 100) : 0;
  if (!p.fannedOut && percent === 100) percent = 99;
  if (p.settled && p.status !== 'cancelled' && p.status !== 'failed') percent = 100;
  const state: ProgressNumbers['state'] =
    p.status === 'cancelled' || p.status === 'failed'
      ? p.status
      : p.settled
        ? 'done'
        : total === 0
          ? 'starting'
          : queued > 0 || !p.fannedOut
            ? 'sending'
            : 'waiting';
  return {
    state,
    total,
    done,
    percent,
    delivered: n('delivered') + n('read'),
    sent: Math.max(0, n('sent') - sentNotReached),
    queued,
    notReached: p.notReached.length,
    reached: Math.max(0, total - p.notReached.length - n('cancelled')),
  };
}

/** Ten cells, filled by the percentage (0–100). */
export function progressBar(percent: number): string {
  const full = Math.max(0, Math.min(10, Math.floor(percent / 10)));
  return `${'█'.repeat(full)}${'░'.repeat(10 - full)}`;
}

/** Languages written right to left among those the schools use (DOMAIN.md), and Hebrew. */
const RIGHT_TO_LEFT = new Set(['ar', 'ur', 'fa', 'prs', 'ps', 'ku', 'he']);

/** Whether a language's text is shown right to left. */
export const isRightToLeft = (lang: string): boolean => RIGHT_TO_LEFT.has(lang);

// ---- words shared by the chat adapters ---------------------------------------------------

/**
 * The facts of a preview, one a line: families, parents and languages; SMS messages,
 * segments and cost (or none); the estimated time; when SMS are held back (quiet hours);
 * how many cannot be reached. Pure.
 */
export function previewFacts(view: PreviewView, lang: string, now: Date, t: ChatTexts): string[] {
  const p = view.preview;
  const seconds = Math.max(0, ...p.channels.map((c) => c.seconds));
  return [
    t('broadcast.preview.summary', {
      families: formatNumber(lang, p.families),
      guardians: formatNumber(lang, p.guardians),
      languages: formatNumber(lang, p.languages.length),
    }),
    p.sms.messages > 0
      ? t('broadcast.preview.sms', {
          messages: formatNumber(lang, p.sms.messages),
          segments: formatNumber(lang, p.sms.segments),
          cost: formatNok(lang, p.sms.nok),
        })
      : t('broadcast.preview.noSms'),
    t('broadcast.preview.time', { time: duration(seconds, t) }),
    ...(p.smsDeferredUntil
      ? [t('broadcast.preview.smsDeferred', { at: clockTime(p.smsDeferredUntil, lang, now) })]
      : []),
    ...(p.optedOut + p.unreachable > 0
      ? [t('broadcast.preview.notReachable', { count: formatNumber(lang, p.optedOut + p.unreachable) })]
      : []),
  ];
}

/** How a language's text in a preview came about: edited, translated, or not (nothing for Norwegian). Pure. */
export function translationNote(l: PreviewView['preview']['languages'][number], t: ChatTexts): string {
  if (l.edited) return t('broadcast.preview.edited');
  if (l.translated) return t('broadcast.preview.translated');
  return l.lang === 'nb' ? '' : t('broadcast.preview.notTranslated');
}

/** The percentage sent, in words: `25 % sendt (1 av 4 foresatte)`. Pure. */
export function progressLine(nums: ProgressNumbers, lang: string, t: ChatTexts): string {
  return t('broadcast.progress.percent', {
    percent: nums.percent,
    done: formatNumber(lang, nums.done),
    total: formatNumber(lang, nums.total),
  });
}

/** Where a sending stands, in words: once done, how many were reached (and the report when some were not). Pure. */
export function progressStatus(nums: ProgressNumbers, lang: string, t: ChatTexts): string {
  if (nums.state === 'cancelled') return t('broadcast.progress.cancelled');
  if (nums.state === 'failed') return t('broadcast.progress.failed');
  if (nums.state !== 'done') return t(`broadcast.progress.${nums.state}`);
  return [
    t('broadcast.progress.done', {
      reached: formatNumber(lang, nums.reached),
      total: formatNumber(lang, nums.total),
    }),
    ...(nums.notReached > 0 ? [t('broadcast.progress.report')] : []),
  ].join(' ');
}
