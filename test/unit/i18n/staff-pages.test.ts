import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadLocales, STAFF_PAGES, type StaffPage } from '../../../src/i18n/locales.ts';
import { locales, ROOT } from '../../helpers/world.ts';

const LOCALES = join(ROOT, 'locales');
const PUBLIC = join(ROOT, 'adapters/web/public');
const FILE = join(LOCALES, 'nb', 'staff-pages.json');
const source = (file: string) => readFileSync(join(PUBLIC, file), 'utf8');
const texts = (page: StaffPage) => locales.languages.find((l) => l.code === 'nb')?.staffPages?.[page] ?? {};

/**
 * The keys a page names literally: `data-t` in its HTML and the quoted keys in the first
 * argument of `t(...)` in its scripts (not the ones a comparison names, as in `x === 'sms'`).
 * Keys built at run time (`kind.${kind}`) are not seen here.
 */
function literalKeys(html: string, scripts: string[]) {
  const keys = new Set([...html.matchAll(/data-t="([^"]+)"/g)].map((m) => m[1] as string));
  for (const script of scripts)
    for (const [, first] of script.matchAll(/\bt\(([^(),]*)/g))
      for (const [, compared, key] of (first ?? '').matchAll(/([=!]==\s*)?'([^']*)'/g))
        if (!compared) keys.add(key as string);
  return keys;
}

describe('staff page texts (locales/nb/staff-pages.json)', () => {
  it('every key a staff page names has a Norwegian text, the shared sign-in’s included', () => {
    for (const page of STAFF_PAGES) {
      const keys = literalKeys(source(`${page}.html`), [source(`${page}.js`), source('staff-common.js')]);
      expect(keys.size, page).toBeGreaterThan(20);
      for (const key of keys) expect(texts(page)[key]?.trim(), `${page} ${key}`).toBeTruthy();
    }
    expect(texts('staff')['error.unknown_login']).toMatch(/innlogging/i);
    expect(texts('broadcast')['error.unknown_login']).toBe(texts('staff')['error.unknown_login']);
  });

  it('is a draft no native speaker has read yet, and says it is Norwegian only', () => {
    const { _meta } = JSON.parse(readFileSync(FILE, 'utf8')) as {
      _meta: { lang: string; reviewedByNativeSpeaker: boolean; note: string };
    };
    expect(_meta.lang).toBe('nb');
    expect(_meta.reviewedByNativeSpeaker).toBe(false);
    expect(_meta.note).toMatch(/Bare på norsk/);
  });

  it('is Norwegian only: the staff pages need no other language, and no other language needs it', () => {
    const holders = readdirSync(LOCALES, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .filter((d) => readdirSync(join(LOCALES, d.name)).includes('staff-pages.json'))
      .map((d) => d.name);
    expect(holders).toEqual(['nb']);
    expect(locales.languages.filter((l) => l.staffPages).map((l) => l.code)).toEqual(['nb']);
  });

  describe('a broken file', () => {
    let dir: string | undefined;
    afterEach(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    });
    const copy = () => {
      dir = mkdtempSync(join(tmpdir(), 'skolebro-locales-'));
      for (const lang of ['nb', 'en']) cpSync(join(LOCALES, lang), join(dir, lang), { recursive: true });
      return dir;
    };

    it('fails at start-up when missing', () => {
      const at = copy();
      rmSync(join(at, 'nb', 'staff-pages.json'));
      expect(() => loadLocales(at)).toThrow(/nb\/staff-pages\.json is missing/);
    });

    it('fails at start-up when a shared key is repeated in a page’s section, naming it', () => {
      const at = copy();
      const file = JSON.parse(readFileSync(FILE, 'utf8')) as Record<string, Record<string, string>>;
      (file.broadcast as Record<string, string>).signout = 'Logg av';
      writeFileSync(join(at, 'nb', 'staff-pages.json'), JSON.stringify(file));
      expect(() => loadLocales(at)).toThrow(/staff-pages\.json[\s\S]*signout is already in common/);
    });
  });
});
