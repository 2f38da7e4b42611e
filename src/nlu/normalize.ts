/**
 * Folds the ways one word gets typed on a phone into one form: case, Latin and
 * Cyrillic diacritics (so "foreldremøte" = "foreldremote", "dziecko chore" = "choré"),
 * Arabic-script letter variants shared by Arabic, Urdu, Persian, Pashto and Sorani,
 * and Arabic-Indic digits. Scripts whose marks carry vowels (Tamil, Thai, Ge'ez) are left alone.
 */
export function normalize(text: string): string {
  return text
    .toLowerCase()
    .replace(/æ/g, 'ae')
    .replace(/[øœ]/g, 'o')
    .replace(/ß/g, 'ss')
    .replace(/ł/g, 'l')
    .replace(/ı/g, 'i')
    .replace(/đ/g, 'd')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[\u064b-\u065f\u0670\u0640\u200c\u200d]/g, '')
    .replace(/[أإآٱ]/g, 'ا')
    .replace(/[ىیۍېئ]/g, 'ي')
    .replace(/[ةۀہھۂ]/g, 'ه')
    .replace(/ك/g, 'ک')
    .replace(/ؤ/g, 'و')
    .replace(/[\u0660-\u0669]/g, (d) => String(d.charCodeAt(0) - 0x660))
    .replace(/[\u06f0-\u06f9]/g, (d) => String(d.charCodeAt(0) - 0x6f0))
    .replace(/[^\p{L}\p{M}\p{N}]+/gu, ' ')
    .trim();
}

/** Letters in a text, by script; decides language before any statistics do. */
export type Script = 'latin' | 'arabic' | 'cyrillic' | 'ethiopic' | 'tamil' | 'thai' | 'other' | 'none';

const SCRIPTS: Array<[Script, RegExp]> = [
  ['latin', /\p{Script=Latin}/gu],
  ['arabic', /\p{Script=Arabic}/gu],
  ['cyrillic', /\p{Script=Cyrillic}/gu],
  ['ethiopic', /\p{Script=Ethiopic}/gu],
  ['tamil', /\p{Script=Tamil}/gu],
  ['thai', /\p{Script=Thai}/gu],
];

export function dominantScript(text: string): { script: Script; letters: number } {
  let best: Script = 'none';
  let bestCount = 0;
  let letters = 0;
  for (const [script, re] of SCRIPTS) {
    const n = text.match(re)?.length ?? 0;
    letters += n;
    if (n > bestCount) {
      best = script;
      bestCount = n;
    }
  }
  const other = (text.match(/\p{L}/gu)?.length ?? 0) - letters;
  if (other > bestCount) return { script: 'other', letters: letters + other };
  return { script: best, letters: letters + Math.max(other, 0) };
}
