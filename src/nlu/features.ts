import { normalize } from './normalize.ts';

/** Only the start of a very long message decides its intent; the rest costs time and adds noise. */
const MAX_CHARS = 600;

/**
 * Sparse features of a text: words, word pairs and character 2–4-grams of each word
 * (the n-grams carry typos, missing diacritics and inflection; words carry meaning).
 * Counts are returned raw; weighting happens in the model.
 */
export function features(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const add = (f: string) => out.set(f, (out.get(f) ?? 0) + 1);
  const words = normalize(text.slice(0, MAX_CHARS)).split(' ').filter(Boolean);
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as string;
    add(`w ${w}`);
    if (i > 0) add(`b ${words[i - 1]} ${w}`);
    const padded = ` ${w} `;
    for (let n = 3; n <= 5; n++) {
      for (let j = 0; j + n <= padded.length; j++) add(padded.slice(j, j + n));
    }
  }
  return out;
}
