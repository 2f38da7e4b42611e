import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelAdapter, DeliveryReceipt } from '../../src/channels.ts';
import { ErrorCode, PermanentError, TransientError } from '../../src/errors.ts';
import type { InboundJob, OutboundJob } from '../../src/queue/jobs.ts';

/**
 * The contract every channel adapter keeps, run against its fake platform over real
 * HTTP on loopback: inbound round trip, signature rejection, retry dedup, send and
 * error classification, receipts. A channel supplies a harness; the suite does the rest.
 */

export interface InboundMessage {
  /** The platform's message id (the dedup key). */
  id: string;
  text: string;
}

export type SendFailure = 'rate-limited' | 'unavailable' | 'invalid-address';

/** One running world: the server with the adapter mounted, a queue, the fake platform. */
export interface ConformanceWorld {
  adapter: ChannelAdapter;
  /** The conversation inbound messages come from and replies go to (a phone, a channel id, ...). */
  conversationId: string;
  /** A platform message id never used before. */
  newMessageId(): string;
  /**
   * Has the fake platform post `msg` to the adapter's webhook `times` times (its retries),
   * signed properly, with a forged signature, or with none. Resolves to each HTTP status.
   */
  postInbound(
    msg: InboundMessage,
    opts?: { signature?: 'valid' | 'forged' | 'missing'; times?: number },
  ): Promise<number[]>;
  /** Inbound jobs on the queue so far (read from the queue, not from a handler). */
  inboundJobs(): Promise<InboundJob[]>;
  /** What the fake platform accepted from `send()`, in order. */
  delivered(): Array<{ to: string; text: string }>;
  /** The platform refuses the next send this way; `rate-limited` sends Retry-After when it can. */
  failNextSend(kind: SendFailure): void;
  /** An address the platform refuses as invalid on `failNextSend('invalid-address')`, or always. */
  invalidConversationId: string;
  /** Receipts the adapter reported (permanent failures, platform callbacks). */
  receipts(): DeliveryReceipt[];
  /** Has the platform report a sent message delivered; resolves to the HTTP status. Needed if receipts: true. */
  reportDelivered?(platformMessageId: string, opts?: { signature?: 'valid' | 'forged' }): Promise<number>;
  /**
   * The inbound job's `messageId` for a platform message id, where the adapter derives one
   * (Teams folds the conversation in). Default: the platform id itself.
   */
  messageIdOf?(platformMessageId: string): string;
  /** Posts a properly signed message with id `id` whose body the adapter must refuse (400). Optional. */
  postMalformed?(id: string): Promise<number>;
  /** Posts a properly signed message with id `id` over the server's body limit (413). Optional. */
  postOversized?(id: string): Promise<number>;
  close(): Promise<void>;
}

export interface ConformanceHarness {
  setup(): Promise<ConformanceWorld>;
  /** Whether the platform's 429 carries Retry-After, so the error must carry retryAfterMs. */
  retryAfter: boolean;
}

export function runAdapterConformance(name: string, harness: ConformanceHarness): void {
  describe(`${name}: adapter conformance`, () => {
    let world: ConformanceWorld;
    let replies = 0;
    const reply = (text: string, conversationId = world.conversationId): OutboundJob => ({
      channel: world.adapter.name,
      replyId: `${world.adapter.name}:conformance:r${replies++}`,
      conversationId,
      lang: 'en',
      dir: 'ltr',
      text,
      choices: [],
    });
    const jobsWithId = async (id: string) => {
      const messageId = world.messageIdOf?.(id) ?? id;
      return (await world.inboundJobs()).filter((j) => j.messageId === messageId);
    };

    beforeAll(async () => {
      world = await harness.setup();
    });
    afterAll(async () => world?.close());

    it('declares its capabilities', () => {
      const c = world.adapter.capabilities;
      expect(c.maxChars).toBeGreaterThan(0);
      for (const flag of [c.buttons, c.threads, c.edits, c.receipts]) expect(typeof flag).toBe('boolean');
    });

    it('puts a signed inbound message on the queue, normalised', async () => {
      const id = world.newMessageId();
      const statuses = await world.postInbound({ id, text: 'When is the next parent meeting?' });
      expect(statuses[0]).toBeGreaterThanOrEqual(200);
      expect(statuses[0]).toBeLessThan(300);
      const [job] = await jobsWithId(id);
      expect(job).toMatchObject({
        channel: world.adapter.name,
        messageId: world.messageIdOf?.(id) ?? id,
        conversationId: world.conversationId,
        text: 'When is the next parent meeting?',
      });
      expect(job?.senderId).toBeTruthy();
    });

    it('rejects a forged or missing signature with 401, and enqueues nothing', async () => {
      for (const signature of ['forged', 'missing'] as const) {
        const id = world.newMessageId();
        expect(await world.postInbound({ id, text: 'Hello' }, { signature })).toEqual([401]);
        expect(await jobsWithId(id)).toEqual([]);
      }
    });

    it('refuses a malformed body with 400 and an oversized one with 413, enqueuing neither', async (ctx) => {
      if (!world.postMalformed && !world.postOversized) return ctx.skip();
      if (world.postMalformed) {
        const id = world.newMessageId();
        expect(await world.postMalformed(id)).toBe(400);
        expect(await jobsWithId(id)).toEqual([]);
      }
      if (world.postOversized) {
        const id = world.newMessageId();
        expect(await world.postOversized(id)).toBe(413);
        expect(await jobsWithId(id)).toEqual([]);
      }
    });

    it('enqueues a message the platform delivers three times once', async () => {
      const id = world.newMessageId();
      const statuses = await world.postInbound({ id, text: 'Hello again' }, { times: 3 });
      expect(statuses).toHaveLength(3);
      for (const s of statuses) expect(s).toBeLessThan(300);
      expect(await jobsWithId(id)).toHaveLength(1);
    });

    it('sends a reply to the platform and says so in its receipt', async () => {
      const job = reply('The meeting is on 12 September.');
      const receipt = await world.adapter.send(job);
      expect(receipt).toMatchObject({ replyId: job.replyId });
      expect(['sent', 'delivered']).toContain(receipt.status);
      expect(world.delivered().at(-1)).toMatchObject({ text: 'The meeting is on 12 September.' });
    });

    it('classifies a 429 as transient, with Retry-After when the platform gives one', async () => {
      world.failNextSend('rate-limited');
      const err = await world.adapter.send(reply('slow down')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransientError);
      expect((err as TransientError).code).toBe(ErrorCode.RateLimited);
      if (harness.retryAfter) expect((err as TransientError).retryAfterMs).toBeGreaterThan(0);
    });

    it('classifies an outage as transient', async () => {
      world.failNextSend('unavailable');
      const err = await world.adapter.send(reply('down')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransientError);
      expect((err as TransientError).retryable).toBe(true);
    });

    it('classifies a refused address as permanent, with a failed receipt', async () => {
      world.failNextSend('invalid-address');
      const job = reply('nobody there', world.invalidConversationId);
      const err = await world.adapter.send(job).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PermanentError);
      expect((err as PermanentError).code).toBe(ErrorCode.AddressInvalid);
      expect(world.receipts()).toContainEqual(
        expect.objectContaining({ replyId: job.replyId, status: 'failed' }),
      );
    });

    it('turns platform delivery reports into receipts, and refuses forged ones', async (ctx) => {
      if (!world.adapter.capabilities.receipts) return ctx.skip();
      const report = world.reportDelivered;
      if (!report) throw new Error('receipts: true needs reportDelivered in the harness');
      const job = reply('Please confirm.');
      const { platformMessageId } = await world.adapter.send(job);
      expect(platformMessageId).toBeTruthy();
      const before = world.receipts().length;
      expect(await report(platformMessageId as string, { signature: 'forged' })).toBe(401);
      expect(world.receipts()).toHaveLength(before);
      expect(await report(platformMessageId as string)).toBeLessThan(300);
      expect(world.receipts()).toContainEqual(
        expect.objectContaining({ replyId: job.replyId, status: 'delivered', platformMessageId }),
      );
    });
  });
}
