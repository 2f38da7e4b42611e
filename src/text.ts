/**
 * Cutting a long text for channels with a length limit (SMS, Slack, Teams). Pure.
 */

/** Breaks tried in order; a break counts only if it keeps at least half of the limit in the part. */
const SENTENCE_END = /[.!?…։۔؟।።]["'»”)]*\s+/gu;
const WORD_BREAK = /\s+/gu;

/**
 * Splits `text` into parts of at most `max` UTF-16 units, at the latest paragraph,
 * line, sentence or word break, in that order of preference; a word longer than a
 * whole part is cut between graphemes. Parts are trimmed; empty ones are dropped.
 */
export function splitText(text: string, max: number): string[] {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`max must be a positive integer, got ${max}`);
  const parts: string[] = [];
  let rest = text.trim();
  while (rest.length > max) {
    const cut = bestCut(rest, max);
    const head = rest.slice(0, cut).trimEnd();
    if (head) parts.push(head);
    rest = rest.slice(cut).trimStart();
  }
  if (rest) parts.push(rest);
  return parts;
}

/** Index to cut `text` at, in (0, max]. */
function bestCut(text: string, max: number): number {
  const window = text.slice(0, max + 1); // a break right after the limit still lets the part end at it
  const half = Math.floor(max / 2);
  for (const find of [
    () => lastBreak(window, /\n[^\S\n]*\n\s*/gu),
    () => lastBreak(window, /\n\s*/gu),
    () => lastBreak(window, SENTENCE_END),
    () => lastBreak(window, WORD_BREAK),
  ]) {
    const at = find();
    if (at !== undefined && at >= half && at <= max) return at;
  }
  const anyWord = lastBreak(window, WORD_BREAK);
  if (anyWord !== undefined && anyWord > 0 && anyWord <= max) return anyWord;
  return graphemeCut(text, max);
}

/** Where the text before the last match ends (the match itself is whitespace to drop). */
function lastBreak(window: string, pattern: RegExp): number | undefined {
  let at: number | undefined;
  for (const m of window.matchAll(pattern)) {
    // A sentence break keeps its punctuation; the other patterns are pure whitespace.
    const ws = m[0].search(/\s/u);
    at = m.index + (ws < 0 ? m[0].length : ws);
  }
  return at;
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** The last grapheme boundary at or before `max` (never splits a surrogate pair or a combining mark). */
function graphemeCut(text: string, max: number): number {
  let cut = 0;
  for (const { index, segment } of graphemes.segment(text.slice(0, max + 8))) {
    if (index + segment.length > max) break;
    cut = index + segment.length;
  }
  if (cut > 0) return cut;
  // One grapheme longer than the whole part (a tiny max): cut between code points so the loop advances.
  for (const ch of text) {
    if (cut + ch.length > max) break;
    cut += ch.length;
  }
  return cut > 0 ? cut : (text.codePointAt(0) ?? 0) > 0xffff ? 2 : 1;
}
