import { verifySlackRequest } from '@slack/bolt';

/** Slack's replay window: a request signed longer ago (or further ahead) than this is refused. */
export const REPLAY_WINDOW_SECONDS = 5 * 60;

export type VerifyFailure =
  | 'signature_missing'
  | 'timestamp_invalid'
  | 'timestamp_stale'
  | 'signature_invalid';
export type VerifyResult = { ok: true } | { ok: false; reason: VerifyFailure };

/**
 * Whether a request is from Slack: `X-Slack-Signature` is `v0=` + the hex HMAC-SHA256 of
 * `v0:<timestamp>:<raw body>` under the signing secret (checked by Bolt's own
 * `verifySlackRequest`), and `X-Slack-Request-Timestamp` is within five minutes of `nowMs`
 * either way (Bolt checks only the past; a clock far ahead is refused here too). Pure.
 */
export function verifyRequest(
  signingSecret: string,
  headers: { signature: unknown; timestamp: unknown },
  rawBody: string,
  nowMs: number,
): VerifyResult {
  const { signature, timestamp } = headers;
  if (typeof signature !== 'string' || signature === '' || timestamp === undefined) {
    return { ok: false, reason: 'signature_missing' };
  }
  if (typeof timestamp !== 'string' || !/^\d{1,12}$/.test(timestamp)) {
    return { ok: false, reason: 'timestamp_invalid' };
  }
  const seconds = Number(timestamp);
  if (Math.abs(Math.floor(nowMs / 1000) - seconds) > REPLAY_WINDOW_SECONDS) {
    return { ok: false, reason: 'timestamp_stale' };
  }
  try {
    verifySlackRequest({
      signingSecret,
      body: rawBody,
      headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': seconds },
      nowMilliseconds: nowMs,
    });
    return { ok: true };
  } catch {
    return { ok: false, reason: 'signature_invalid' };
  }
}
