import type { Say } from '../engine/types.ts';
import type { LocaleBundle } from './locales.ts';

/**
 * Intl locale per language code. Thai, Persian, Dari and Pashto default to other
 * calendars; parents must match dates to Norwegian school letters, so all use the
 * Gregorian one. Arabic gets Latin digits, as on Norwegian forms.
 */
const INTL_LOCALE: Record<string, string> = {
  nb: 'nb-NO',
  en: 'en-GB',
  ar: 'ar-u-nu-latn',
  fa: 'fa-u-ca-gregory',
  prs: 'fa-AF-u-ca-gregory',
  ps: 'ps-u-ca-gregory',
  ku: 'ckb',
  kmr: 'ku',
  th: 'th-u-ca-gregory',
};
const ZONE = 'Europe/Oslo';
/** Unicode isolates keep a Norwegian term in Latin letters from scrambling a right-to-left sentence. */
const ISOLATE = (s: string) => `\u2068${s}\u2069`;

export interface Renderer {
  /** One reply: each Say becomes a paragraph. A school term is glossed on its first use only. */
  reply(lang: string, say: Say[]): string;
  /** A short label (buttons): no glosses. */
  label(lang: string, say: Say): string;
  dir(lang: string): 'ltr' | 'rtl';
  has(lang: string, key: string): boolean;
}

/**
 * Turns message keys into text in the conversation's language. A missing text
 * never shows as a blank or a key: it falls back to Norwegian and English with a note.
 */
export function createRenderer(bundle: LocaleBundle): Renderer {
  const dirs = new Map(bundle.languages.map((l) => [l.code, l.dir]));

  function lookup(lang: string, key: string, params: Say['params'] = {}): string | undefined {
    if (!key.startsWith('standard.')) return bundle.ui.get(lang)?.messages[key];
    const version = bundle.standard.get(lang)?.versions[String(params.version ?? '')];
    if (!version) return undefined;
    const [, area, field] = key.split('.');
    if (area === 'intro') return version.intro;
    const a = version.areas[area as 'fag' | 'trygghet' | 'dialog'];
    return a?.[field as 'title' | 'school' | 'home'];
  }

  function fill(
    lang: string,
    template: string,
    params: Say['params'] = {},
    glossed: Set<string> | null,
  ): string {
    let text = template.replace(/\{(\w+)(?::(\w+))?\}/g, (whole, name: string, field?: string) => {
      const value = params[name];
      if (value === undefined) return whole;
      if (field) return versionField(lang, String(value), field) ?? '';
      if (typeof value === 'number') return numberFormat(intlLocale(lang)).format(value);
      if (value.startsWith('standard.'))
        return lookup(lang, value, params) ?? lookup('nb', value, params) ?? '';
      if (name === 'term') return term(lang, value, glossed);
      return formatDates(lang, value);
    });
    text = text.replace(/\[\[([^\]]+)\]\]/g, (_, t: string) => term(lang, t, glossed));
    return text;
  }

  // Terms are matched case-insensitively ("Kontaktlærer" at the start of a sentence).
  const glossaries = new Map(
    [...bundle.ui].map(([lang, ui]) => [
      lang,
      new Map(Object.entries(ui.glossary ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    ]),
  );

  function term(lang: string, t: string, glossed: Set<string> | null): string {
    const gloss = bundle.ui.get(lang)?.glossary?.[t] ?? glossaries.get(lang)?.get(t.toLowerCase());
    const shown = dirs.get(lang) === 'rtl' ? ISOLATE(t) : t;
    if (!gloss || !glossed || glossed.has(t.toLowerCase())) return shown;
    glossed.add(t.toLowerCase());
    return `${shown} (${gloss})`;
  }

  function versionField(lang: string, id: string, field: string): string | undefined {
    const v = (bundle.standard.get(lang) ?? bundle.standard.get('nb'))?.versions[id];
    if (!v) return undefined;
    if (field === 'validFrom') return formatDates(lang, v.validFrom, { month: 'long', year: 'numeric' });
    return field === 'title' || field === 'source' ? v[field] : undefined;
  }

  function one(lang: string, s: Say, glossed: Set<string> | null): string {
    const own = lookup(lang, s.key, s.params);
    if (own !== undefined) return fill(lang, own, s.params, glossed);
    const nb = lookup('nb', s.key, s.params);
    const en = lookup('en', s.key, s.params);
    if (nb === undefined && en === undefined) return '';
    if (lang === 'nb' || lang === 'en')
      return fill(lang === 'nb' ? 'en' : 'nb', (lang === 'nb' ? en : nb) ?? '', s.params, glossed);
    const note = lookup(lang, 'common.missingTranslation') ?? lookup('en', 'common.missingTranslation') ?? '';
    return [note, nb && fill('nb', nb, s.params, null), en && fill('en', en, s.params, new Set())]
      .filter(Boolean)
      .join('\n');
  }

  return {
    reply: (lang, say) => {
      const glossed = new Set<string>();
      return say
        .map((s) => capitalise(one(lang, s, glossed), lang))
        .filter(Boolean)
        .join('\n\n');
    },
    label: (lang, s) => one(lang, s, null),
    dir: (lang) => dirs.get(lang) ?? 'ltr',
    has: (lang, key) => lookup(lang, key, { version: 'oslo-2014' }) !== undefined,
  };
}

function intlLocale(lang: string): string {
  return INTL_LOCALE[lang] ?? lang;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** Building a DateTimeFormat costs far more than using one; a reply formats several dates. */
const formats = new Map<string, Intl.DateTimeFormat>();
function dateFormat(locale: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${locale}|${JSON.stringify(options)}`;
  let format = formats.get(key);
  if (!format) {
    try {
      format = new Intl.DateTimeFormat(locale, { timeZone: ZONE, ...options });
    } catch {
      format = new Intl.DateTimeFormat('nb-NO', { timeZone: ZONE, ...options });
    }
    formats.set(key, format);
  }
  return format;
}

const numberFormats = new Map<string, Intl.NumberFormat>();
function numberFormat(locale: string): Intl.NumberFormat {
  let format = numberFormats.get(locale);
  if (!format) {
    format = new Intl.NumberFormat(locale);
    numberFormats.set(locale, format);
  }
  return format;
}

/** Formats an ISO date, a date-time, or a comma-separated list of dates in the reader's language. */
function formatDates(lang: string, value: string, style?: Intl.DateTimeFormatOptions): string {
  const parts = value.split(',');
  if (!parts.every((p) => ISO_DATE.test(p))) return value;
  return parts
    .map((p) => {
      const hasTime = p.length > 10;
      const date = hasTime ? new Date(p) : new Date(`${p}T12:00:00Z`);
      const options: Intl.DateTimeFormatOptions = style ?? {
        weekday: 'long',
        day: 'numeric',
        month: 'long',
        year: 'numeric',
        ...(hasTime ? { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' } : {}),
      };
      return dateFormat(intlLocale(lang), options).format(date);
    })
    .join(', ');
}

/** A paragraph that opens with a school term ("kontaktlærer for Ali ...") still starts with a capital. */
function capitalise(text: string, lang: string): string {
  const at = text.search(/\p{L}/u);
  if (at < 0 || at > 1) return text;
  return text.slice(0, at) + text.charAt(at).toLocaleUpperCase(lang) + text.slice(at + 1);
}
