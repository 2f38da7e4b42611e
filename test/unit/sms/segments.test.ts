import { describe, expect, it } from 'vitest';
import { countSegments, estimateCost, isGsm7 } from '../../../adapters/sms/segments.ts';

const seg = (text: string) => {
  const { encoding, units, segments } = countSegments(text);
  return { encoding, units, segments };
};

describe('countSegments: GSM-7', () => {
  it('fits 160 characters in one segment and needs two at 161 (153 per part)', () => {
    expect(seg('a'.repeat(160))).toEqual({ encoding: 'GSM-7', units: 160, segments: 1 });
    expect(seg('a'.repeat(161))).toEqual({ encoding: 'GSM-7', units: 161, segments: 2 });
    expect(seg('a'.repeat(306)).segments).toBe(2);
    expect(seg('a'.repeat(307)).segments).toBe(3);
  });

  it('keeps Norwegian æ ø å and é in GSM-7', () => {
    expect(seg('Blåbærsyltetøy på skoleturen, kafé i gymsalen. ÆØÅ')).toMatchObject({ encoding: 'GSM-7' });
    expect(isGsm7('Hei! Møtet er kl. 18:00 (rom 2) @ skolen; 50% kommer? ¡¿§')).toBe(true);
  });

  it('counts extension characters such as € { } [ ] ~ | ^ \\ as two septets', () => {
    expect(seg('€')).toEqual({ encoding: 'GSM-7', units: 2, segments: 1 });
    expect(seg('€'.repeat(80))).toEqual({ encoding: 'GSM-7', units: 160, segments: 1 });
    expect(seg(`${'€'.repeat(80)}a`)).toEqual({ encoding: 'GSM-7', units: 161, segments: 2 });
    expect(seg('{}[]~|^\\').units).toBe(16);
  });

  it('never splits an escape pair across parts', () => {
    // 306 septets would fit 2 × 153, but the € cannot straddle the first boundary.
    const text = `${'a'.repeat(152)}€${'a'.repeat(152)}`;
    expect(seg(text)).toEqual({ encoding: 'GSM-7', units: 306, segments: 3 });
  });

  it('Somali in Latin script stays GSM-7', () => {
    expect(seg("Ma jiraa kulan waalidiin ah toddobaadkan? Su'aal ayaan qabaa.")).toMatchObject({
      encoding: 'GSM-7',
      segments: 1,
    });
  });
});

describe('countSegments: UCS-2', () => {
  it('fits 70 units in one segment and needs two at 71 (67 per part)', () => {
    expect(seg('ş'.repeat(70))).toEqual({ encoding: 'UCS-2', units: 70, segments: 1 });
    expect(seg('ş'.repeat(71))).toEqual({ encoding: 'UCS-2', units: 71, segments: 2 });
    expect(seg('ş'.repeat(134)).segments).toBe(2);
    expect(seg('ş'.repeat(135)).segments).toBe(3);
  });

  it('one character outside GSM-7 turns the whole message into UCS-2', () => {
    expect(seg(`${'a'.repeat(100)}ł`)).toEqual({ encoding: 'UCS-2', units: 101, segments: 2 });
    expect(seg('Møtet er i dag ✓')).toMatchObject({ encoding: 'UCS-2', segments: 1 });
  });

  it('counts an emoji as two units and never splits it across parts', () => {
    expect(seg('😀'.repeat(35))).toEqual({ encoding: 'UCS-2', units: 70, segments: 1 });
    expect(seg('😀'.repeat(36))).toEqual({ encoding: 'UCS-2', units: 72, segments: 2 });
    // 134 units would fit 2 × 67, but the emoji cannot straddle the boundary.
    expect(seg(`${'я'.repeat(66)}😀${'я'.repeat(66)}`)).toEqual({
      encoding: 'UCS-2',
      units: 134,
      segments: 3,
    });
  });

  it('prices Urdu, Arabic and Tigrinya announcements in UCS-2 segments', () => {
    const urdu = 'کل اسکول میں والدین کی میٹنگ شام چھ بجے ہے۔ براہ کرم وقت پر تشریف لائیں۔';
    const arabic = 'اجتماع أولياء الأمور غداً الساعة السادسة مساءً في قاعة المدرسة. نرجو الحضور في الموعد.';
    const tigrinya = 'ጽባሕ ኣብ ቤት ትምህርቲ ኣኼባ ወለዲ ኣሎ።';
    expect(seg(urdu)).toMatchObject({ encoding: 'UCS-2', units: urdu.length, segments: 2 });
    expect(seg(arabic)).toMatchObject({ encoding: 'UCS-2', units: arabic.length, segments: 2 });
    expect(seg(tigrinya)).toMatchObject({ encoding: 'UCS-2', segments: 1 });
  });

  it('counts nothing for an empty text', () => {
    expect(seg('')).toEqual({ encoding: 'GSM-7', units: 0, segments: 0 });
  });
});

describe('estimateCost', () => {
  it('multiplies segments by recipients and the price per segment', () => {
    expect(estimateCost('a'.repeat(161))).toEqual({ messages: 1, segments: 2, nok: 1.2 });
    expect(estimateCost('ş'.repeat(71), { recipients: 100, pricePerSegmentNok: 0.45 })).toEqual({
      messages: 100,
      segments: 200,
      nok: 90,
    });
  });

  it('adds up the parts of a split reply', () => {
    expect(estimateCost(['a'.repeat(160), 'ş'.repeat(71)], { pricePerSegmentNok: 0.6 })).toEqual({
      messages: 2,
      segments: 3,
      nok: 1.8,
    });
  });
});
