import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  loadSmsTexts,
  matchKeyword,
  normalizeKeyword,
  replyLanguage,
  type SmsSection,
  smsMessage,
  smsTexts,
} from '../../../adapters/sms/keywords.ts';
import { countSegments } from '../../../adapters/sms/segments.ts';

const LOCALES = join(import.meta.dirname, '..', '..', '..', 'locales');
const texts = loadSmsTexts(LOCALES);

describe('sms sections in locales/<lang>/ui.json', () => {
  it('exist for every language', () => {
    const langs = readdirSync(LOCALES, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    expect(langs).toHaveLength(21);
    expect([...texts.sections.keys()].sort()).toEqual(langs.sort());
  });

  it('mark every language but nb and en as awaiting a native speaker', () => {
    for (const [lang, section] of texts.sections) {
      if (lang === 'nb' || lang === 'en') expect(section.reviewedByNativeSpeaker).toBeUndefined();
      else expect(section.reviewedByNativeSpeaker, lang).toBe(false);
    }
  });

  it('keep every reply within two SMS segments', () => {
    for (const [lang, section] of texts.sections) {
      for (const key of ['stopped', 'started', 'help', 'pickNumber'] as const) {
        expect(countSegments(section[key]).segments, `${lang} ${key}`).toBeLessThanOrEqual(2);
      }
    }
  });

  it('name, in each language, a keyword that works', () => {
    for (const [lang, section] of texts.sections) {
      const named = (text: string, kind: 'stop' | 'start') =>
        text.split(/[\s.,!?؟۔।።]+/u).some((w) => matchKeyword(texts, w)?.kind === kind) ||
        [...texts.keywords].some(
          ([k, v]) => v.kind === kind && k.includes(' ') && text.toLowerCase().includes(k),
        );
      expect(named(section.stopped, 'start'), `${lang} stopped names a START keyword`).toBe(true);
      expect(named(section.started, 'stop'), `${lang} started names a STOP keyword`).toBe(true);
      expect(named(section.help, 'stop'), `${lang} help names a STOP keyword`).toBe(true);
    }
  });
});

describe('matchKeyword', () => {
  it('matches the whole message, whatever the case, spacing and closing punctuation', () => {
    expect(matchKeyword(texts, 'STOP')).toEqual({ kind: 'stop', langs: ['en'] });
    expect(matchKeyword(texts, '  stopp! ')).toEqual({ kind: 'stop', langs: ['nb'] });
    expect(matchKeyword(texts, 'Hjelp?')).toEqual({ kind: 'help', langs: ['nb'] });
    expect(matchKeyword(texts, 'bat  dau')).toMatchObject({ kind: 'start', langs: ['vi'] });
    expect(matchKeyword(texts, 'СТОП')?.langs.sort()).toEqual(['ru', 'uk']);
    expect(matchKeyword(texts, 'توقف')?.langs.sort()).toEqual(['ar', 'fa', 'prs']);
    expect(matchKeyword(texts, 'BAŞLA')).toMatchObject({ kind: 'start', langs: ['tr'] });
  });

  it('does not match a keyword inside a longer message', () => {
    expect(matchKeyword(texts, 'stop the bullying')).toBeUndefined();
    expect(matchKeyword(texts, 'Kan du hjelpe meg?')).toBeUndefined();
  });

  it('ignores invisible marks keyboards add', () => {
    expect(normalizeKeyword('\u200fتوقف\u200f')).toBe('توقف');
    expect(normalizeKeyword('İPTAL')).toBe('iptal');
  });
});

describe('replyLanguage and smsMessage', () => {
  it("answers in the person's language, else the default if it shares the keyword, else the keyword's", () => {
    const start = matchKeyword(texts, 'START');
    if (!start) throw new Error('START must be a keyword');
    expect(start.langs).toEqual(expect.arrayContaining(['en', 'nb']));
    expect(replyLanguage(texts, start, 'so', 'nb')).toBe('so');
    expect(replyLanguage(texts, start, undefined, 'nb')).toBe('nb');
    expect(replyLanguage(texts, start, 'xx', 'nb')).toBe('nb');
    const stop = matchKeyword(texts, 'STOP');
    if (!stop) throw new Error('STOP must be a keyword');
    expect(replyLanguage(texts, stop, undefined, 'nb')).toBe('en');
  });

  it('falls back to English, then Norwegian, for a language without texts', () => {
    expect(smsMessage(texts, 'xx', 'stopped')).toBe(texts.sections.get('en')?.stopped);
  });
});

describe('smsTexts', () => {
  const section = (stop: string[], start: string[], help: string[]): SmsSection => ({
    keywords: { stop, start, help },
    stopped: 's',
    started: 's',
    help: 'h',
    pickNumber: 'p',
  });

  it('refuses a word that is a keyword of two kinds', () => {
    const sections = new Map([
      ['nb', section(['STOPP'], ['START'], ['HJELP'])],
      ['en', section(['STOP'], ['stopp'], ['HELP'])],
    ]);
    expect(() => smsTexts(sections)).toThrow(/both stop/);
  });

  it('requires the fallback languages', () => {
    expect(() => smsTexts(new Map([['nb', section(['A'], ['B'], ['C'])]]))).toThrow(/en\/ui.json/);
  });
});
