import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifyRequest } from '../../../adapters/slack/verify.ts';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const NOW = Date.UTC(2026, 10, 23, 8, 0, 0);
const body = 'token=x&team_id=T1&command=%2Fskolebro&text=';
const sign = (ts: number, raw = body, secret = SECRET) =>
  `v0=${createHmac('sha256', secret).update(`v0:${ts}:${raw}`).digest('hex')}`;
const at = (offsetSeconds: number) => Math.floor(NOW / 1000) + offsetSeconds;

describe('verifyRequest', () => {
  it("accepts Slack's v0 signature of the raw body within five minutes either way", () => {
    for (const offset of [0, -300, 300, -10]) {
      const ts = at(offset);
      expect(verifyRequest(SECRET, { signature: sign(ts), timestamp: String(ts) }, body, NOW)).toEqual({
        ok: true,
      });
    }
  });

  it('refuses old and future timestamps, before looking at the signature', () => {
    for (const offset of [-301, 301, -86_400]) {
      const ts = at(offset);
      expect(verifyRequest(SECRET, { signature: sign(ts), timestamp: String(ts) }, body, NOW)).toEqual({
        ok: false,
        reason: 'timestamp_stale',
      });
    }
  });

  it('refuses missing, malformed and wrong signatures', () => {
    const ts = at(0);
    const check = (signature: unknown, timestamp: unknown, raw = body) =>
      verifyRequest(SECRET, { signature, timestamp }, raw, NOW);
    expect(check(undefined, String(ts))).toEqual({ ok: false, reason: 'signature_missing' });
    expect(check(sign(ts), undefined)).toEqual({ ok: false, reason: 'signature_missing' });
    expect(check('', String(ts))).toEqual({ ok: false, reason: 'signature_missing' });
    expect(check(sign(ts), 'soon')).toEqual({ ok: false, reason: 'timestamp_invalid' });
    expect(check(sign(ts), [String(ts), String(ts)])).toEqual({ ok: false, reason: 'timestamp_invalid' });
    expect(check(sign(ts, body, 'another-secret'), String(ts))).toEqual({
      ok: false,
      reason: 'signature_invalid',
    });
    expect(check(sign(ts).replace('v0=', 'v1='), String(ts))).toEqual({
      ok: false,
      reason: 'signature_invalid',
    });
    expect(check(sign(ts), String(ts), `${body}&x=1`)).toEqual({ ok: false, reason: 'signature_invalid' });
    // A signature for another timestamp.
    expect(check(sign(ts - 1), String(ts))).toEqual({ ok: false, reason: 'signature_invalid' });
  });
});
