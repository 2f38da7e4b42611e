import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * STOP / START / HELP and their equivalents, read from the `sms` section of each
 * `locales/<lang>/ui.json`. They are answered in the webhook, before the dialog
 * engine, as carriers and Twilio expect.
 */
export type SmsKeyword = 'stop' | 'start' | 'help';

const words = z.array(z.string().trim().min(1)).min(1);
export const smsSection = z.object({
  /** Absent means the file's own `_meta.reviewedByNativeSpeaker` applies. */
  reviewedByNativeSpeaker: z.boolean().optional(),
  keywords: z.object({ stop: words, start: words, help: words }),
  /** Confirmation of an opt-out; says how to opt in again. */
  stopped: z.string().min(1),
  started: z.string().min(1),
  /** Who is writing and how to stop. */
  help: z.string().min(1),
  /** Shown under numbered options. */
  pickNumber: z.string().min(1),
});
export type SmsSection = z.infer<typeof smsSection>;
type SmsMessage = Exclude<keyof SmsSection, 'keywords' | 'reviewedByNativeSpeaker'>;

export interface SmsTexts {
  /** Sections by language code, in locale folder order. */
  sections: Map<string, SmsSection>;
  /** Normalised keyword -> its kind and the languages that list it. */
  keywords: Map<string, { kind: SmsKeyword; langs: string[] }>;
}

/** Fallback languages for a missing text, in order. */
const FALLBACK = ['en', 'nb'];

/**
 * Reads the `sms` section of every `<dir>/<lang>/ui.json`. Fails fast when nb or en lacks
 * one, or when one word is a keyword of two kinds (in any two languages).
 */
export function loadSmsTexts(localesDir: string): SmsTexts {
  const sections = new Map<string, SmsSection>();
  for (const lang of readdirSync(localesDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()) {
    const path = join(localesDir, lang, 'ui.json');
    if (!existsSync(path)) continue;
    const raw = (JSON.parse(readFileSync(path, 'utf8')) as { sms?: unknown }).sms;
    if (raw === undefined) continue;
    const parsed = smsSection.safeParse(raw);
    if (!parsed.success) throw new Error(`locales: ${path} (sms): ${z.prettifyError(parsed.error)}`);
    sections.set(lang, parsed.data);
  }
  return smsTexts(sections);
}

/** Builds the keyword index from sections already parsed. */
export function smsTexts(sections: Map<string, SmsSection>): SmsTexts {
  for (const lang of FALLBACK) {
    if (!sections.has(lang)) throw new Error(`locales: ${lang}/ui.json needs an sms section (a fallback)`);
  }
  const keywords = new Map<string, { kind: SmsKeyword; langs: string[] }>();
  for (const [lang, section] of sections) {
    for (const kind of ['stop', 'start', 'help'] as const) {
      for (const word of section.keywords[kind]) {
        const key = normalizeKeyword(word);
        const seen = keywords.get(key);
        if (seen && seen.kind !== kind) {
          throw new Error(
            `locales: sms keyword "${word}" (${lang}) is both ${seen.kind} (${seen.langs}) and ${kind}`,
          );
        }
        if (seen) {
          if (!seen.langs.includes(lang)) seen.langs.push(lang);
        } else keywords.set(key, { kind, langs: [lang] });
      }
    }
  }
  return { sections, keywords };
}

/**
 * How a message is compared with the keyword lists: the whole message, trimmed, without
 * closing punctuation, case-folded, NFC, without invisible marks. Twilio, too, only
 * treats a message that is just the keyword as one.
 */
export function normalizeKeyword(text: string): string {
  return (
    text
      .normalize('NFC')
      // Bidi and zero-width marks, and the Arabic tatweel, that keyboards insert unseen.
      .replace(/[\u200b-\u200f\u2066-\u2069\u0640]/gu, '')
      .trim()
      .replace(/[\s.!?¡¿؟۔।።…]+$/u, '')
      .replace(/^[\s¡¿]+/u, '')
      .replace(/\s+/gu, ' ')
      .toLowerCase()
      // "İ".toLowerCase() is "i" + combining dot above; Turkish keyboards send İPTAL.
      .replace(/\u0307/gu, '')
  );
}

export interface KeywordMatch {
  kind: SmsKeyword;
  /** Languages whose list holds the word. */
  langs: string[];
}

/** The keyword a whole message is, if any. Pure. */
export function matchKeyword(texts: SmsTexts, body: string): KeywordMatch | undefined {
  const hit = texts.keywords.get(normalizeKeyword(body));
  return hit ? { kind: hit.kind, langs: [...hit.langs] } : undefined;
}

/**
 * The language to confirm in: the person's own when we know it and have texts for it
 * (whatever language the keyword was in), else `defaultLang` if the keyword is one of
 * its words, else the first language that lists the keyword.
 */
export function replyLanguage(
  texts: SmsTexts,
  match: KeywordMatch,
  preferred: string | undefined,
  defaultLang: string,
): string {
  if (preferred && texts.sections.has(preferred)) return preferred;
  if (match.langs.includes(defaultLang)) return defaultLang;
  return match.langs[0] ?? defaultLang;
}

/** A text of the sms section in `lang`, falling back to en, then nb. */
export function smsMessage(texts: SmsTexts, lang: string, key: SmsMessage): string {
  for (const code of [lang, ...FALLBACK]) {
    const text = texts.sections.get(code)?.[key];
    if (text) return text;
  }
  throw new Error(`locales: no sms.${key} in ${lang} or the fallbacks`);
}
