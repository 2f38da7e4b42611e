import { z } from 'zod';
import { E164 } from './inbound.ts';
import { DEFAULT_PRICE_PER_SEGMENT_NOK } from './segments.ts';

/** Twilio's default throughput for a sender outside US/Canada. */
export const DEFAULT_SEGMENTS_PER_SECOND = 10;

/** An env var left empty (`SMS_FROM=`) counts as unset. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

/**
 * The SMS settings, as fields to spread into `configSchema` in src/config.ts. The
 * adapter is on only when both SMS_ACCOUNT_SID and SMS_AUTH_TOKEN are set; then
 * SMS_FROM and PUBLIC_BASE_URL are required too (see `checkSmsConfig`).
 */
export const smsConfigShape = {
  /** Account SID (AC…): the user of the Messages API's basic auth. Unset = SMS off. */
  SMS_ACCOUNT_SID: optional(z.string().min(1)),
  /** Auth token: the basic-auth password, and the key webhook signatures are made with. Unset = SMS off. */
  SMS_AUTH_TOKEN: optional(z.string().min(1)),
  /** Sender: an E.164 number (+4759…) or a messaging service SID (MG…). */
  SMS_FROM: optional(
    z
      .string()
      .refine(
        (v) => E164.test(v) || /^MG[0-9a-fA-F]{32}$/.test(v),
        'an E.164 number or a messaging service SID (MG + 32 hex digits)',
      ),
  ),
  /** Messages API host; another URL for a Twilio-compatible gateway. Default https://api.twilio.com. */
  SMS_API_BASE_URL: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.url().default('https://api.twilio.com'),
  ),
  /** Public https URL the platform reaches this server at; webhook signatures are checked against it. */
  PUBLIC_BASE_URL: optional(z.url()),
  /** Longest text sent as one SMS; longer replies are split. Twilio's limit, 1600, is the default and the maximum. */
  SMS_MAX_CHARS: z.coerce.number().int().min(70).max(1600).default(1600),
  /** Price of one SMS segment in NOK, for cost estimates. Default 0.60 (an estimate; use the contract's). */
  SMS_PRICE_PER_SEGMENT_NOK: z.coerce.number().nonnegative().default(DEFAULT_PRICE_PER_SEGMENT_NOK),
  /**
   * The sender's pace in segments per second (Twilio: 10 per sender outside US/Canada),
   * enforced on every SMS send across all workers (pace.ts) and used for broadcast time
   * estimates. Default 10.
   */
  SMS_SEGMENTS_PER_SECOND: z.coerce.number().positive().default(DEFAULT_SEGMENTS_PER_SECOND),
};

const shapeSchema = z.object(smsConfigShape);
export type SmsConfig = z.infer<typeof shapeSchema>;

/** The cross-field rule, for `configSchema.superRefine(checkSmsConfig)`. */
export function checkSmsConfig(c: Partial<SmsConfig>, ctx: z.RefinementCtx): void {
  const sid = Boolean(c.SMS_ACCOUNT_SID);
  const token = Boolean(c.SMS_AUTH_TOKEN);
  if (sid !== token) {
    ctx.addIssue({
      code: 'custom',
      path: [sid ? 'SMS_AUTH_TOKEN' : 'SMS_ACCOUNT_SID'],
      message: 'set both SMS_ACCOUNT_SID and SMS_AUTH_TOKEN, or neither',
    });
  }
  if (!sid || !token) return;
  for (const key of ['SMS_FROM', 'PUBLIC_BASE_URL'] as const) {
    if (!c[key]) ctx.addIssue({ code: 'custom', path: [key], message: `required when SMS is on` });
  }
}

/** The fragment on its own, with its rule: for tests and until it is merged into src/config.ts. */
export const smsConfigSchema = shapeSchema.superRefine(checkSmsConfig);

/** What the adapter needs from the settings. */
export interface SmsSettings {
  accountSid: string;
  authToken: string;
  /** E.164 sender number, or a messaging service SID (MG…). */
  from: string;
  apiBaseUrl: string;
  publicBaseUrl: string;
  pricePerSegmentNok: number;
  /** Longest text sent as one message; Twilio concatenates up to 1600. Default 1600. */
  maxChars?: number;
  /** Timeout of one Messages API call, in ms. Default 10000. */
  timeoutMs?: number;
}

/** The adapter's settings, or undefined when SMS is off (account SID or token unset). */
export function smsSettings(c: SmsConfig): SmsSettings | undefined {
  if (!c.SMS_ACCOUNT_SID || !c.SMS_AUTH_TOKEN) return undefined;
  if (!c.SMS_FROM || !c.PUBLIC_BASE_URL) {
    throw new Error('configuration error: SMS_FROM and PUBLIC_BASE_URL are required when SMS is on');
  }
  return {
    accountSid: c.SMS_ACCOUNT_SID,
    authToken: c.SMS_AUTH_TOKEN,
    from: c.SMS_FROM,
    apiBaseUrl: c.SMS_API_BASE_URL,
    publicBaseUrl: c.PUBLIC_BASE_URL,
    pricePerSegmentNok: c.SMS_PRICE_PER_SEGMENT_NOK,
    maxChars: c.SMS_MAX_CHARS,
  };
}
