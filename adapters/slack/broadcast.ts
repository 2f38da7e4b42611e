import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { types } from '@slack/bolt';
import { z } from 'zod';
import { CHAT_BROADCAST_KEYS } from '../../src/broadcast/chat.ts';
import { type ParsedBroadcast, parseBroadcastCommand } from '../../src/broadcast/command.ts';
import {
  duration,
  languageName,
  formatNumber as number,
  previewFacts,
  progressBar,
  progressLine,
  progressNumbers,
  progressStatus,
  translationNote,
} from '../../src/broadcast/display.ts';
import type { PreviewView, ProgressView } from '../../src/broadcast/service.ts';
import { textsFrom } from '../../src/broadcast/texts.ts';
import { type Block, escapeText, LIMITS, type SlackMessage, truncate } from './blocks.ts';
import { fromSlackText } from './inbound.ts';

/**
 * `/skolebro kunngjøring <audience> <text>` (or `/skolebro broadcast …`): parsing the
 * command, the preview and the progress message as Block Kit, and the texts they use.
 * Pure, but for reading the texts once at start-up. The I/O is in broadcast-flow.ts.
 */

// ---- texts ---------------------------------------------------------------------------

/**
 * The keys of the `slack` section of locales/<nb|en>/ui.json: Slack's own, then those
 * Teams words alike (src/broadcast/chat.ts). They live outside `messages` (like the
 * `broadcast` section): staff texts in Norwegian and English with counts as parameters,
 * not conversation texts every language must have.
 */
export const BROADCAST_KEYS = [
  'broadcast.help',
  'broadcast.usage',
  'broadcast.notStaff',
  'broadcast.working',
  'broadcast.sent',
  ...CHAT_BROADCAST_KEYS,
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

// The grammar and the audience are channel-neutral (src/broadcast/command.ts); the numbers
// too (src/broadcast/display.ts). Re-exported here, where the Slack side has always found them.
export {
  type AudienceRef,
  findClass,
  isBroadcastCommand,
  type ParsedBroadcast,
  toAudience,
} from '../../src/broadcast/command.ts';
export type { ProgressNumbers } from '../../src/broadcast/display.ts';
export { duration, languageName, progressNumbers };

/**
 * `kunngjøring klasse 3A Husk foreldremøtet` → the audience and the text, Slack's markup
 * turned back into plain text (src/broadcast/command.ts has the grammar). Pure.
 */
export function parseBroadcast(commandText: string): ParsedBroadcast {
  return parseBroadcastCommand(commandText, fromSlackText);
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

  const facts = previewFacts(view, lang, ctx.now, t);
  blocks.push({ type: 'section', text: plain(facts.join('\n')) }, { type: 'divider' });

  for (const l of p.languages.slice(0, MAX_LANGUAGES)) {
    const how = translationNote(l, t);
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

/** The progress message: a bar with the percentage sent, counts by outcome, and where it stands. Pure. */
export function renderProgress(
  view: ProgressView,
  ctx: { lang: string; audience: string; texts: SlackBroadcastTexts },
): SlackMessage {
  const { lang } = ctx;
  const t: Texts = (key, params) => ctx.texts(lang, key, params);
  const nums = progressNumbers(view);
  const heading = t('broadcast.progress.heading', { audience: ctx.audience });
  const line = progressLine(nums, lang, t);
  const field = (key: BroadcastKey, value: number) =>
    mrkdwn(`*${escapeText(t(key))}*\n${number(lang, value)}`);
  const status = progressStatus(nums, lang, t);
  const blocks: Block[] = [
    { type: 'header', text: plain(truncate(heading, LIMITS.headerText)) },
    { type: 'section', text: plain(`${progressBar(nums.percent)}  ${line}`) },
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
