import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { CHAT_BROADCAST_KEYS } from '../../src/broadcast/chat.ts';
import { isBroadcastCommand } from '../../src/broadcast/command.ts';
import {
  formatNumber,
  isRightToLeft,
  languageName,
  previewFacts,
  progressBar,
  progressLine,
  progressNumbers,
  progressStatus,
  translationNote,
} from '../../src/broadcast/display.ts';
import type { Channel } from '../../src/broadcast/model.ts';
import type { PreviewView, ProgressView } from '../../src/broadcast/service.ts';
import { textsFrom } from '../../src/broadcast/texts.ts';
import { splitText } from '../../src/text.ts';
import {
  adaptiveCard,
  bytes,
  type Element,
  MAX_CARD_BYTES,
  type OutgoingMessage,
  plainMessage,
  textBlock,
  withCard,
} from './cards.ts';
import type { MessageActivity } from './inbound.ts';

/**
 * Broadcasts from Teams (`kunngjøring <audience> <text>` in the chat with the bot): which
 * messages are broadcast requests, the preview and progress cards, and their texts. Pure,
 * but for reading the texts once at start-up. The I/O is in broadcast-flow.ts; the
 * command's grammar is src/broadcast/command.ts, shared with Slack.
 */

// ---- texts ---------------------------------------------------------------------------

/** Keys only Teams uses: the `teams` section of locales/<nb|en>/ui.json. */
export const TEAMS_BROADCAST_KEYS = [
  'broadcast.usage',
  'broadcast.working',
  'broadcast.expired',
  'broadcast.preview.channels',
  'broadcast.preview.onChannel',
  'broadcast.channel.teams',
  'broadcast.channel.slack',
  'broadcast.channel.sms',
  'broadcast.channel.web',
] as const;

/**
 * Keys whose words are the same in Slack and Teams (src/broadcast/chat.ts): read from the
 * `slack` section, unless the `teams` section words one of them its own way.
 */
export const SHARED_BROADCAST_KEYS = CHAT_BROADCAST_KEYS;

export type TeamsBroadcastKey =
  | (typeof TEAMS_BROADCAST_KEYS)[number]
  | (typeof SHARED_BROADCAST_KEYS)[number];

/** A text in `lang` (nb or en; any other language gets Norwegian), `{name}` filled from `params`. */
export type TeamsBroadcastTexts = (
  lang: string,
  key: TeamsBroadcastKey,
  params?: Record<string, string | number>,
) => string;

/** The `teams` and `slack` sections of one language's ui.json (strings only; notes and flags are skipped). */
export interface BroadcastSections {
  teams?: Record<string, string>;
  slack?: Record<string, string>;
}

/** The texts from the sections of nb and en; throws naming every key either lacks. */
export function teamsBroadcastTextsFrom(byLang: Map<string, BroadcastSections>): TeamsBroadcastTexts {
  const merged = new Map<string, Record<string, string>>();
  const missing: string[] = [];
  for (const lang of ['nb', 'en']) {
    const { teams = {}, slack = {} } = byLang.get(lang) ?? {};
    const texts: Record<string, string> = {};
    for (const key of TEAMS_BROADCAST_KEYS) {
      const text = teams[key];
      if (text === undefined) missing.push(`${lang}/ui.json teams.${key}`);
      else texts[key] = text;
    }
    for (const key of SHARED_BROADCAST_KEYS) {
      const text = teams[key] ?? slack[key];
      if (text === undefined) missing.push(`${lang}/ui.json slack.${key}`);
      else texts[key] = text;
    }
    merged.set(lang, texts);
  }
  if (missing.length > 0) throw new Error(`locales: missing ${missing.join(', ')}`);
  const texts = textsFrom(merged);
  return (lang, key, params = {}) => texts.t(key, params, lang === 'en' ? 'en' : 'nb');
}

/** A section's texts: its string values (`_note` and `reviewedByNativeSpeaker` are not texts). */
const strings = z
  .record(z.string(), z.unknown())
  .transform((section) =>
    Object.fromEntries(
      Object.entries(section).filter((e): e is [string, string] => typeof e[1] === 'string'),
    ),
  );

/** Reads the `teams` and `slack` sections of locales/nb and locales/en; fails fast when a key is missing. */
export function loadTeamsBroadcastTexts(localesDir: string): TeamsBroadcastTexts {
  const byLang = new Map<string, BroadcastSections>();
  for (const lang of ['nb', 'en']) {
    const file = join(localesDir, lang, 'ui.json');
    if (!existsSync(file)) continue;
    const ui = JSON.parse(readFileSync(file, 'utf8')) as { teams?: unknown; slack?: unknown };
    const teams = strings.safeParse(ui.teams);
    const slack = strings.safeParse(ui.slack);
    byLang.set(lang, {
      ...(teams.success ? { teams: teams.data } : {}),
      ...(slack.success ? { slack: slack.data } : {}),
    });
  }
  return teamsBroadcastTextsFrom(byLang);
}

/** The repository's locales/ folder: the default when the config names none. */
export const DEFAULT_LOCALES_DIR = join(import.meta.dirname, '..', '..', 'locales');

// ---- which messages are broadcast requests ---------------------------------------------

/** What the preview's buttons carry (Action.Submit `data`), back as the message's `value`. */
export const broadcastSubmit = z.object({
  skolebro: z.enum(['broadcast-send', 'broadcast-cancel']),
  id: z.string().min(1).max(100),
});
export type BroadcastSubmit = z.infer<typeof broadcastSubmit>;

export type BroadcastRequest =
  | { kind: 'command'; text: string }
  | { kind: 'submit'; action: 'send' | 'cancel'; id: string };

/**
 * Whether a message is a broadcast request: a Send / Avbryt press on a preview card, or
 * text starting with the command word. Only in a personal chat with the bot, where the
 * preview (and its buttons) stays between the sender and Skolebro. Whether the sender is
 * staff is the caller's question: for anyone else the message is an ordinary turn. Pure.
 */
export function broadcastRequestOf(
  activity: Pick<MessageActivity, 'conversation' | 'value'>,
  text: string,
): BroadcastRequest | undefined {
  if (activity.conversation.conversationType !== 'personal') return undefined;
  if (activity.value !== undefined) {
    const submit = broadcastSubmit.safeParse(activity.value);
    if (!submit.success) return undefined;
    const action = submit.data.skolebro === 'broadcast-send' ? 'send' : 'cancel';
    return { kind: 'submit', action, id: submit.data.id };
  }
  return isBroadcastCommand(text) ? { kind: 'command', text } : undefined;
}

// ---- cards -------------------------------------------------------------------------------

/** Characters of each language's text shown in the preview (a Teams message holds ~28 KB). */
export const PREVIEW_CHARS = 1000;
/** Characters of the Norwegian text shown on the cards. */
export const ORIGINAL_CHARS = 3000;
/** Channels in the order a guardian is tried (src/broadcast/plan.ts). */
const CHANNELS: readonly Channel[] = ['teams', 'slack', 'sms', 'web'];

type Texts = (key: TeamsBroadcastKey, params?: Record<string, string | number>) => string;

/** The text cut at a sentence or word break to at most `max` characters, with an ellipsis when cut. */
export function shorten(text: string, max: number): string {
  const trimmed = text.trim();
  if (trimmed.length <= max) return trimmed;
  return `${splitText(trimmed, max - 1)[0] ?? ''}…`;
}

const heading = (text: string): Element =>
  textBlock(text, { weight: 'Bolder', size: 'Medium', style: 'heading' });
const label = (text: string): Element =>
  textBlock(text, { size: 'Small', weight: 'Bolder', isSubtle: true, spacing: 'Medium' });
const small = (text: string): Element => textBlock(text, { size: 'Small', isSubtle: true, spacing: 'None' });

/** The Norwegian text under its label: on the preview, and kept on the progress card that replaces it. */
const original = (text: string, t: Texts): Element[] => [
  label(t('broadcast.preview.original')),
  textBlock(shorten(text, ORIGINAL_CHARS), { spacing: 'Small' }),
];

/** One language of the preview: its name, parents and channels, SMS segments, and its text. */
function languageBlock(
  l: PreviewView['preview']['languages'][number],
  fallback: string,
  lang: string,
  t: Texts,
) {
  const how = translationNote(l, t);
  const channels = CHANNELS.filter((c) => (l.channels[c] ?? 0) > 0).map((c) =>
    t('broadcast.preview.onChannel', {
      channel: t(`broadcast.channel.${c}`),
      count: formatNumber(lang, l.channels[c] ?? 0),
    }),
  );
  const rtl = isRightToLeft(l.lang);
  return {
    type: 'Container',
    separator: true,
    spacing: 'Medium',
    items: [
      textBlock(`${languageName(l.lang, lang)} (${l.lang})`, { weight: 'Bolder' }),
      small(
        [t('broadcast.preview.langGuardians', { count: formatNumber(lang, l.guardians) }), how]
          .filter(Boolean)
          .join(' · '),
      ),
      ...(channels.length > 0
        ? [small(t('broadcast.preview.channels', { channels: channels.join(' · ') }))]
        : []),
      ...(l.sms
        ? [small(t('broadcast.preview.langSms', { segments: formatNumber(lang, l.sms.segmentsPerMessage) }))]
        : []),
      {
        type: 'Container',
        spacing: 'Small',
        ...(rtl ? { rtl: true } : {}),
        items: [textBlock(shorten(l.text || fallback, PREVIEW_CHARS))],
      },
    ],
  };
}

export interface CardContext {
  /** The sender's language (nb or en). */
  lang: string;
  /** The audience as the sender named it ("klasse 6A"). */
  audience: string;
  texts: TeamsBroadcastTexts;
}

/**
 * The preview of a draft as an Adaptive Card: the Norwegian text; families, parents and
 * languages; SMS messages, segments and cost; the estimated time (and quiet hours); per
 * language its name, parents per channel, SMS segments and its text (right to left where
 * the script is); and Send / Avbryt as Action.Submit with `{ skolebro, id }`. Languages
 * that would not fit in one Teams message are counted instead of shown. Pure.
 */
export function previewCard(
  view: PreviewView,
  ctx: CardContext & { now: Date; maxBytes?: number },
): OutgoingMessage {
  const { lang } = ctx;
  const t: Texts = (key, params) => ctx.texts(lang, key, params);
  const p = view.preview;
  const title = t('broadcast.preview.heading', { audience: ctx.audience });
  const facts = previewFacts(view, lang, ctx.now, t);
  const head = [
    heading(title),
    ...original(view.text, t),
    ...facts.map((f, i) => textBlock(f, { spacing: i === 0 ? 'Medium' : 'None' })),
  ];
  const languages = p.languages.map((l) => languageBlock(l, view.text, lang, t));
  const actions: Element[] = [
    {
      type: 'Action.Submit',
      title: t('broadcast.button.send'),
      style: 'positive',
      data: { skolebro: 'broadcast-send', id: view.id } satisfies BroadcastSubmit,
    },
    {
      type: 'Action.Submit',
      title: t('broadcast.button.cancel'),
      data: { skolebro: 'broadcast-cancel', id: view.id } satisfies BroadcastSubmit,
    },
  ];
  const build = (shown: number) => {
    const more = languages.length - shown;
    const body = [
      ...head,
      ...languages.slice(0, shown),
      ...(more > 0 ? [small(t('broadcast.preview.more', { count: more }))] : []),
      textBlock(t('broadcast.preview.check'), { size: 'Small', spacing: 'Medium' }),
    ];
    return withCard(adaptiveCard(body, { actions, fallbackText: title, lang }), lang);
  };
  const maxBytes = ctx.maxBytes ?? MAX_CARD_BYTES;
  let shown = languages.length;
  let message = build(shown);
  while (shown > 0 && bytes(message) > maxBytes) message = build(--shown);
  return message;
}

/**
 * The progress card that replaces the preview once sent: a bar with the percentage sent,
 * counts by outcome, where the sending stands, and the Norwegian text. Pure.
 */
export function progressCard(view: ProgressView, ctx: CardContext & { text: string }): OutgoingMessage {
  const { lang } = ctx;
  const t: Texts = (key, params) => ctx.texts(lang, key, params);
  const nums = progressNumbers(view);
  const title = t('broadcast.progress.heading', { audience: ctx.audience });
  const line = progressLine(nums, lang, t);
  const status = progressStatus(nums, lang, t);
  const fact = (key: TeamsBroadcastKey, value: number) => ({
    title: t(key),
    value: formatNumber(lang, value),
  });
  const body: Element[] = [
    heading(title),
    textBlock(`${progressBar(nums.percent)}  ${line}`, { fontType: 'Monospace', spacing: 'Medium' }),
    {
      type: 'FactSet',
      facts: [
        fact('broadcast.progress.delivered', nums.delivered),
        fact('broadcast.progress.sent', nums.sent),
        fact('broadcast.progress.queued', nums.queued),
        fact('broadcast.progress.notReached', nums.notReached),
      ],
    },
    textBlock(status, { weight: nums.state === 'done' ? 'Bolder' : 'Default' }),
    ...(ctx.text ? original(ctx.text, t) : []),
  ];
  return withCard(adaptiveCard(body, { fallbackText: `${title}: ${line}. ${status}`, lang }), lang);
}

/** A preview after its buttons were used without sending (cancelled, refused): its heading and what happened. Pure. */
export function settledPreviewCard(ctx: CardContext & { text: string; note: string }): OutgoingMessage {
  const t: Texts = (key, params) => ctx.texts(ctx.lang, key, params);
  const title = t('broadcast.preview.heading', { audience: ctx.audience });
  const body = [
    heading(title),
    textBlock(ctx.note, { weight: 'Bolder' }),
    ...(ctx.text ? original(ctx.text, t) : []),
  ];
  return withCard(adaptiveCard(body, { fallbackText: `${title}: ${ctx.note}`, lang: ctx.lang }), ctx.lang);
}

/** A short note to the sender in the chat (usage, refusal, "making the preview"). */
export const note = (text: string, lang: string): OutgoingMessage => plainMessage(text, lang);
