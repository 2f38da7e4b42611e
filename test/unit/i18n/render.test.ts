import { describe, expect, it } from 'vitest';
import type { LocaleBundle } from '../../../src/i18n/locales.ts';
import { createRenderer } from '../../../src/i18n/render.ts';
import { locales, renderer } from '../../helpers/world.ts';

describe('renderer', () => {
  it('keeps a school term in Norwegian with a gloss in the reader’s language, once per reply', () => {
    const text = renderer.reply('en', [{ key: 'contact.gloss' }, { key: 'contact.gloss' }]);
    expect(text.match(/kontaktlærer \(your child's main class teacher\)/g)).toHaveLength(1);
    expect(text.match(/kontaktlærer/g)?.length).toBeGreaterThan(1);
  });

  it('gives no gloss in Norwegian', () => {
    expect(renderer.reply('nb', [{ key: 'contact.gloss' }])).not.toMatch(/kontaktlærer \(/);
  });

  it('formats dates in the reader’s language', () => {
    expect(
      renderer.reply('nb', [{ key: 'holidays.day', params: { term: 'Siste skoledag', date: '2025-06-20' } }]),
    ).toBe('Siste skoledag: fredag 20. juni 2025');
    expect(
      renderer.reply('pl', [{ key: 'holidays.day', params: { term: 'X', date: '2025-06-20' } }]),
    ).toMatch(/20 czerwca 2025/);
  });

  it('falls back to Norwegian and English with a note, never a blank or a key', () => {
    const bundle: LocaleBundle = {
      ...locales,
      ui: new Map([
        ...locales.ui,
        [
          'so',
          {
            ...(locales.ui.get('so') as NonNullable<ReturnType<typeof locales.ui.get>>),
            messages: { 'common.missingTranslation': 'Lama helin' },
          },
        ],
      ]),
    };
    const text = createRenderer(bundle).reply('so', [{ key: 'absence.notSent' }]);
    expect(text).toBe(
      ['Lama helin', 'Greit, jeg har ikke meldt noe.', 'OK, I have not reported anything.'].join('\n'),
    );
  });

  it('wraps Latin school terms in bidi isolates in right-to-left languages', () => {
    const rtl = locales.languages.find((l) => l.dir === 'rtl');
    if (!rtl) return; // no right-to-left language loaded yet
    expect(renderer.reply(rtl.code, [{ key: 'contact.gloss' }])).toMatch(/\u2068[Kk]ontaktlærer\u2069/);
  });

  it('every message key has a text in every language, and nothing renders as a placeholder', () => {
    const keys = Object.keys(locales.ui.get('en')?.messages ?? {});
    for (const { code } of locales.languages) {
      for (const key of keys) {
        const text = renderer.reply(code, [
          {
            key,
            params: {
              name: 'Ola',
              className: '6A',
              teacher: 'T',
              days: '2026-11-23',
              time: '10:00',
              date: '2026-11-23',
              from: '2026-11-23',
              to: '2026-11-24',
              term: 'Vinterferie',
              phone: '+47',
              email: 'e',
              location: 'L',
              school: 'S',
              baseleder: 'B',
              version: 'oslo-2014',
              area: 'standard.fag.title',
              text: 'x',
              code: '123456',
              guardian: 'G',
              child: 'C',
              lang: 'so',
            },
          },
        ]);
        expect(text, `${code} ${key}`).not.toMatch(/\{\w+(:\w+)?\}|\[\[/);
        expect(text.trim(), `${code} ${key}`).not.toBe('');
      }
    }
  });
});
