/**
 * Turning a reply into SMS text: choices become a numbered list (SMS has no buttons),
 * and a text longer than the limit is cut at the best boundary it has. Pure.
 */

export interface Choice {
  value: string;
  label: string;
}

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

/** "1) Label" lines, numbered from 1 as the reader replies. */
export function numberedOptions(choices: readonly Choice[]): string {
  return choices.map((c, i) => `${i + 1}) ${c.label}`).join('\n');
}

/**
 * The SMS parts of a reply: its text, then its choices as numbered options and a hint
 * ("Reply with the number"), split to at most `maxChars` each.
 */
export function renderSms(
  reply: { text: string; choices: readonly Choice[] },
  opts: { maxChars: number; pickHint?: string },
): string[] {
  const blocks = [reply.text.trim()];
  if (reply.choices.length > 0) {
    blocks.push(
      opts.pickHint ? `${numberedOptions(reply.choices)}\n${opts.pickHint}` : numberedOptions(reply.choices),
    );
  }
  return splitText(blocks.filter(Boolean).join('\n\n'), opts.maxChars);
}

/** Zero of each decimal digit set a parent's keyboard is likely to send (ASCII, Arabic-Indic, Persian/Urdu, Devanagari, Tamil, Thai). */
const DIGIT_ZEROS = [0x30, 0x660, 0x6f0, 0x966, 0xbe6, 0xe50];

/**
 * The option number a reply names ("2", "2)", "2.", "(2)", "٢", "۲"), or undefined.
 * Only a bare number counts: "2 children" is text.
 */
export function optionNumber(reply: string): number | undefined {
  const m = /^\s*\(?\s*(\p{Nd}{1,2})\s*[.)]?\s*$/u.exec(reply);
  if (!m?.[1]) return undefined;
  let n = 0;
  for (const ch of m[1]) {
    const code = ch.codePointAt(0) ?? 0;
    const zero = DIGIT_ZEROS.find((z) => code >= z && code <= z + 9);
    if (zero === undefined) return undefined;
    n = n * 10 + (code - zero);
  }
  return n >= 1 ? n : undefined;
}
