import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/** The `broadcast` section of locales/<lang>/ui.json: key -> text with {placeholders}. */
const section = z.record(z.string(), z.string());

export interface BroadcastTexts {
  /** The text of `key` in `lang`, falling back to Norwegian, then to the key itself. */
  t(key: string, params?: Record<string, string | number>, lang?: string): string;
}

/** Reads `broadcast` from locales/nb and locales/en (staff read Norwegian; en for the CLI and tests). */
export function loadBroadcastTexts(
  localesDir: string,
  langs: readonly string[] = ['nb', 'en'],
): BroadcastTexts {
  const byLang = new Map<string, Record<string, string>>();
  for (const lang of langs) {
    const file = join(localesDir, lang, 'ui.json');
    if (!existsSync(file)) continue;
    const parsed = section.safeParse(
      (JSON.parse(readFileSync(file, 'utf8')) as { broadcast?: unknown }).broadcast,
    );
    if (parsed.success) byLang.set(lang, parsed.data);
  }
  return textsFrom(byLang);
}

/** Texts from data (tests). */
export function textsFrom(byLang: Map<string, Record<string, string>>): BroadcastTexts {
  return {
    t(key, params = {}, lang = 'nb') {
      const text = byLang.get(lang)?.[key] ?? byLang.get('nb')?.[key] ?? key;
      return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
    },
  };
}
