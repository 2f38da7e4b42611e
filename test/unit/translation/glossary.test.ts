import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createGlossary, fromHtml, loadGlossary } from '../../../src/translation/glossary.ts';

const LOCALES = join(import.meta.dirname, '..', '..', '..', 'locales');
const glossary = loadGlossary(LOCALES);
const glossOf = (lang: string, term: string): string =>
  JSON.parse(readFileSync(join(LOCALES, lang, 'ui.json'), 'utf8')).glossary[term];
const FSI = '\u2068';
const PDI = '\u2069';
const span = (s: string) => `<span class="notranslate">${s}</span>`;

describe('glossary', () => {
  it('wraps school terms in notranslate spans and escapes everything else', () => {
    expect(glossary.protect('Kontaktlæreren sier <b>"hei"</b> & ha det\nfra FAU')).toBe(
      `${span('Kontaktlæreren')} sier &lt;b&gt;&quot;hei&quot;&lt;/b&gt; &amp; ha det<br>fra ${span('FAU')}`,
    );
  });

  it('keeps inflected and multi-word forms whole, and leaves look-alikes alone', () => {
    expect(glossary.protect('foreldremøtene og inneklemt  fridag')).toBe(
      `${span('foreldremøtene')} og ${span('inneklemt  fridag')}`,
    );
    expect(glossary.protect('1. trinn')).toBe(`1. ${span('trinn')}`);
    // Acronyms only in capitals; words only whole.
    for (const plain of ['fauna', 'et aks', 'Fau', 'trinnvis', 'AKSJE'])
      expect(glossary.protect(plain)).toBe(plain);
    expect(glossary.hasTerms('Hei, i morgen er det skole')).toBe(false);
    expect(glossary.hasTerms('søknad om permisjon')).toBe(true);
  });

  it('round-trips text exactly where no gloss applies', () => {
    const texts = [
      'Hei! Foreldremøtet er <i>torsdag</i> kl. 18 & vi møtes i "kantina".\nMvh kontaktlærer',
      'Ta med matpakke, og les ukeplanen. AKS stenger 16:30.',
      'Literal markup stays literal: <span class="notranslate">x</span> &amp;',
      '',
    ];
    for (const text of texts) {
      expect(glossary.unprotect(glossary.protect(text), 'nb')).toBe(text);
      expect(glossary.unprotect(glossary.protect(text), 'xx')).toBe(text);
    }
  });

  it('does not mistake user-written markup for protection', () => {
    const html = glossary.protect('<span class="notranslate">rektor</span>');
    expect(html).toBe(`&lt;span class=&quot;notranslate&quot;&gt;${span('rektor')}&lt;/span&gt;`);
    expect(glossary.unprotect(html, 'nb')).toBe('<span class="notranslate">rektor</span>');
  });

  it('adds the gloss once, after the first use, in the target language (so)', () => {
    const sent = glossary.protect(
      'Kontaktlæreren ringer. Spør kontaktlærer om permisjon. Permisjon må søkes.',
    );
    const out = glossary.unprotect(`[so] ${sent}`, 'so');
    const kontakt = glossOf('so', 'kontaktlærer');
    const permisjon = glossOf('so', 'permisjon');
    expect(kontakt).toBeTruthy();
    expect(out).toBe(
      `[so] Kontaktlæreren (${kontakt}) ringer. Spør kontaktlærer om permisjon (${permisjon}). Permisjon må søkes.`,
    );
  });

  it.each(['ar', 'ur'])('glosses in %s, isolating the Latin term in right-to-left text', (lang) => {
    const out = glossary.unprotect(`${span('foreldremøte')} ${span('foreldremøte')} ${span('FAU')}`, lang);
    const gloss = glossOf(lang, 'foreldremøte');
    expect(out).toBe(
      `${FSI}foreldremøte${PDI} (${gloss}) ${FSI}foreldremøte${PDI} ${FSI}FAU${PDI} (${glossOf(lang, 'FAU')})`,
    );
    expect(out.split(gloss)).toHaveLength(2);
  });

  it('keeps a term with no gloss in that language, with no gloss', () => {
    expect(glossary.unprotect(`${span('trinn')} ${span('helsesykepleier')}`, 'so')).toBe(
      'trinn helsesykepleier',
    );
    expect(glossary.unprotect(span('kontaktlærer'), 'xx')).toBe('kontaktlærer');
  });

  it('decodes what the service may send back', () => {
    expect(fromHtml('It&#39;s &#x2019;ok&#8217; &nbsp;<br/>x<br >y &unknown;')).toBe(
      "It's \u2019ok\u2019 \u00a0\nx\ny &unknown;",
    );
    expect(glossary.unprotect(`<span class='notranslate'>rektor</span>`, 'nb')).toBe('rektor');
  });

  it('changes its version when a gloss changes, and only then', () => {
    const data = { glosses: { so: { kontaktlærer: 'macallin' } } };
    const a = createGlossary(data);
    expect(createGlossary(structuredClone(data)).version).toBe(a.version);
    expect(createGlossary({ glosses: { so: { kontaktlærer: 'macallinka' } } }).version).not.toBe(a.version);
    expect(glossary.version).toMatch(/^\d+\.[0-9a-f]{12}$/);
  });

  it('protects every term DOMAIN.md lists and every gloss key of the locales', () => {
    for (const term of [
      'kontaktlærer',
      'foresatte',
      'SMU',
      'driftsstyre',
      'halvårsvurdering',
      'Skolemelding',
    ]) {
      expect(glossary.terms).toContain(term);
    }
    expect(glossary.terms).toContain('høstferie');
  });
});
