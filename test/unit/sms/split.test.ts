import { describe, expect, it } from 'vitest';
import { numberedOptions, optionNumber, renderSms } from '../../../adapters/sms/split.ts';
import { splitText } from '../../../src/text.ts';

/** The words of a text, so splitting can be checked to lose and reorder nothing. */
const words = (text: string | string[]) =>
  (Array.isArray(text) ? text.join(' ') : text).split(/\s+/).filter(Boolean);

describe('splitText', () => {
  it('leaves a text within the limit alone (trimmed)', () => {
    expect(splitText('  Hei!  ', 10)).toEqual(['Hei!']);
    expect(splitText('', 10)).toEqual([]);
  });

  it('prefers a paragraph break', () => {
    const text = 'First paragraph, fairly long. Second sentence.\n\nSecond paragraph.';
    expect(splitText(text, 50)).toEqual([
      'First paragraph, fairly long. Second sentence.',
      'Second paragraph.',
    ]);
  });

  it('then a line break, then the end of a sentence, then a space', () => {
    expect(splitText('Line one is here\nline two is here', 20)).toEqual([
      'Line one is here',
      'line two is here',
    ]);
    expect(splitText('One sentence here. Another one follows.', 25)).toEqual([
      'One sentence here.',
      'Another one follows.',
    ]);
    expect(splitText('alpha beta gamma delta epsilon', 12)).toEqual(['alpha beta', 'gamma delta', 'epsilon']);
  });

  it('knows Arabic and Urdu sentence ends', () => {
    const ar = 'هل يوجد اجتماع غداً؟ نعم، في الساعة السادسة.';
    expect(splitText(ar, 25)[0]).toBe('هل يوجد اجتماع غداً؟');
    const ur = 'کل میٹنگ ہے۔ براہ کرم وقت پر آئیں۔';
    expect(splitText(ur, 16)[0]).toBe('کل میٹنگ ہے۔');
  });

  it('ignores a break so early that the part would be tiny', () => {
    const text = `Hi.\n\n${'word '.repeat(30).trim()}`;
    const parts = splitText(text, 60);
    expect(parts[0]?.length).toBeGreaterThan(30);
    expect(words(parts)).toEqual(words(text));
  });

  it('cuts a word longer than a part between graphemes, never inside an emoji or a combining mark', () => {
    expect(splitText('abcdefghij', 4)).toEqual(['abcd', 'efgh', 'ij']);
    const family = '👨‍👩‍👧'; // one grapheme of 8 UTF-16 units
    for (const part of splitText(`${family}${family}${family}`, 10)) expect(part).toBe(family);
    const tamil = 'தொடங்கு'.repeat(3);
    const parts = splitText(tamil, 5);
    expect(parts.join('')).toBe(tamil);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(5);
    expect(parts.every((p) => !/^[\u0bbe-\u0bcd]/u.test(p))).toBe(true); // no part starts with a vowel sign
  });

  it('keeps every part within the limit and every word in order', () => {
    const text = Array.from({ length: 40 }, (_, i) => `Setning nummer ${i} om foreldremøtet.`).join(' ');
    for (const max of [30, 70, 153, 1600]) {
      const parts = splitText(text, max);
      for (const part of parts) expect(part.length).toBeLessThanOrEqual(max);
      expect(words(parts)).toEqual(words(text));
    }
  });

  it('refuses a nonsensical limit', () => {
    expect(() => splitText('x', 0)).toThrow(RangeError);
  });
});

describe('numbered options', () => {
  const choices = [
    { value: 'yes', label: 'Ja' },
    { value: 'no', label: 'Nei' },
  ];

  it('lists choices as "1) …" lines', () => {
    expect(numberedOptions(choices)).toBe('1) Ja\n2) Nei');
  });

  it('puts them under the text with the hint, in one part when it fits', () => {
    expect(
      renderSms({ text: 'Melde fravær?', choices }, { maxChars: 1600, pickHint: 'Svar med tallet.' }),
    ).toEqual(['Melde fravær?\n\n1) Ja\n2) Nei\nSvar med tallet.']);
    expect(renderSms({ text: 'Bare tekst.', choices: [] }, { maxChars: 1600, pickHint: 'unused' })).toEqual([
      'Bare tekst.',
    ]);
  });

  it('keeps the options together in the last part when the text is long', () => {
    const text = 'Lang tekst. '.repeat(20).trim();
    const parts = renderSms({ text, choices }, { maxChars: 120, pickHint: 'Svar med tallet.' });
    expect(parts.at(-1)).toBe('1) Ja\n2) Nei\nSvar med tallet.');
  });
});

describe('optionNumber', () => {
  it('reads a bare number in the ways parents type it', () => {
    for (const [reply, n] of [
      ['1', 1],
      [' 2 ', 2],
      ['2)', 2],
      ['3.', 3],
      ['(4)', 4],
      ['12', 12],
      ['٢', 2], // Arabic-Indic
      ['۳', 3], // Persian/Urdu
      ['௨', 2], // Tamil
    ] as const) {
      expect(optionNumber(reply)).toBe(n);
    }
  });

  it('treats anything else as text', () => {
    for (const reply of ['', '0', '2 barn', 'to', '1,5', '123', 'Ja'])
      expect(optionNumber(reply)).toBeUndefined();
  });
});
