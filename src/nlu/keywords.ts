import type { KeywordIndex, KeywordKind } from '../engine/types.ts';
import type { KeywordSource } from '../i18n/locales.ts';
import { normalize } from './normalize.ts';

/** Scripts written without spaces between words need substring matching. */
const NO_SPACES = /[\p{Script=Thai}]/u;

/**
 * Builds the keyword matcher dialogs use for yes/no/cancel/days. A word counts in the
 * conversation's language, Norwegian and English only: "tak" is "yes" in Polish but
 * would be noise in a Norwegian message, so languages are not pooled.
 */
export function keywordIndex(source: KeywordSource): KeywordIndex {
  const lists = new Map<string, Array<{ word: string; loose: boolean }>>();
  for (const [lang, kinds] of source) {
    for (const [kind, words] of Object.entries(kinds)) {
      lists.set(
        `${lang}:${kind}`,
        (words ?? []).map((w) => ({ word: normalize(w), loose: NO_SPACES.test(w) })).filter((w) => w.word),
      );
    }
  }
  return (text: string, kind: KeywordKind, lang: string) => {
    const padded = ` ${normalize(text)} `;
    for (const l of new Set([lang, 'nb', 'en'])) {
      for (const { word, loose } of lists.get(`${l}:${kind}`) ?? []) {
        if (loose ? padded.includes(word) : padded.includes(` ${word} `)) return true;
      }
    }
    return false;
  };
}
