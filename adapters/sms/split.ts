/**
 * Turning a reply into SMS text: choices become a numbered list (SMS has no buttons),
 * and a text longer than the limit is cut at the best boundary it has. Pure.
 */

import { splitText } from '../../src/text.ts';

export interface Choice {
  value: string;
  label: string;
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
