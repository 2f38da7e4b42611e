import { createHash } from 'node:crypto';
import {
  type Activity,
  CallerIdConstants,
  ConfigurationBotFrameworkAuthentication,
  type ConfigurationBotFrameworkAuthenticationOptions,
  ConfigurationServiceClientCredentialFactory,
} from 'botbuilder';
import {
  AuthenticationConstants,
  AuthenticationError,
  type BotFrameworkAuthentication,
} from 'botframework-connector';
import { LRUCache } from 'lru-cache';
import type { TeamsSettings } from './config.ts';

/** The channel service's token issuer; emulator and skill tokens (other issuers) are refused here. */
export const CHANNEL_TOKEN_ISSUER = AuthenticationConstants.ToBotFromChannelTokenIssuer;

/** The SDK's credentials for our app registration: app id checks inbound, tokens outbound (MSAL). */
export function credentialsFactory(settings: TeamsSettings): ConfigurationServiceClientCredentialFactory {
  return new ConfigurationServiceClientCredentialFactory({
    MicrosoftAppId: settings.appId,
    MicrosoftAppType: settings.appType,
    ...(settings.appPassword ? { MicrosoftAppPassword: settings.appPassword } : {}),
    ...(settings.tenantId ? { MicrosoftAppTenantId: settings.tenantId } : {}),
  });
}

/**
 * The SDK's request authentication (JWT signature, issuer, audience = our app id,
 * expiry, key endorsements for the channel, serviceUrl claim), public cloud by default.
 */
export function botAuthentication(
  settings: TeamsSettings,
  credentials = credentialsFactory(settings),
): BotFrameworkAuthentication {
  if (!settings.appId) throw new Error('Teams needs an app id: without one the SDK skips authentication');
  if (!settings.openIdMetadataUrl) return new ConfigurationBotFrameworkAuthentication({}, credentials);
  // One endpoint given makes the SDK take every endpoint from the options
  // (BotFrameworkAuthenticationFactory), so the public-cloud values are spelled out.
  const options: ConfigurationBotFrameworkAuthenticationOptions = {
    ToBotFromChannelOpenIdMetadataUrl: settings.openIdMetadataUrl,
    ToBotFromChannelTokenIssuer: CHANNEL_TOKEN_ISSUER,
    ToBotFromEmulatorOpenIdMetadataUrl: AuthenticationConstants.ToBotFromEmulatorOpenIdMetadataUrl,
    ToChannelFromBotLoginUrl: settings.loginUrl ?? AuthenticationConstants.ToChannelFromBotLoginUrl,
    ToChannelFromBotOAuthScope: AuthenticationConstants.ToChannelFromBotOAuthScope,
    OAuthUrl: AuthenticationConstants.OAuthUrl,
    CallerId: CallerIdConstants.PublicAzureChannel,
    ValidateAuthority: true,
  };
  return new ConfigurationBotFrameworkAuthentication(options, credentials);
}

export type AuthOutcome =
  | { ok: true }
  /** 401: no, forged, expired or misaddressed token. 503: the signing keys could not be loaded. */
  | { ok: false; status: 401 | 503; reason: string };

/**
 * Whether an inbound request carries a valid channel token for `activity`. The SDK
 * checks the token; this maps its mixed failures (AuthenticationError, and the raw
 * jsonwebtoken errors it rethrows for a bad signature) to 401, and a failure to load
 * the signing keys to 503, so that the channel retries instead of giving up.
 */
export async function authenticate(
  auth: BotFrameworkAuthentication,
  activity: { channelId: string; serviceUrl?: string },
  authorization: string | undefined,
): Promise<AuthOutcome> {
  try {
    // The SDK reads only channelId and serviceUrl of the activity.
    const result = await auth.authenticateRequest(activity as Activity, authorization ?? '');
    const identity = result.claimsIdentity;
    if (!identity.isAuthenticated) return { ok: false, status: 401, reason: 'not authenticated' };
    // Only the channel service posts to this route; an emulator or skill token is not welcome.
    if (identity.getClaimValue(AuthenticationConstants.IssuerClaim) !== CHANNEL_TOKEN_ISSUER) {
      return { ok: false, status: 401, reason: 'not a channel token' };
    }
    return { ok: true };
  } catch (err) {
    const e = err as { statusCode?: number; name?: string; code?: string; message?: string };
    const unavailable =
      (err instanceof AuthenticationError && e.statusCode !== undefined && e.statusCode >= 500) ||
      e.name === 'FetchError' ||
      e.code === 'ECONNREFUSED';
    return { ok: false, status: unavailable ? 503 : 401, reason: (e.message ?? 'error').slice(0, 200) };
  }
}

/** How long an accepted token is trusted without checking it again, at most. */
const ACCEPTED_FOR_MS = 5 * 60_000;

/**
 * `authenticate` with a memory of the tokens it accepted. The channel sends the same
 * token with every activity for about an hour, and checking its RS256 signature (with
 * the SDK re-reading the signing key) is most of this route's CPU. A token is taken as
 * accepted again, for the same serviceUrl, until it expires or for five minutes at most,
 * so a signing key withdrawn from the OpenID metadata stops being honoured within that
 * time. Refusals are never remembered: each is checked in full.
 */
export function rememberingAuthentication(
  auth: BotFrameworkAuthentication,
  opts: { max?: number; now?: () => number } = {},
): (
  activity: { channelId: string; serviceUrl?: string },
  authorization: string | undefined,
) => Promise<AuthOutcome> {
  const now = opts.now ?? Date.now;
  const accepted = new LRUCache<string, true>({ max: opts.max ?? 10_000, perf: { now }, ttlResolution: 0 });
  return async (activity, authorization) => {
    if (!authorization) return authenticate(auth, activity, authorization);
    const key = createHash('sha256')
      .update(`${activity.serviceUrl ?? ''}\n${authorization}`)
      .digest('base64');
    if (accepted.get(key)) return { ok: true };
    const verdict = await authenticate(auth, activity, authorization);
    if (verdict.ok) {
      const ttl = Math.min(ACCEPTED_FOR_MS, expiresAt(authorization) - now());
      if (ttl > 0) accepted.set(key, true, { ttl });
    }
    return verdict;
  };
}

/** The `exp` of a bearer token the SDK has just verified, in ms; 0 if it has none. */
function expiresAt(authorization: string): number {
  const payload = authorization.replace(/^Bearer\s+/i, '').split('.')[1] ?? '';
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : 0;
  } catch {
    return 0;
  }
}
