import type { ConfigurationServiceClientCredentialFactory } from 'botbuilder';
import { AppCredentials, AuthenticationConstants } from 'botframework-connector';
import { ErrorCode, PermanentError, parseRetryAfter, TransientError } from '../../src/errors.ts';

/** Bearer tokens for calls to the Bot Connector. */
export interface TokenSource {
  token(): Promise<string>;
  /** The connector refused a token: the next `token()` fetches a fresh one. */
  reset(): void;
}

/** The audience of tokens for the Bot Connector service. */
export const CONNECTOR_SCOPE = AuthenticationConstants.ToChannelFromBotOAuthScope;
/** A token is renewed this long before it expires, in ms. */
const RENEW_BEFORE_MS = 5 * 60_000;

/**
 * Tokens from the SDK's own credentials (MSAL against login.microsoftonline.com, with its
 * cache), for the app type configured: the production path. MSAL refuses an http
 * authority and looks up its authority on the internet, which is why tests use
 * `clientCredentialsTokens` against the fake connector instead.
 */
export function sdkTokens(factory: ConfigurationServiceClientCredentialFactory, appId: string): TokenSource {
  let force = false;
  return {
    async token() {
      const credentials = await factory.createCredentials(
        appId,
        CONNECTOR_SCOPE,
        AuthenticationConstants.ToChannelFromBotLoginUrl,
        true,
      );
      if (!(credentials instanceof AppCredentials)) {
        throw new PermanentError(ErrorCode.Config, 'Teams credentials cannot issue tokens (no app id?)');
      }
      try {
        const token = await credentials.getToken(force);
        force = false;
        return token;
      } catch (err) {
        const code = (err as { errorCode?: string }).errorCode;
        if (code === 'invalid_client' || code === 'unauthorized_client') {
          throw new PermanentError(ErrorCode.Config, 'the Teams app id or password was refused', {
            cause: err,
            context: { errorCode: code },
          });
        }
        throw new TransientError(ErrorCode.Unavailable, 'no token for the Bot Connector', { cause: err });
      }
    },
    reset() {
      force = true;
    },
  };
}

export interface ClientCredentialsOptions {
  /** The OAuth 2.0 token endpoint, e.g. `<authority>/oauth2/v2.0/token`. */
  tokenUrl: string;
  appId: string;
  password: string;
  /** Audience of the token. Default the Bot Connector's. */
  scope?: string;
  /** Timeout of one token call, in ms. */
  timeoutMs: number;
  fetch: typeof fetch;
  now: () => Date;
}

/**
 * The OAuth 2.0 client-credentials grant over fetch, cached until five minutes before
 * expiry; concurrent callers share one request. Used when a token authority is configured
 * (TEAMS_LOGIN_URL): the fake connector in tests, or a private cloud.
 */
export function clientCredentialsTokens(opts: ClientCredentialsOptions): TokenSource {
  let cached: { token: string; until: number } | undefined;
  let pending: Promise<string> | undefined;

  async function fetchToken(): Promise<string> {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: opts.appId,
      client_secret: opts.password,
      scope: `${opts.scope ?? CONNECTOR_SCOPE}/.default`,
    });
    let res: Response;
    try {
      res = await opts.fetch(opts.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form,
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
    } catch (err) {
      throw new TransientError(ErrorCode.Unavailable, 'token endpoint unreachable', { cause: err });
    }
    const body = (await res.json().catch(() => undefined)) as
      | { access_token?: unknown; expires_in?: unknown; error?: unknown }
      | undefined;
    if (res.ok && typeof body?.access_token === 'string') {
      const seconds = Number(body.expires_in ?? 3600);
      const lifetime = (Number.isFinite(seconds) ? seconds : 3600) * 1000;
      cached = {
        token: body.access_token,
        until: opts.now().getTime() + Math.max(lifetime - RENEW_BEFORE_MS, lifetime / 2),
      };
      return body.access_token;
    }
    const context = { status: res.status, ...(typeof body?.error === 'string' ? { error: body.error } : {}) };
    if (res.status === 429) {
      const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), opts.now());
      throw new TransientError(ErrorCode.RateLimited, 'token endpoint rate limit (429)', {
        context,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      });
    }
    if (res.status >= 500 || res.ok) {
      throw new TransientError(ErrorCode.Unavailable, `token endpoint unavailable (${res.status})`, {
        context,
      });
    }
    throw new PermanentError(ErrorCode.Config, `the Teams app id or password was refused (${res.status})`, {
      context,
    });
  }

  return {
    async token() {
      if (cached && cached.until > opts.now().getTime()) return cached.token;
      pending ??= fetchToken().finally(() => {
        pending = undefined;
      });
      return pending;
    },
    reset() {
      cached = undefined;
    },
  };
}
