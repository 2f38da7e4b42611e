import { describe, expect, it } from 'vitest';
import { clientCredentialsTokens } from '../../../adapters/teams/credentials.ts';
import { type ConnectorApi, classifyFailure, updateActivity } from '../../../adapters/teams/outbound.ts';
import { ErrorCode, PermanentError, TransientError } from '../../../src/errors.ts';

const NOW = new Date('2026-11-23T07:00:00Z');
const teamsError = (code: string) => ({ error: { code, message: 'details' } });

describe('classifying Bot Connector failures', () => {
  it('429 is a rate limit carrying the Retry-After asked for', () => {
    const err = classifyFailure(429, teamsError('Throttled'), '3', NOW);
    expect(err).toBeInstanceOf(TransientError);
    expect(err).toMatchObject({ code: ErrorCode.RateLimited, retryAfterMs: 3000, context: { status: 429 } });
    const dated = classifyFailure(429, undefined, 'Mon, 23 Nov 2026 07:00:10 GMT', NOW);
    expect((dated as TransientError).retryAfterMs).toBe(10_000);
    expect((classifyFailure(429, undefined, null, NOW) as TransientError).retryAfterMs).toBeUndefined();
  });

  it.each([500, 502, 503, 504, 412, 408])('%i is transient', (status) => {
    const err = classifyFailure(status, undefined, null, NOW);
    expect(err).toBeInstanceOf(TransientError);
    expect(err.code).toBe(ErrorCode.Unavailable);
  });

  it('401 is transient: the token is fetched again', () => {
    expect(classifyFailure(401, undefined, null, NOW)).toBeInstanceOf(TransientError);
  });

  it.each([
    [403, 'BotNotInConversationRoster'],
    [403, 'ConversationBlockedByUser'],
    [404, 'ConversationNotFound'],
  ])('%i %s means the recipient cannot be reached: permanent', (status, code) => {
    const err = classifyFailure(status, teamsError(code), null, NOW);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toMatchObject({ code: ErrorCode.AddressInvalid, context: { status, platformCode: code } });
  });

  it('other 4xx mean our message must change: permanent', () => {
    for (const status of [400, 413]) {
      const err = classifyFailure(status, teamsError('BadArgument'), null, NOW);
      expect(err).toBeInstanceOf(PermanentError);
      expect(err.code).toBe(ErrorCode.Config);
    }
  });
});

describe('client-credentials tokens', () => {
  const respond = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json', ...headers },
    });

  it('asks once, caches until five minutes before expiry, and shares one request between callers', async () => {
    let clock = NOW.getTime();
    const requests: URLSearchParams[] = [];
    const tokens = clientCredentialsTokens({
      tokenUrl: 'https://login.example/botframework.com/oauth2/v2.0/token',
      appId: 'app',
      password: 'secret',
      timeoutMs: 1000,
      now: () => new Date(clock),
      fetch: async (_url, init) => {
        requests.push(new URLSearchParams(String(init?.body)));
        return respond(200, { token_type: 'Bearer', expires_in: 3599, access_token: `t${requests.length}` });
      },
    });
    expect(await Promise.all([tokens.token(), tokens.token()])).toEqual(['t1', 't1']);
    expect(Object.fromEntries(requests[0] as URLSearchParams)).toEqual({
      grant_type: 'client_credentials',
      client_id: 'app',
      client_secret: 'secret',
      scope: 'https://api.botframework.com/.default',
    });
    clock += 50 * 60_000;
    expect(await tokens.token()).toBe('t1');
    clock += 6 * 60_000;
    expect(await tokens.token()).toBe('t2');
    tokens.reset();
    expect(await tokens.token()).toBe('t3');
  });

  it('a refused secret is a configuration error; an outage or a 429 may pass', async () => {
    const with_ = (res: () => Response | Promise<Response>) =>
      clientCredentialsTokens({
        tokenUrl: 'https://login.example/t',
        appId: 'app',
        password: 'wrong',
        timeoutMs: 1000,
        now: () => NOW,
        fetch: async () => res(),
      }).token();
    await expect(with_(() => respond(401, { error: 'invalid_client' }))).rejects.toMatchObject({
      code: ErrorCode.Config,
      retryable: false,
      context: { status: 401, error: 'invalid_client' },
    });
    await expect(with_(() => respond(503, {}))).rejects.toBeInstanceOf(TransientError);
    await expect(with_(() => respond(429, {}, { 'retry-after': '2' }))).rejects.toMatchObject({
      code: ErrorCode.RateLimited,
      retryAfterMs: 2000,
    });
    await expect(
      with_(() => {
        throw new TypeError('fetch failed');
      }),
    ).rejects.toMatchObject({ code: ErrorCode.Unavailable, retryable: true });
  });
});

describe('updating a message we posted', () => {
  function api(answer: Response) {
    const calls: Array<{ url: string; init: RequestInit }> = [];
    const connector: ConnectorApi = {
      tokens: { token: async () => 'tok', reset: () => {} },
      timeoutMs: 1000,
      now: () => NOW,
      fetch: async (url, init) => {
        calls.push({ url: String(url), init: init ?? {} });
        return answer;
      },
    };
    return { connector, calls };
  }

  it('PUTs the activity, with its id, on its own URL', async () => {
    const { connector, calls } = api(new Response(JSON.stringify({ id: '1795416000123' }), { status: 200 }));
    await updateActivity(connector, 'https://smba.trafficmanager.net/emea/', 'a:1chat;x', '1795416000123', {
      type: 'message',
      text: 'Oppdatert',
    });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.url).toBe(
      'https://smba.trafficmanager.net/emea/v3/conversations/a%3A1chat%3Bx/activities/1795416000123',
    );
    expect(calls[0]?.init.method).toBe('PUT');
    expect(JSON.parse(String(calls[0]?.init.body))).toEqual({
      type: 'message',
      text: 'Oppdatert',
      id: '1795416000123',
    });
    expect(calls[0]?.init.headers).toMatchObject({ authorization: 'Bearer tok' });
  });

  it('a message Teams no longer has is a permanent failure', async () => {
    const { connector } = api(new Response(JSON.stringify(teamsError('ActivityNotFound')), { status: 404 }));
    const err = await updateActivity(connector, 'https://x.example/', 'a:1', '17', { type: 'message' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toMatchObject({
      code: ErrorCode.AddressInvalid,
      context: { platformCode: 'ActivityNotFound' },
    });
  });
});
