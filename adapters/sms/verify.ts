import twilio from 'twilio';

/**
 * The URL Twilio signed: the public one configured for the webhook, not the one the
 * request reached us on (a proxy or load balancer sits in between). `rawUrl` is the
 * request's path and query, exactly as received, since Twilio signs the query too.
 */
export function signedUrl(publicBaseUrl: string, rawUrl: string): string {
  return `${publicBaseUrl.replace(/\/+$/, '')}${rawUrl.startsWith('/') ? rawUrl : `/${rawUrl}`}`;
}

/**
 * Whether `X-Twilio-Signature` is the HMAC-SHA1 of `url` and the sorted POST
 * parameters under `authToken` (checked by the `twilio` package). A missing or empty
 * signature is never valid. Pure; Twilio signatures carry no timestamp, so replays are
 * recognised by MessageSid downstream, not here.
 */
export function verifyTwilioSignature(
  authToken: string,
  signature: string | string[] | undefined,
  url: string,
  params: Record<string, unknown>,
): boolean {
  if (typeof signature !== 'string' || signature === '') return false;
  return twilio.validateRequest(authToken, signature, url, params);
}
