import type { Say } from '../../src/engine/types.ts';
import type { Renderer } from '../../src/i18n/render.ts';

/** The `slack.*` message keys of locales/<lang>/ui.json the adapter uses; nb and en must have each. */
export const SLACK_KEYS = [
  'slack.help',
  'slack.inbox.heading',
  'slack.inbox.item',
  'slack.inbox.itemNoChild',
  'slack.inbox.empty',
  'slack.inbox.notStaff',
  'slack.inbox.unknownParent',
  'slack.notice.norwegian',
  'slack.relay.original',
] as const;
export type SlackKey = (typeof SLACK_KEYS)[number];

/** Texts in a language; a language without the key falls back to English, then Norwegian. */
export type SlackTexts = (
  lang: string,
  key: SlackKey | 'staffNotice.original',
  params?: Say['params'],
) => string;

const FALLBACK = ['en', 'nb'];

/**
 * The adapter's words from the renderer (so school terms and dates come out as
 * everywhere else). Fails fast when nb or en lacks one of the keys.
 */
export function slackTexts(renderer: Renderer): SlackTexts {
  for (const lang of FALLBACK) {
    const missing = SLACK_KEYS.filter((k) => !renderer.has(lang, k));
    if (missing.length > 0) throw new Error(`locales: ${lang}/ui.json lacks ${missing.join(', ')}`);
  }
  return (lang, key, params = {}) => {
    const code = [lang, ...FALLBACK].find((l) => renderer.has(l, key)) ?? 'nb';
    return renderer.reply(code, [{ key, params }]);
  };
}
