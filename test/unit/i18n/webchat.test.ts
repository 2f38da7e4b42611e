import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadLocales, WEBCHAT_ERRORS } from '../../../src/i18n/locales.ts';
import { locales, ROOT } from '../../helpers/world.ts';

const LOCALES = join(ROOT, 'locales');
const dirs = readdirSync(LOCALES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);
const raw = (lang: string, dir = LOCALES) =>
  JSON.parse(readFileSync(join(dir, lang, 'ui.json'), 'utf8')) as { webchat?: Record<string, unknown> };

describe('web chat status texts (the webchat section of locales/<lang>/ui.json)', () => {
  it('every language has a text for every error code the chat can meet', () => {
    expect(locales.languages.map((l) => l.code).sort()).toEqual([...dirs].sort());
    const en = locales.languages.find((l) => l.code === 'en')?.webchat;
    for (const { code, webchat } of locales.languages) {
      expect(Object.keys(webchat).sort(), code).toEqual([...WEBCHAT_ERRORS].sort());
      for (const error of WEBCHAT_ERRORS) {
        expect(webchat[error].trim(), `${code} ${error}`).not.toBe('');
        // A language's own words, not the English left in place.
        if (code !== 'en') expect(webchat[error], `${code} ${error}`).not.toBe(en?.[error]);
      }
    }
  });

  it('every section says it is a draft no native speaker has read yet', () => {
    for (const lang of dirs) {
      expect(raw(lang).webchat?.reviewedByNativeSpeaker, lang).toBe(false);
      expect(raw(lang).webchat?._note, lang).toEqual(expect.any(String));
    }
  });

  describe('a language without one', () => {
    let dir: string | undefined;
    afterEach(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    });

    it('fails at start-up, naming the file and the key', () => {
      dir = mkdtempSync(join(tmpdir(), 'skolebro-locales-'));
      for (const lang of ['nb', 'en', 'so'])
        cpSync(join(LOCALES, lang), join(dir, lang), { recursive: true });
      const so = raw('so', dir);
      delete so.webchat?.['error.network'];
      writeFileSync(join(dir, 'so', 'ui.json'), JSON.stringify(so));
      expect(() => loadLocales(dir as string)).toThrow(/so\/ui\.json[\s\S]*error\.network/);
    });
  });
});
