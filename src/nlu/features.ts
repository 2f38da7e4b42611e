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
  const normal = normalize(text.slice(0, MAX_CHARS));
  // `normalize` leaves single spaces between words and none at the ends: no empty words but in ''.
  if (!normal) return out;
  const words = normal.split(' ');
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as string;
    count(out, `w ${w}`);
    if (i > 0) count(out, `b ${words[i - 1]} ${w}`);
    const padded = ` ${w} `;
    for (let n = 3; n <= 5; n++) {
      for (let j = 0; j + n <= padded.length; j++) count(out, padded.slice(j, j + n));
    }
  }
  return out;
}

function count(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}
