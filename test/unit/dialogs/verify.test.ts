import { describe, expect, it } from 'vitest';
import { codeIn, phoneIn } from '../../../dialogs/verify.ts';

describe('numbers and codes in messages', () => {
  it('reads Norwegian mobile numbers in the ways parents write them', () => {
    expect(phoneIn('91234567')).toBe('+4791234567');
    expect(phoneIn('912 34 567')).toBe('+4791234567');
    expect(phoneIn('nummeret mitt er +47 912 34 567 takk')).toBe('+4791234567');
    expect(phoneIn('0047 91234567')).toBe('+4791234567');
    expect(phoneIn('+46 70 123 45 67')).toBe('+46701234567');
    expect(phoneIn('jeg vet ikke')).toBeUndefined();
    expect(phoneIn('1234')).toBeUndefined();
  });
  it('takes a six-digit code, with or without a space, and nothing else', () => {
    expect(codeIn('123456')).toBe('123456');
    expect(codeIn(' 123 456 ')).toBe('123456');
    expect(codeIn('koden er 042137')).toBe('042137');
    expect(codeIn('12345')).toBeUndefined();
    expect(codeIn('1234567')).toBeUndefined();
    expect(codeIn('91234567')).toBeUndefined();
  });
});
