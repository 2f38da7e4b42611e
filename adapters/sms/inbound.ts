import { z } from 'zod';
import type { DeliveryReceipt } from '../../src/channels.ts';
import { MAX_TEXT } from '../../src/queue/jobs.ts';

export const E164 = /^\+[1-9]\d{6,14}$/;

const messageSid = z
  .string()
  .regex(/^[A-Z]{2}[0-9a-fA-F]{32}$/, 'a message sid like SM followed by 32 hex digits');

/**
 * The fields of Twilio's inbound message webhook that we use. Twilio sends many more
 * (FromCity, NumMedia, ApiVersion, ...) and adds new ones, so unknown fields pass.
 */
export const inboundPayload = z.looseObject({
  MessageSid: messageSid,
  AccountSid: z.string().min(1),
  From: z.string().regex(E164, 'From must be an E.164 phone number'),
  To: z.string().min(1),
  Body: z.string().max(MAX_TEXT),
  /** Set when Twilio's own Advanced Opt-Out handled a keyword (it has answered already). */
  OptOutType: z.enum(['STOP', 'START', 'HELP']).optional(),
});
export type InboundPayload = z.infer<typeof inboundPayload>;

/** Twilio message statuses a status callback may report. */
export const TWILIO_STATUSES = [
  'accepted',
  'scheduled',
  'queued',
  'sending',
  'sent',
  'delivered',
  'read',
  'undelivered',
  'failed',
  'canceled',
  'partially_delivered',
] as const;
export type TwilioStatus = (typeof TWILIO_STATUSES)[number];

export const statusPayload = z.looseObject({
  MessageSid: messageSid,
  AccountSid: z.string().min(1),
  MessageStatus: z.enum(TWILIO_STATUSES),
  ErrorCode: z
    .string()
    .regex(/^\d*$/)
    .optional()
    .transform((v) => v || undefined),
});

/** Our own query on the StatusCallback URL: which reply, and which part of it. */
export const statusQuery = z.object({
  replyId: z.string().min(1).max(300),
  part: z.coerce.number().int().min(0).max(99).default(0),
});

/** A delivery receipt with the platform's own words kept beside the common status. */
export interface SmsReceipt extends DeliveryReceipt {
  /** Twilio's status; `status` folds queued/sending into sent and undelivered/canceled into failed. */
  platformStatus?: TwilioStatus;
  /** Twilio error code (21211, 30003, ...) when the platform gave one. */
  platformErrorCode?: string;
  /** Which part of a split reply (from 0). */
  part?: number;
}

const DELIVERED: ReadonlySet<TwilioStatus> = new Set(['delivered', 'read']);
const FAILED: ReadonlySet<TwilioStatus> = new Set(['failed', 'undelivered', 'canceled']);

/** A status callback as a receipt. Pure. */
export function receiptFromStatus(
  payload: z.infer<typeof statusPayload>,
  query: z.infer<typeof statusQuery>,
): SmsReceipt {
  const platformStatus = payload.MessageStatus;
  const status = DELIVERED.has(platformStatus) ? 'delivered' : FAILED.has(platformStatus) ? 'failed' : 'sent';
  return {
    replyId: query.replyId,
    status,
    platformMessageId: payload.MessageSid,
    platformStatus,
    part: query.part,
    ...(payload.ErrorCode ? { platformErrorCode: payload.ErrorCode } : {}),
    ...(status === 'failed'
      ? { error: payload.ErrorCode ? `${platformStatus}:${payload.ErrorCode}` : platformStatus }
      : {}),
  };
}

/** TwiML that says nothing, or sends one message back to the sender. */
export function twiml(message?: string): string {
  const head = '<?xml version="1.0" encoding="UTF-8"?>';
  return message === undefined
    ? `${head}<Response/>`
    : `${head}<Response><Message>${escapeXml(message)}</Message></Response>`;
}

function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[ch] as string,
  );
}
