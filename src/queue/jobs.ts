import { z } from 'zod';
import { ErrorCode, PermanentError } from '../errors.ts';

/** Longest message accepted from any channel; longer bodies are refused at the door, not truncated silently. */
export const MAX_TEXT = 10_000;

/** One inbound message, normalised by a channel adapter. `messageId` is the platform's id: the dedup key. */
export const inboundJob = z.object({
  channel: z.enum(['web', 'sms', 'slack', 'teams']),
  messageId: z.string().min(1).max(200),
  /** Channel-scoped conversation id; turns of one conversation are handled in order. */
  conversationId: z.string().min(1).max(200),
  /** Platform id of the sender (web login, phone, Slack/Teams user id). */
  senderId: z.string().min(1).max(200),
  text: z.string().max(MAX_TEXT),
  choice: z.string().max(200).optional(),
  /** A staff member answering in a staff thread (its id): relayed to that parent, not run through the dialogs. */
  thread: z.string().min(1).max(420).optional(),
  at: z.iso.datetime({ offset: true }),
});
export type InboundJob = z.infer<typeof inboundJob>;

export const outboundJob = z.object({
  channel: z.enum(['web', 'sms', 'slack', 'teams']),
  /** Derived from the inbound message id and the reply's index, so a redo cannot send twice. */
  replyId: z.string().min(1),
  conversationId: z.string().min(1),
  lang: z.string(),
  dir: z.enum(['ltr', 'rtl']),
  text: z.string(),
  choices: z.array(z.object({ value: z.string(), label: z.string() })).default([]),
  /** A person's words passed on (a staff reply): who wrote, and the text as written, shown on request. */
  relay: z
    .object({
      from: z.string(),
      original: z.object({ text: z.string(), lang: z.string() }),
      translated: z.boolean(),
      /** "Show the Norwegian original" in the reader's language, for channels with a toggle. */
      showOriginal: z.string().optional(),
    })
    .optional(),
  /**
   * A staff notice (Slack, Teams): one entry of a parent's thread, in Norwegian with the
   * original beside it. The adapter posts it in that thread's platform thread, so a
   * staff reply there can be relayed back to that parent.
   */
  staff: z
    .object({
      threadId: z.string(),
      kind: z.string(),
      /** Rendered Norwegian heading: what, from whom, about which child. */
      heading: z.string(),
      norwegian: z.object({ text: z.string(), translated: z.boolean() }).optional(),
      original: z.object({ text: z.string(), lang: z.string(), dir: z.enum(['ltr', 'rtl']) }).optional(),
      /** Norwegian footer lines: translation status, how to answer. */
      notes: z.array(z.string()).default([]),
    })
    .optional(),
  /**
   * Part of a broadcast (src/broadcast/): which announcement, which guardian, and which
   * try (the index into that guardian's channel order). Delivery is tracked by it and a
   * cancelled announcement is not sent.
   */
  broadcast: z
    .object({
      id: z.string().min(1).max(100),
      guardianId: z.string().min(1).max(200),
      attempt: z.number().int().min(0).max(16),
    })
    .optional(),
});
export type OutboundJob = z.infer<typeof outboundJob>;

/** Work due later: an escalation that nobody has taken up by its deadline goes to the office. */
export const timerJob = z.object({
  kind: z.literal('escalation'),
  id: z.string().min(1).max(300),
  threadId: z.string().min(1).max(420),
});
export type TimerJob = z.infer<typeof timerJob>;

/**
 * Broadcast work due later (src/broadcast/): `broadcast-send` starts a scheduled
 * announcement's fan-out; `broadcast-receipt` checks that a guardian's try got a delivery
 * receipt in time (else the next channel is tried); `broadcast-report` settles the
 * announcement and tells each kontaktlærer which families were not reached. `id` makes
 * the timer unique (a second schedule of the same id is ignored).
 */
export const broadcastTimerJob = z.object({
  kind: z.enum(['broadcast-send', 'broadcast-receipt', 'broadcast-report']),
  id: z.string().min(1).max(300),
  broadcastId: z.string().min(1).max(100),
  guardianId: z.string().min(1).max(200).optional(),
  attempt: z.number().int().min(0).max(16).optional(),
});
export type BroadcastTimerJob = z.infer<typeof broadcastTimerJob>;

/** Every kind of timer the `timers` queue carries; the handler dispatches on `kind`. */
export const anyTimerJob = z.discriminatedUnion('kind', [timerJob, broadcastTimerJob]);
export type AnyTimerJob = z.infer<typeof anyTimerJob>;

/** Fans one announcement out to its audience (resumable: the cursor lives in Redis). */
export const broadcastJob = z.object({ id: z.string().min(1).max(100) });
export type BroadcastJob = z.infer<typeof broadcastJob>;

/** `job` as its schema parses it, or a PermanentError saying what is wrong (the producer's bug: never retried). */
export function validJob<T>(schema: z.ZodType<T>, job: unknown, kind: string): T {
  const parsed = schema.safeParse(job);
  if (parsed.success) return parsed.data;
  throw new PermanentError(ErrorCode.JobSchema, `${kind} job refused: ${z.prettifyError(parsed.error)}`);
}
