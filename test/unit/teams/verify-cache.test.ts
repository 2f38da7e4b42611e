import type { BotFrameworkAuthentication } from 'botframework-connector';
import { ClaimsIdentity } from 'botframework-connector';
import { describe, expect, it } from 'vitest';
import { CHANNEL_TOKEN_ISSUER, rememberingAuthentication } from '../../../adapters/teams/verify.ts';

const NOW = Date.parse('2026-11-23T08:00:00Z');
const token = (expSeconds: number, sig = 'sig') =>
  `Bearer h.${Buffer.from(JSON.stringify({ exp: expSeconds, iss: CHANNEL_TOKEN_ISSUER })).toString('base64url')}.${sig}`;

/** Stands in for the SDK: accepts tokens signed 'sig', refuses the rest, and counts the checks. */
function fakeSdk() {
  const checks: string[] = [];
  const auth = {
    async authenticateRequest(_activity: unknown, header: string) {
      checks.push(header);
      if (!header.endsWith('.sig')) throw new Error('invalid signature');
      return { claimsIdentity: new ClaimsIdentity([{ type: 'iss', value: CHANNEL_TOKEN_ISSUER }], true) };
    },
  } as unknown as BotFrameworkAuthentication;
  return { auth, checks };
}

const activity = { channelId: 'msteams', serviceUrl: 'https://smba.trafficmanager.net/emea/' };

describe('remembering accepted Teams tokens', () => {
  it('checks a token once, then trusts it for the same serviceUrl', async () => {
    const { auth, checks } = fakeSdk();
    const check = rememberingAuthentication(auth, { now: () => NOW });
    const valid = token(NOW / 1000 + 3600);
    for (let i = 0; i < 3; i++) expect(await check(activity, valid)).toEqual({ ok: true });
    expect(checks).toHaveLength(1);
    await check({ ...activity, serviceUrl: 'https://evil.example/' }, valid);
    expect(checks).toHaveLength(2);
  });

  it('never remembers a refusal', async () => {
    const { auth, checks } = fakeSdk();
    const check = rememberingAuthentication(auth, { now: () => NOW });
    const forged = token(NOW / 1000 + 3600, 'forged');
    expect(await check(activity, forged)).toMatchObject({ ok: false, status: 401 });
    expect(await check(activity, forged)).toMatchObject({ ok: false, status: 401 });
    expect(checks).toHaveLength(2);
    expect(await check(activity, undefined)).toMatchObject({ ok: false, status: 401 });
  });

  it('does not keep a token past its expiry', async () => {
    const { auth, checks } = fakeSdk();
    let now = NOW;
    const check = rememberingAuthentication(auth, { now: () => now });
    const shortLived = token(NOW / 1000 + 30);
    await check(activity, shortLived);
    await check(activity, shortLived);
    expect(checks).toHaveLength(1);
    now += 31_000;
    await check(activity, shortLived);
    expect(checks).toHaveLength(2);
    const expired = token(NOW / 1000 - 1);
    await check(activity, expired);
    await check(activity, expired);
    expect(checks).toHaveLength(4);
  });
});
