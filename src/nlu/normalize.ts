/**
 * Folds the ways one word gets typed on a phone into one form: case, Latin and
 * Cyrillic diacritics (so "foreldremøte" = "foreldremote", "dziecko chore" = "choré"),
 * Arabic-script letter variants shared by Arabic, Urdu, Persian, Pashto and Sorani,
 * and Arabic-Indic digits. Scripts whose marks carry vowels (Tamil, Thai, Ge'ez) are left alone.
 */
export function normalize(text: string): string {
  const lower = text.toLowerCase();
  // Fast path for plain ASCII (most Latin-script messages): of the steps below only the last can change it.
  if (!NON_ASCII.test(lower)) return lower.replace(/[^a-z0-9]+/g, ' ').trim();
  let s = lower
    .replace(/æ/g, 'ae')
    .replace(/[øœ]/g, 'o')
    .replace(/ß/g, 'ss')
    .replace(/ł/g, 'l')
    .replace(/ı/g, 'i')
    .replace(/đ/g, 'd')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '');
  // Every Arabic-script fold matches only U+0600–U+06FF or the zero-width (non-)joiners: skip them all otherwise.
  if (ARABIC_FOLDED.test(s)) {
    s = s
      .replace(/[\u064b-\u065f\u0670\u0640\u200c\u200d]/g, '')
      .replace(/[أإآٱ]/g, 'ا')
      .replace(/[ىیۍېئ]/g, 'ي')
      .replace(/[ةۀہھۂ]/g, 'ه')
      .replace(/ك/g, 'ک')
      .replace(/ؤ/g, 'و')
      .replace(/[\u0660-\u0669]/g, (d) => String(d.charCodeAt(0) - 0x660))
      .replace(/[\u06f0-\u06f9]/g, (d) => String(d.charCodeAt(0) - 0x6f0));
  }
  return s.replace(/[^\p{L}\p{M}\p{N}]+/gu, ' ').trim();
}

const NON_ASCII = /[\u0080-\uffff]/;
const ARABIC_FOLDED = /[\u0600-\u06ff\u200c\u200d]/;

/** Letters in a text, by script; decides language before any statistics do. */
export type Script = 'latin' | 'arabic' | 'cyrillic' | 'ethiopic' | 'tamil' | 'thai' | 'other' | 'none';

const SCRIPTS: Array<[Script, RegExp]> = [
  ['latin', /^\p{Script=Latin}$/u],
  ['arabic', /^\p{Script=Arabic}$/u],
  ['cyrillic', /^\p{Script=Cyrillic}$/u],
  ['ethiopic', /^\p{Script=Ethiopic}$/u],
  ['tamil', /^\p{Script=Tamil}$/u],
  ['thai', /^\p{Script=Thai}$/u],
];
const LETTER = /^\p{L}$/u;

/** One code point's class: bits 0–2 = 1 + its index in SCRIPTS (0: none of them), bit 3 = a letter, bit 4 = classified. */
function classify(codePoint: string): number {
  const script = SCRIPTS.findIndex(([, re]) => re.test(codePoint)) + 1;
  return script | (LETTER.test(codePoint) ? 8 : 0) | 16;
}

/** `classify` of each BMP code point, filled in as met (0 = not yet): one table lookup per character. */
const BMP_CLASS = new Uint8Array(0x10000);

/** Counts each code point as `/\p{Script=…}/gu` and `/\p{L}/gu` matches would (a lone surrogate is one code point). */
export function dominantScript(text: string): { script: Script; letters: number } {
  const perScript = [0, 0, 0, 0, 0, 0, 0];
  let allLetters = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    let k: number;
    const low = text.charCodeAt(i + 1);
    if (unit >= 0xd800 && unit <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
      k = classify(text.slice(i, i + 2)); // astral (outside the BMP): rare, not cached
      i++;
    } else {
      k = BMP_CLASS[unit] as number;
      if (!k) {
        k = classify(text.charAt(i));
        BMP_CLASS[unit] = k;
      }
    }
    perScript[k & 7] = (perScript[k & 7] as number) + 1;
    if (k & 8) allLetters++;
  }
  let best: Script = 'none';
  let bestCount = 0;
  let letters = 0;
  for (let s = 0; s < SCRIPTS.length; s++) {
    const n = perScript[s + 1] as number;
    letters += n;
    if (n > bestCount) {
      best = (SCRIPTS[s] as [Script, RegExp])[0];
      bestCount = n;
    }
  }
  const other = allLetters - letters;
  if (other > bestCount) return { script: 'other', letters: letters + other };
  return { script: best, letters: letters + Math.max(other, 0) };
}
