import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * School terms machine translation gets wrong (DOMAIN.md): they stay in Norwegian and get a
 * pre-written gloss from locales/<lang>/ui.json. Any glossary key found there is protected too.
 */
export const SCHOOL_TERMS = [
  'kontaktlærer',
  'foresatte',
  'FAU',
  'SMU',
  'driftsstyre',
  'foreldremøte',
  'utviklingssamtale',
  'AKS',
  'baseleder',
  'trinn',
  'halvårsvurdering',
  'planleggingsdag',
  'inneklemt fridag',
  'permisjon',
  'Skolemelding',
  'ukeplan',
  'leksehjelp',
  'rektor',
  'helsesykepleier',
  'Statsforvalteren',
  'matpakke',
] as const;

/** Bump when protect/unprotect output changes for the same terms and glosses: it is part of the cache key. */
const FORMAT_VERSION = 2;

/** Where no locale says, from DOMAIN.md. */
const RTL = new Set(['ar', 'ur', 'fa', 'prs', 'ps', 'ku']);

/**
 * Norwegian noun endings, so "kontaktlæreren", "foreldremøtet" and "utviklingssamtalen"
 * are kept whole (a stem ending in -e takes -t, -n, -r, -ne).
 */
const SUFFIX = '(?:enes|ene|ens|ets|ers|nes|en|et|er|ne|ns|ts|e|a|s|n|r|t)?';

const NOTRANSLATE_OPEN = '<span class="notranslate">';
const SPAN = /<span\s+class\s*=\s*(["']?)notranslate\1\s*>([\s\S]*?)<\/span\s*>/gi;
/** Unicode isolates keep a Latin-script term from scrambling a right-to-left sentence (as src/i18n/render.ts). */
const isolate = (s: string) => `\u2068${s}\u2069`;

export interface GlossaryData {
  /** Per language: term -> short gloss in that language. A language without one gets no gloss. */
  glosses: Record<string, Record<string, string>>;
  /** Writing direction per language; unknown ones fall back to DOMAIN.md's list. */
  dirs?: Record<string, 'ltr' | 'rtl'>;
  /** Terms to keep; default SCHOOL_TERMS plus every gloss key. */
  terms?: readonly string[];
}

export interface Glossary {
  /** Changes whenever terms, glosses or the markup change: part of every cache key. */
  readonly version: string;
  readonly terms: readonly string[];
  hasTerms(text: string): boolean;
  /** Text as HTML for textType=html: escaped, newlines as <br>, each term in a notranslate span. */
  protect(text: string): string;
  /** Back from the service's HTML: spans unwrapped, entities decoded, a gloss after each term's first use. */
  unprotect(html: string, to: string): string;
}

export function createGlossary(data: GlossaryData): Glossary {
  const glosses = new Map<string, Map<string, string>>();
  for (const [lang, entries] of Object.entries(data.glosses)) {
    glosses.set(lang, new Map(Object.entries(entries).map(([term, gloss]) => [term.toLowerCase(), gloss])));
  }
  const terms = [
    ...new Set([...(data.terms ?? SCHOOL_TERMS), ...(data.terms ? [] : glossKeys(data.glosses))]),
  ].sort((a, b) => b.length - a.length || a.localeCompare(b));
  const canonical = new Map(terms.map((t) => [t.toLowerCase().replace(/\s+/g, ' '), t]));
  const alternation = terms.map((t) => escapeRegExp(t).replace(/\s+/g, '\\s+')).join('|');
  // Case-insensitive for words ("Kontaktlærer" opens a sentence); acronyms are checked for case below.
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}])(${alternation})(${SUFFIX})(?![\\p{L}\\p{N}])`, 'giu');

  /** The term a matched form belongs to, or undefined for a false hit ("aks", "Fau"). */
  function termOf(base: string, suffix: string): string | undefined {
    const term = canonical.get(base.toLowerCase().replace(/\s+/g, ' '));
    if (!term) return undefined;
    if (isAcronym(term)) return base === term && suffix === suffix.toLowerCase() ? term : undefined;
    return term;
  }

  function* matches(text: string): Generator<{ index: number; form: string; term: string }> {
    for (const m of text.matchAll(pattern)) {
      const term = termOf(m[1] ?? '', m[2] ?? '');
      if (term) yield { index: m.index, form: m[0], term };
    }
  }

  const version = `${FORMAT_VERSION}.${createHash('sha256')
    .update(JSON.stringify([terms, sortedEntries(data.glosses), sortedEntries(data.dirs ?? {})]))
    .digest('hex')
    .slice(0, 12)}`;

  return {
    version,
    terms,
    hasTerms: (text) => !matches(text).next().done,
    protect(text) {
      let out = '';
      let last = 0;
      for (const { index, form } of matches(text)) {
        out += `${escapeHtml(text.slice(last, index))}${NOTRANSLATE_OPEN}${escapeHtml(form)}</span>`;
        last = index + form.length;
      }
      return out + escapeHtml(text.slice(last));
    },
    unprotect(html, to) {
      const rtl = (data.dirs?.[to] ?? (RTL.has(to) ? 'rtl' : 'ltr')) === 'rtl';
      const own = glosses.get(to);
      const glossed = new Set<string>();
      let out = '';
      let last = 0;
      for (const m of html.matchAll(SPAN)) {
        out += fromHtml(html.slice(last, m.index));
        last = m.index + m[0].length;
        const form = fromHtml(m[2] ?? '');
        const found = matches(form).next();
        const term = found.done ? undefined : found.value.term;
        out += rtl ? isolate(form) : form;
        const gloss = term && own?.get(term.toLowerCase());
        if (term && gloss && !glossed.has(term)) {
          glossed.add(term);
          out += ` (${gloss})`;
        }
      }
      return out + fromHtml(html.slice(last));
    },
  };
}

/** The glossary of every locales/<lang>/ui.json (read-only; the renderer uses the same entries). */
export function loadGlossary(localesDir: string): Glossary {
  const file = z.object({
    _meta: z.object({ dir: z.enum(['ltr', 'rtl']).optional() }).optional(),
    glossary: z.record(z.string(), z.string()).optional(),
  });
  const glosses: Record<string, Record<string, string>> = {};
  const dirs: Record<string, 'ltr' | 'rtl'> = {};
  for (const entry of readdirSync(localesDir, { withFileTypes: true })) {
    const path = join(localesDir, entry.name, 'ui.json');
    if (!entry.isDirectory() || !existsSync(path)) continue;
    const parsed = file.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    if (!parsed.success) throw new Error(`glossary: ${path}: ${z.prettifyError(parsed.error)}`);
    glosses[entry.name] = parsed.data.glossary ?? {};
    if (parsed.data._meta?.dir) dirs[entry.name] = parsed.data._meta.dir;
  }
  return createGlossary({ glosses, dirs });
}

function glossKeys(glosses: Record<string, Record<string, string>>): string[] {
  return Object.values(glosses).flatMap((g) => Object.keys(g));
}

function isAcronym(term: string): boolean {
  return term.length > 1 && term === term.toUpperCase();
}

function sortedEntries<T>(record: Record<string, T>): [string, T][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
    .replace(/\r?\n/g, '<br>');
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/** Plain text from the service's HTML: <br> back to newlines, other tags dropped, entities decoded. */
export function fromHtml(html: string): string {
  return html
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/?[a-z][^>]*>/gi, '')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
      if (name[0] === '#') {
        const code =
          name[1] === 'x' || name[1] === 'X' ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1));
        return Number.isInteger(code) && code >= 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
      }
      return ENTITIES[name.toLowerCase()] ?? whole;
    });
}
