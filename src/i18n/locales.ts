import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { INTENTS, type Intent, type KeywordKind } from '../engine/types.ts';

/** Norwegian (Bokmål) is the staff's language: parent words are translated to it, staff write in it. */
export const STAFF_LANG = 'nb';

/** Everything in locales/, read once at start-up and validated, so a broken file fails fast with its path. */
export interface LocaleBundle {
  languages: LanguageInfo[];
  ui: Map<string, UiFile>;
  standard: Map<string, StandardFile>;
  intents: Map<string, IntentsFile>;
}

export interface LanguageInfo {
  code: string;
  name: string;
  dir: 'ltr' | 'rtl';
  reviewed: boolean;
  /** Status texts of the parent web chat, by error code (the `webchat` section of ui.json). */
  webchat: WebchatTexts;
  /** The staff pages' words (staff-pages.json), in a language staff read: only `nb` has them. */
  staffPages?: StaffPageTexts;
}

const meta = z.object({
  lang: z.string(),
  name: z.string(),
  dir: z.enum(['ltr', 'rtl']).optional(),
  reviewedByNativeSpeaker: z.boolean(),
  note: z.string().optional(),
});

/**
 * What the web chat can meet: the API's error codes it shows to a parent, `generic` for any
 * other error and `network` when the page cannot reach the server (it keeps trying).
 */
export const WEBCHAT_ERRORS = [
  'unknown_session',
  'empty_message',
  'invalid_request',
  'generic',
  'network',
] as const;
export type WebchatTexts = Record<(typeof WEBCHAT_ERRORS)[number], string>;

/** The `webchat` section: `error.<code>` for every code, so a language without one fails at start-up. */
const webchatSection = z
  .object({
    _note: z.string().optional(),
    reviewedByNativeSpeaker: z.boolean(),
    ...Object.fromEntries(WEBCHAT_ERRORS.map((code) => [`error.${code}`, z.string().min(1)])),
  })
  .transform(
    (section) =>
      Object.fromEntries(
        WEBCHAT_ERRORS.map((code) => [code, (section as Record<string, unknown>)[`error.${code}`]]),
      ) as WebchatTexts,
  );

const uiFile = z.object({
  _meta: meta.extend({ dir: z.enum(['ltr', 'rtl']) }),
  messages: z.record(z.string(), z.string()),
  glossary: z.record(z.string(), z.string()).default({}),
  webchat: webchatSection,
});
export type UiFile = z.infer<typeof uiFile>;

/** The staff pages, each named by the section of staff-pages.json it reads besides `common`. */
export const STAFF_PAGES = ['staff', 'broadcast'] as const;
export type StaffPage = (typeof STAFF_PAGES)[number];
/** Per page: key -> text with `{placeholders}`, the `common` section and the page's own in one. */
export type StaffPageTexts = Record<StaffPage, Record<string, string>>;

const texts = z.record(z.string(), z.string().min(1));
/**
 * locales/<lang>/staff-pages.json: the words of /staff and /broadcast. Staff read and write
 * Norwegian, so only nb has the file and no other language is expected to: a documented
 * exception to "every language has every file". A key lives in `common` or in a page's section,
 * never both, so that the two pages cannot drift apart on the words they share.
 */
const staffPagesFile = z
  .object({ _meta: meta, common: texts, staff: texts, broadcast: texts })
  .superRefine((file, ctx) => {
    for (const page of STAFF_PAGES)
      for (const key of Object.keys(file[page]).filter((k) => k in file.common))
        ctx.addIssue({ code: 'custom', path: [page, key], message: `${key} is already in common` });
  })
  .transform(
    (file) =>
      Object.fromEntries(
        STAFF_PAGES.map((page) => [page, { ...file.common, ...file[page] }]),
      ) as StaffPageTexts,
  );

const area = z.object({
  title: z.string(),
  keywords: z.array(z.string()).default([]),
  school: z.string(),
  home: z.string(),
});
const standardFile = z.object({
  _meta: meta,
  versions: z.record(
    z.string(),
    z.object({
      title: z.string(),
      source: z.string(),
      validFrom: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
      intro: z.string(),
      areas: z.object({ fag: area, trygghet: area, dialog: area }),
    }),
  ),
});
export type StandardFile = z.infer<typeof standardFile>;

const keywordKinds = [
  'cancel',
  'yes',
  'no',
  'today',
  'tomorrow',
  'late',
  'early',
  'mon',
  'tue',
  'wed',
  'thu',
  'fri',
] as const;
const intentsFile = z.object({
  _meta: meta,
  examples: z.record(z.enum(INTENTS), z.array(z.string().min(1))),
  keywords: z
    .record(z.enum(keywordKinds), z.array(z.string()))
    .default({} as Record<(typeof keywordKinds)[number], string[]>),
});
export type IntentsFile = z.infer<typeof intentsFile>;

export function loadLocales(dir: string): LocaleBundle {
  const bundle: LocaleBundle = { languages: [], ui: new Map(), standard: new Map(), intents: new Map() };
  for (const code of readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()) {
    const ui = read(join(dir, code, 'ui.json'), uiFile);
    const standard = read(join(dir, code, 'standard.json'), standardFile);
    const intents = read(join(dir, code, 'intents.json'), intentsFile);
    const staffPages = read(join(dir, code, 'staff-pages.json'), staffPagesFile);
    if (ui) {
      bundle.ui.set(code, ui);
      bundle.languages.push({
        code,
        name: ui._meta.name,
        dir: ui._meta.dir,
        reviewed: ui._meta.reviewedByNativeSpeaker,
        webchat: ui.webchat,
        ...(staffPages ? { staffPages } : {}),
      });
    }
    if (standard) bundle.standard.set(code, standard);
    if (intents) bundle.intents.set(code, intents);
  }
  if (!bundle.ui.has('nb') || !bundle.ui.has('en'))
    throw new Error(`locales: ${dir} must hold nb and en (the fallbacks)`);
  if (!bundle.languages.some((l) => l.code === 'nb' && l.staffPages))
    throw new Error(`locales: ${join(dir, 'nb', 'staff-pages.json')} is missing (the staff pages' words)`);
  return bundle;
}

function read<T>(path: string, schema: z.ZodType<T>): T | undefined {
  if (!existsSync(path)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`locales: ${path} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new Error(`locales: ${path}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** Training examples from every language, labelled by intent. */
export function intentExamples(bundle: LocaleBundle): Array<{ text: string; label: Intent; lang: string }> {
  return [...bundle.intents].flatMap(([lang, file]) =>
    Object.entries(file.examples).flatMap(([intent, texts]) =>
      texts.map((text) => ({ text, label: intent as Intent, lang })),
    ),
  );
}

export type KeywordSource = Map<string, Partial<Record<KeywordKind, string[]>>>;

/** Keyword lists per language: intents.json keywords plus the standard's area keywords. */
export function keywordLists(bundle: LocaleBundle): KeywordSource {
  const out: KeywordSource = new Map();
  for (const [lang, file] of bundle.intents) out.set(lang, { ...file.keywords });
  for (const [lang, file] of bundle.standard) {
    const lists = out.get(lang) ?? {};
    for (const version of Object.values(file.versions)) {
      for (const a of ['fag', 'trygghet', 'dialog'] as const) {
        const kind = `area.${a}` as KeywordKind;
        lists[kind] = [...(lists[kind] ?? []), ...version.areas[a].keywords];
      }
    }
    out.set(lang, lists);
  }
  return out;
}
