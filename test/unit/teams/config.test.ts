import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { teamsConfigSchema, teamsSettings } from '../../../adapters/teams/config.ts';
import { MemoryTeamsState } from '../../../adapters/teams/state.ts';
import { authenticate, botAuthentication } from '../../../adapters/teams/verify.ts';

const APP = '3f6e2a1b-7c4d-4e8f-9a0b-1c2d3e4f5a6b';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const problems = (env: Record<string, string>) => {
  const result = teamsConfigSchema.safeParse(env);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('Teams configuration', () => {
  it('is off without an app id', () => {
    expect(teamsSettings(teamsConfigSchema.parse({}))).toBeUndefined();
    expect(teamsSettings(teamsConfigSchema.parse({ TEAMS_APP_ID: '' }))).toBeUndefined();
  });

  it('defaults to a MultiTenant registration with the SDK’s public-cloud endpoints', () => {
    const config = teamsConfigSchema.parse({ TEAMS_APP_ID: APP, TEAMS_APP_PASSWORD: 'secret' });
    expect(teamsSettings(config)).toEqual({ appId: APP, appPassword: 'secret', appType: 'MultiTenant' });
  });

  it('takes endpoint overrides for tests and private clouds', () => {
    const config = teamsConfigSchema.parse({
      TEAMS_APP_ID: APP,
      TEAMS_APP_PASSWORD: 'secret',
      TEAMS_TENANT_ID: TENANT,
      TEAMS_OPENID_METADATA_URL: 'http://127.0.0.1:4000/v1/.well-known/openidconfiguration',
      TEAMS_LOGIN_URL: 'http://127.0.0.1:4000/botframework.com/',
    });
    expect(teamsSettings(config)).toMatchObject({
      tenantId: TENANT,
      openIdMetadataUrl: 'http://127.0.0.1:4000/v1/.well-known/openidconfiguration',
      loginUrl: 'http://127.0.0.1:4000/botframework.com',
    });
  });

  it('takes the seconds between broadcast progress checks', () => {
    const config = teamsConfigSchema.parse({
      TEAMS_APP_ID: APP,
      TEAMS_APP_PASSWORD: 'secret',
      TEAMS_BROADCAST_PROGRESS_SECONDS: '0.2',
    });
    expect(teamsSettings(config)).toMatchObject({ progressIntervalMs: 200 });
    expect(
      teamsConfigSchema.safeParse({
        TEAMS_APP_ID: APP,
        TEAMS_APP_PASSWORD: 's',
        TEAMS_BROADCAST_PROGRESS_SECONDS: '0',
      }).success,
    ).toBe(false);
  });

  it('applies the SDK’s rules per app type, with readable messages', () => {
    expect(problems({ TEAMS_APP_ID: APP })).toEqual(['TEAMS_APP_PASSWORD: required for MultiTenant']);
    expect(problems({ TEAMS_APP_ID: APP, TEAMS_APP_PASSWORD: 's', TEAMS_APP_TYPE: 'SingleTenant' })).toEqual([
      'TEAMS_TENANT_ID: required for SingleTenant',
    ]);
    expect(
      problems({
        TEAMS_APP_ID: APP,
        TEAMS_APP_PASSWORD: 's',
        TEAMS_APP_TYPE: 'UserAssignedMSI',
        TEAMS_TENANT_ID: TENANT,
      }),
    ).toEqual(['TEAMS_APP_PASSWORD: must be unset for UserAssignedMSI']);
    expect(problems({ TEAMS_APP_PASSWORD: 's' })).toEqual([
      'TEAMS_APP_ID: required when TEAMS_APP_PASSWORD is set',
    ]);
    expect(problems({ TEAMS_APP_ID: APP, TEAMS_APP_PASSWORD: 's', TEAMS_APP_TYPE: 'Other' })).toHaveLength(1);
    expect(
      problems({ TEAMS_APP_ID: APP, TEAMS_APP_PASSWORD: 's', TEAMS_LOGIN_URL: 'not a url' }),
    ).toHaveLength(1);
  });

  it('merges into a larger schema like the SMS fragment does', () => {
    const merged = z.object({ PORT: z.coerce.number().default(3000), ...teamsConfigSchema.shape });
    expect(merged.parse({ TEAMS_APP_ID: APP, TEAMS_APP_PASSWORD: 's' })).toMatchObject({ PORT: 3000 });
  });
});

describe('authentication without a reachable key set', () => {
  it('refuses a request without a token with 401, before any key is fetched', async () => {
    const auth = botAuthentication({
      appId: APP,
      appPassword: 's',
      appType: 'MultiTenant',
      // Nothing listens here: a fetch would fail, and the outcome would be 503.
      openIdMetadataUrl: 'http://127.0.0.1:1/openid',
    });
    expect(await authenticate(auth, { channelId: 'msteams' }, undefined)).toMatchObject({
      ok: false,
      status: 401,
    });
    expect(await authenticate(auth, { channelId: 'msteams' }, 'Basic abc')).toMatchObject({
      ok: false,
      status: 401,
    });
  });

  it('never runs without an app id (the SDK would skip authentication)', () => {
    expect(() => botAuthentication({ appId: '', appType: 'MultiTenant' })).toThrow(/app id/);
  });
});

describe('the in-memory state', () => {
  const ref = (conversation: string, aad: string, type = 'personal') => ({
    v: 1 as const,
    channelId: 'msteams' as const,
    serviceUrl: 'https://smba.trafficmanager.net/emea/',
    conversation: { id: conversation, conversationType: type },
    user: { id: `29:${aad}`, aadObjectId: aad },
    bot: { id: '28:app' },
  });

  it('finds a reference by conversation id, or a personal chat by AAD object id', async () => {
    const state = new MemoryTeamsState();
    await state.saveReference(ref('a:1chat', 'aad-1'));
    await state.saveReference(ref('19:team@thread.tacv2', 'aad-2', 'channel'));
    expect((await state.reference('a:1chat'))?.conversation.id).toBe('a:1chat');
    expect((await state.reference('aad-1'))?.conversation.id).toBe('a:1chat');
    // A channel message does not make the channel anyone's personal chat.
    expect(await state.reference('aad-2')).toBeUndefined();
  });

  it('forgets a removed conversation, and the user’s entry only if it pointed there', async () => {
    const state = new MemoryTeamsState();
    await state.saveReference(ref('a:1chat', 'aad-1'));
    await state.forgetReference(ref('19:team@thread.tacv2', 'aad-1', 'channel'));
    expect(await state.reference('aad-1')).toBeDefined();
    await state.forgetReference(ref('a:1chat', 'aad-1'));
    expect(await state.reference('aad-1')).toBeUndefined();
    expect(await state.reference('a:1chat')).toBeUndefined();
  });

  it('links posted messages to threads by conversation base id, until the thread retention ends', async () => {
    let clock = Date.parse('2026-11-23T07:00:00Z');
    const state = new MemoryTeamsState({ threadTtlSeconds: 60 }, () => new Date(clock));
    await state.linkActivity('19:team@thread.tacv2;messageid=17', '18', 'sms:+4791000002');
    expect(await state.threadOf('19:team@thread.tacv2', '18')).toBe('sms:+4791000002');
    clock += 61_000;
    expect(await state.threadOf('19:team@thread.tacv2', '18')).toBeUndefined();
  });
});
