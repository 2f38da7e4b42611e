import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { types } from '@slack/bolt';
import { z } from 'zod';
import type { Audience } from '../../src/broadcast/model.ts';
import type { PreviewView, ProgressView } from '../../src/broadcast/service.ts';
import { textsFrom } from '../../src/broadcast/texts.ts';
import type { ClassGroup } from '../../src/directory/model.ts';
import { MAX_TEXT } from '../../src/queue/jobs.ts';
import { type Block, escapeText, LIMITS, type SlackMessage, truncate } from './blocks.ts';
import { fromSlackText } from './inbound.ts';

/**
 * `/skolebro kunngjøring <audience> <text>` (or `/skolebro broadcast …`): parsing the
 * command, the preview and the progress message as Block Kit, and the texts they use.
 * Pure, but for reading the texts once at start-up. The I/O is in broadcast-flow.ts.
 */

// ---- texts ---------------------------------------------------------------------------

/**
 * The keys of the `slack` section of locales/<nb|en>/ui.json. They live outside
 * `messages` (like the `broadcast` section): staff texts in Norwegian and English with
 * counts as parameters, not conversation texts every language must have.
 */
export const BROADCAST_KEYS = [
  'broadcast.help',
  'broadcast.usage',
  'broadcast.noAudience',
  'broadcast.noText',
  'broadcast.tooLong',
  'broadcast.notStaff',
  'broadcast.working',
  'broadcast.failed',
  'broadcast.alreadySent',
  'broadcast.audience.class',
  'broadcast.audience.trinn',
  'broadcast.audience.school',
  'broadcast.preview.heading',
  'broadcast.preview.original',
  'broadcast.preview.summary',
  'broadcast.preview.sms',
  'broadcast.preview.noSms',
  'broadcast.preview.time',
  'broadcast.preview.smsDeferred',
  'broadcast.preview.notReachable',
  'broadcast.preview.langGuardians',
  'broadcast.preview.langSms',
  'broadcast.preview.translated',
  'broadcast.preview.edited',
  'broadcast.preview.notTranslated',
  'broadcast.preview.more',
  'broadcast.preview.check',
  'broadcast.time.underMinute',
  'broadcast.time.minutes',
  'broadcast.time.hours',
  'broadcast.button.send',
  'broadcast.button.cancel',
  'broadcast.sent',
  'broadcast.cancelled',
  'broadcast.progress.heading',
  'broadcast.progress.percent',
  'broadcast.progress.delivered',
  'broadcast.progress.sent',
  'broadcast.progress.queued',
  'broadcast.progress.notReached',
  'broadcast.progress.starting',
  'broadcast.progress.sending',
  'broadcast.progress.waiting',
  'broadcast.progress.done',
  'broadcast.progress.report',
  'broadcast.progress.cancelled',
] as const;
export type BroadcastKey = (typeof BROADCAST_KEYS)[number];

/** A text in `lang` (nb or en; any other language gets Norwegian), `{name}` filled from `params`. */
export type SlackBroadcastTexts = (
  lang: string,
  key: BroadcastKey,
  params?: Record<string, string | number>,
) => string;

const section = z.record(z.string(), z.string());

/** The `slack` section of nb and en from data; throws when either lacks a key. */
export function broadcastTextsFrom(byLang: Map<string, Record<string, string>>): SlackBroadcastTexts {
  for (const lang of ['nb', 'en']) {
    const missing = BROADCAST_KEYS.filter((k) => byLang.get(lang)?.[k] === undefined);
    if (missing.length > 0)
      throw new Error(`locales: ${lang}/ui.json lacks slack.${missing.join(', slack.')}`);
  }
  const texts = textsFrom(byLang);
  return (lang, key, params = {}) => texts.t(key, params, lang === 'en' ? 'en' : 'nb');
}

/** Reads the `slack` section of locales/nb and locales/en; fails fast when a key is missing. */
export function loadBroadcastTexts(localesDir: string): SlackBroadcastTexts {
  const byLang = new Map<string, Record<string, string>>();
  for (const lang of ['nb', 'en']) {
    const file = join(localesDir, lang, 'ui.json');
    if (!existsSync(file)) continue;
    const parsed = section.safeParse((JSON.parse(readFileSync(file, 'utf8')) as { slack?: unknown }).slack);
    if (parsed.success) byLang.set(lang, parsed.data);
  }
  return broadcastTextsFrom(byLang);
}

/** The repository's locales/ folder: the default when the config names none. */
export const DEFAULT_LOCALES_DIR = join(import.meta.dirname, '..', '..', 'locales');

// ---- the command -----------------------------------------------------------------------

/** First words of the subcommand. */
const BROADCAST_WORDS = new Set(['kunngjøring', 'kunngjoring', 'kunngjør', 'broadcast', 'announce']);

/** Whether a `/skolebro` text is the broadcast subcommand. Pure. */
export function isBroadcastCommand(text: string): boolean {
  return BROADCAST_WORDS.has(text.trim().split(/\s+/)[0]?.toLowerCase() ?? '');
}

/** The audience as written: a class (its name or id), a trinn, or the whole school. */
export type AudienceRef =
  | { kind: 'class'; ref: string }
  | { kind: 'trinn'; trinn: number }
  | { kind: 'school' };

export type ParsedBroadcast =
  | { ok: true; audience: AudienceRef; text: string }
  | { ok: false; problem: 'noAudience' | 'noText' | 'tooLong' };

/** Audience forms, tried in order on what follows the subcommand; `$` or whitespace must follow. */
const AUDIENCES: Array<{ re: RegExp; ref: (m: RegExpExecArray) => AudienceRef }> = [
  {
    re: /^(?:klasse|klassen|class)\s+([^\s:,;]+)[:,;]?(?=\s|$)/iu,
    ref: (m) => ({ kind: 'class', ref: m[1] as string }),
  },
  {
    re: /^(?:trinn|grade|year)\s+(\d{1,2})\.?[:,;]?(?=\s|$)/iu,
    ref: (m) => ({ kind: 'trinn', trinn: Number(m[1]) }),
  },
  { re: /^(\d{1,2})\.\s*trinn[:,;]?(?=\s|$)/iu, ref: (m) => ({ kind: 'trinn', trinn: Number(m[1]) }) },
  {
    re: /^(?:hele\s+skolen|skolen|skole|school|whole\s+school)[:,;]?(?=\s|$)/iu,
    ref: () => ({ kind: 'school' }),
  },
];

/**
 * `kunngjøring klasse 3A Husk foreldremøtet` → the audience and the text (Slack's markup
 * turned back into plain text, line breaks kept). Audiences: `klasse|class <name or id>`,
 * `trinn <n>` (or `<n>. trinn`), `skole` / `hele skolen` / `school`. Pure.
 */
export function parseBroadcast(commandText: string): ParsedBroadcast {
  const rest = commandText.trim().replace(/^\S+\s*/u, '');
  for (const { re, ref } of AUDIENCES) {
    const m = re.exec(rest);
    if (!m) continue;
    const text = fromSlackText(rest.slice(m[0].length)).trim();
    if (text === '') return { ok: false, problem: 'noText' };
    if (text.length > MAX_TEXT) return { ok: false, problem: 'tooLong' };
    return { ok: true, audience: ref(m), text };
  }
  return { ok: false, problem: 'noAudience' };
}

/** A class of the school by id (`bjerkedalen-3a`), short id (`3a`) or name (`3A`), case-insensitively. Pure. */
export function findClass(
  ref: string,
  schoolId: string,
  classes: readonly ClassGroup[],
): ClassGroup | undefined {
  const want = ref.toLowerCase();
  const own = classes.filter((c) => c.schoolId === schoolId);
  return (
    own.find((c) => c.id.toLowerCase() === want) ??
    own.find((c) => c.id.toLowerCase() === `${schoolId}-${want}`.toLowerCase()) ??
    own.find((c) => c.name.toLowerCase() === want)
  );
}

/**
 * The service's audience for what was written, the class found (if any), and how to
 * name it to the sender. A class not found stays as written: the service refuses it
 * as an unknown audience, with its own explanation. Pure.
 */
export function toAudience(
  ref: AudienceRef,
  schoolId: string,
  classes: readonly ClassGroup[],
): {
  audience: Audience;
  classGroup?: ClassGroup;
  name: { key: BroadcastKey; params: Record<string, string | number> };
} {
  if (ref.kind === 'school')
    return {
      audience: { kind: 'school', id: schoolId },
      name: { key: 'broadcast.audience.school', params: {} },
    };
  if (ref.kind === 'trinn')
    return {
      audience: { kind: 'trinn', id: String(ref.trinn), schoolId },
      name: { key: 'broadcast.audience.trinn', params: { trinn: ref.trinn } },
    };
  const found = findClass(ref.ref, schoolId, classes);
  return {
    audience: { kind: 'class', id: found?.id ?? ref.ref, schoolId },
    ...(found ? { classGroup: found } : {}),
    name: { key: 'broadcast.audience.class', params: { name: found?.name ?? ref.ref } },
  };
}

// ---- Block Kit -------------------------------------------------------------------------

/** Action ids of the preview's buttons; their value is the `ActionValue` as JSON. */
export const SEND_ACTION = 'broadcast:send';
export const CANCEL_ACTION = 'broadcast:cancel';
export const BROADCAST_ACTION = /^broadcast:(send|cancel)$/;

/** What a preview button carries: the announcement and how the sender named its audience. */
export const actionValue = z.object({ id: z.string().min(1).max(100), audience: z.string().max(300) });
export type ActionValue = z.infer<typeof actionValue>;

/** The characters of each language's text shown in the preview. */
export const PREVIEW_CHARS = 300;
/** Languages shown one by one; the rest are counted (Slack's 50 blocks). */
const MAX_LANGUAGES = 40;

type Texts = (key: BroadcastKey, params?: Record<string, string | number>) => string;

const plain = (text: string): types.PlainTextElement => ({ type: 'plain_text', text, emoji: true });
const mrkdwn = (text: string): types.MrkdwnElement => ({ type: 'mrkdwn', text, verbatim: true });

/** Numbers as the reader writes them (`1 234`, `2,50`). */
function number(lang: string, n: number, digits = 0): string {
  return new Intl.NumberFormat(lang === 'en' ? 'en-GB' : 'nb-NO', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(n);
}

function nok(lang: string, amount: number): string {
  return new Intl.NumberFormat(lang === 'en' ? 'en-GB' : 'nb-NO', {
    style: 'currency',
    currency: 'NOK',
  }).format(amount);
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
export function duration(seconds: number, t: Texts): string {
  if (seconds < 60) return t('broadcast.time.underMinute');
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 90) return t('broadcast.time.minutes', { count: minutes });
  return t('broadcast.time.hours', { count: Math.round(minutes / 60) });
}

/** A time of day in Oslo, `HH:MM` (with the date when it is not today). */
function clock(iso: string, lang: string, now: Date): string {
  const at = new Date(iso);
  const locale = lang === 'en' ? 'en-GB' : 'nb-NO';
  const day = (d: Date) => d.toLocaleDateString('sv-SE', { timeZone: 'Europe/Oslo' });
  const time = at.toLocaleTimeString(locale, { timeZone: 'Europe/Oslo', hour: '2-digit', minute: '2-digit' });
  if (day(at) === day(now)) return time;
  return `${at.toLocaleDateString(locale, { timeZone: 'Europe/Oslo', day: 'numeric', month: 'long' })} ${time}`;
}

/**
 * The preview of a draft: heading, the Norwegian text, families, parents, languages,
 * SMS messages, segments and cost, the estimated time; then per language its name,
 * parents, SMS segments and the first 300 characters of its text; and Send / Avbryt.
 * Pure.
 */
export function renderPreview(
  view: PreviewView,
  ctx: { lang: string; audience: string; texts: SlackBroadcastTexts; now: Date },
): SlackMessage {
  const { lang } = ctx;
  const t: Texts = (key, params) => ctx.texts(lang, key, params);
  const p = view.preview;
  const heading = t('broadcast.preview.heading', { audience: ctx.audience });
  const blocks: Block[] = [{ type: 'header', text: plain(truncate(heading, LIMITS.headerText)) }];
  blocks.push({ type: 'section', text: mrkdwn(`*${escapeText(t('broadcast.preview.original'))}*`) });
  blocks.push({ type: 'section', text: plain(truncate(view.text, LIMITS.sectionText)) });

  const seconds = Math.max(0, ...p.channels.map((c) => c.seconds));
  const facts = [
    t('broadcast.preview.summary', {
      families: number(lang, p.families),
      guardians: number(lang, p.guardians),
      languages: number(lang, p.languages.length),
    }),
    p.sms.messages > 0
      ? t('broadcast.preview.sms', {
          messages: number(lang, p.sms.messages),
          segments: number(lang, p.sms.segments),
          cost: nok(lang, p.sms.nok),
        })
      : t('broadcast.preview.noSms'),
    t('broadcast.preview.time', { time: duration(seconds, t) }),
    ...(p.smsDeferredUntil
      ? [t('broadcast.preview.smsDeferred', { at: clock(p.smsDeferredUntil, lang, ctx.now) })]
      : []),
    ...(p.optedOut + p.unreachable > 0
      ? [t('broadcast.preview.notReachable', { count: number(lang, p.optedOut + p.unreachable) })]
      : []),
  ];
  blocks.push({ type: 'section', text: plain(facts.join('\n')) }, { type: 'divider' });

  for (const l of p.languages.slice(0, MAX_LANGUAGES)) {
    const how = l.edited
      ? t('broadcast.preview.edited')
      : l.translated
        ? t('broadcast.preview.translated')
        : l.lang === 'nb'
          ? ''
          : t('broadcast.preview.notTranslated');
    const lines = [
      `*${escapeText(`${languageName(l.lang, lang)} (${l.lang})`)}*`,
      escapeText(
        [t('broadcast.preview.langGuardians', { count: number(lang, l.guardians) }), how]
          .filter(Boolean)
          .join(' · '),
      ),
      ...(l.sms
        ? [escapeText(t('broadcast.preview.langSms', { segments: number(lang, l.sms.segmentsPerMessage) }))]
        : []),
    ];
    blocks.push({
      type: 'section',
      fields: [mrkdwn(lines.join('\n')), plain(truncate(l.text.trim() || view.text, PREVIEW_CHARS))],
    });
  }
  const more = p.languages.length - MAX_LANGUAGES;
  if (more > 0)
    blocks.push({ type: 'context', elements: [plain(t('broadcast.preview.more', { count: more }))] });
  blocks.push({ type: 'context', elements: [plain(t('broadcast.preview.check'))] });

  const value = JSON.stringify({ id: view.id, audience: truncate(ctx.audience, 300) } satisfies ActionValue);
  blocks.push({
    type: 'actions',
    elements: [
      {
        type: 'button',
        action_id: SEND_ACTION,
        style: 'primary',
        text: plain(truncate(t('broadcast.button.send'), LIMITS.buttonText)),
        value,
      },
      {
        type: 'button',
        action_id: CANCEL_ACTION,
        text: plain(truncate(t('broadcast.button.cancel'), LIMITS.buttonText)),
        value,
      },
    ],
  });
  return { text: escapeText(truncate(`${heading}: ${view.text}`, LIMITS.messageChars)), blocks };
}

/**
 * A message after its buttons were used: the same blocks without the buttons, and a
 * note of what happened under them. Pure.
 */
export function settlePreview(
  blocks: readonly unknown[] | undefined,
  fallback: string,
  note: string,
): SlackMessage {
  const kept = (blocks ?? []).filter(
    (b): b is Block => typeof b === 'object' && b !== null && (b as { type?: unknown }).type !== 'actions',
  );
  return {
    text: escapeText(truncate(`${fallback} ${note}`.trim(), LIMITS.messageChars)),
    blocks: [...kept.slice(0, LIMITS.blocksPerMessage - 1), { type: 'context', elements: [plain(note)] }],
  };
}

/** Where a sending stands, in numbers. */
export interface ProgressNumbers {
  state: 'starting' | 'sending' | 'waiting' | 'done' | 'cancelled';
  /** Guardians tracked so far (grows while the fan-out runs). */
  total: number;
  /** Guardians whose message has left (or who needed none): all but those queued. */
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
  const done = total - queued;
  const sentNotReached = p.notReached.filter((r) => r.status === 'sent').length;
  let percent = total > 0 ? Math.floor((done / total) * 100) : 0;
  if (!p.fannedOut && percent === 100) percent = 99;
  if (p.settled && p.status !== 'cancelled') percent = 100;
  const state: ProgressNumbers['state'] =
    p.status === 'cancelled'
      ? 'cancelled'
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

/** Ten cells, filled by the percentage. */
function bar(percent: number): string {
  const full = Math.floor(percent / 10);
  return `${'█'.repeat(full)}${'░'.repeat(10 - full)}`;
}

/** The progress message: a bar with the percentage sent, counts by outcome, and where it stands. Pure. */
export function renderProgress(
  view: ProgressView,
  ctx: { lang: string; audience: string; texts: SlackBroadcastTexts },
): SlackMessage {
  const { lang } = ctx;
  const t: Texts = (key, params) => ctx.texts(lang, key, params);
  const nums = progressNumbers(view);
  const heading = t('broadcast.progress.heading', { audience: ctx.audience });
  const line = t('broadcast.progress.percent', {
    percent: nums.percent,
    done: number(lang, nums.done),
    total: number(lang, nums.total),
  });
  const field = (key: BroadcastKey, value: number) =>
    mrkdwn(`*${escapeText(t(key))}*\n${number(lang, value)}`);
  const status =
    nums.state === 'cancelled'
      ? t('broadcast.progress.cancelled')
      : nums.state === 'done'
        ? [
            t('broadcast.progress.done', {
              reached: number(lang, nums.reached),
              total: number(lang, nums.total),
            }),
            ...(nums.notReached > 0 ? [t('broadcast.progress.report')] : []),
          ].join(' ')
        : t(`broadcast.progress.${nums.state}`);
  const blocks: Block[] = [
    { type: 'header', text: plain(truncate(heading, LIMITS.headerText)) },
    { type: 'section', text: plain(`${bar(nums.percent)}  ${line}`) },
    {
      type: 'section',
      fields: [
        field('broadcast.progress.delivered', nums.delivered),
        field('broadcast.progress.sent', nums.sent),
        field('broadcast.progress.queued', nums.queued),
        field('broadcast.progress.notReached', nums.notReached),
      ],
    },
    { type: 'context', elements: [plain(status)] },
  ];
  return { text: escapeText(`${heading}: ${line}. ${status}`), blocks };
}

/** A short digest of a message: equal digests, nothing to update. Pure. */
export function digest(message: SlackMessage): string {
  return createHash('sha256').update(JSON.stringify(message)).digest('base64url').slice(0, 22);
}
