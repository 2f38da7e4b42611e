import { describe, expect, it } from 'vitest';
import { ErrorCode, TransientError } from '../../../src/errors.ts';
import { InProcessBus, type JobHandlers } from '../../../src/queue/bus.ts';
import type { OutboundJob } from '../../../src/queue/jobs.ts';
import { waitFor } from '../../helpers/wait.ts';

const noop: JobHandlers = { inbound: async () => {}, outbound: async () => {}, timer: async () => {} };
const settle = () => new Promise((r) => setTimeout(r, 20));

describe('InProcessBus broadcasts', () => {
  it('runs a fan-out once per announcement id', async () => {
    const errors: string[] = [];
    const bus = new InProcessBus((_err, kind) => errors.push(kind));
    const ran: string[] = [];
    bus.start({ ...noop, broadcast: async (job) => void ran.push(job.id) });
    await bus.enqueueBroadcast({ id: 'b1' });
    await bus.enqueueBroadcast({ id: 'b1' });
    await settle();
    expect(ran).toEqual(['b1']);
    expect(errors).toEqual([]);
  });

  it('tells the handlers when a fan-out fails (there are no retries in process), with the error code only', async () => {
    const errors: string[] = [];
    const bus = new InProcessBus((_err, kind) => errors.push(kind));
    const failed: Array<[string, string]> = [];
    bus.start({
      ...noop,
      broadcast: async () => {
        throw new TransientError(ErrorCode.Unavailable, 'store down for guardian +4790000000');
      },
      broadcastFailed: async (job, reason) => void failed.push([job.id, reason]),
    });
    await bus.enqueueBroadcast({ id: 'b2' });
    await settle();
    expect(failed).toEqual([['b2', ErrorCode.Unavailable]]);
    expect(errors).toEqual(['broadcast']);
  });
});

describe('InProcessBus outbound Retry-After', () => {
  let replies = 0;
  const reply = (conversationId: string, text: string): OutboundJob => ({
    channel: 'sms',
    replyId: `sms:m${replies++}:r0`,
    conversationId,
    lang: 'nb',
    dir: 'ltr',
    text,
    choices: [],
  });
  const paced = (retryAfterMs: number) =>
    new TransientError(ErrorCode.RateLimited, 'SMS sender at its segment pace', { retryAfterMs });

  it('waits out a Retry-After and runs the job again, ahead of the same conversation’s later replies', async () => {
    const errors: string[] = [];
    const bus = new InProcessBus((_err, kind) => errors.push(kind));
    const sent: Array<{ text: string; at: number }> = [];
    let refusals = 2;
    const start = Date.now();
    bus.start({
      ...noop,
      outbound: async (job) => {
        if (job.text === 'first' && refusals-- > 0) throw paced(40);
        sent.push({ text: job.text, at: Date.now() - start });
      },
    });
    await bus.enqueueOutbound(reply('+4791000001', 'first'));
    await bus.enqueueOutbound(reply('+4791000001', 'second'));
    await bus.enqueueOutbound(reply('+4791000002', 'other conversation'));
    await waitFor('all three sent', () => sent.length === 3);
    expect(sent.map((s) => s.text)).toEqual(['other conversation', 'first', 'second']);
    // Two waits of 40 ms each (timers may fire a little early, never much).
    expect(sent[1]?.at).toBeGreaterThanOrEqual(75);
    expect(errors).toEqual([]);
    await bus.close();
  });

  it('does the same for bulk (broadcast) jobs', async () => {
    const bus = new InProcessBus();
    const tries = new Map<string, number>();
    bus.start({
      ...noop,
      outbound: async (job) => {
        const n = (tries.get(job.replyId) ?? 0) + 1;
        tries.set(job.replyId, n);
        if (n === 1) throw paced(5);
      },
    });
    const jobs = [reply('+4791000003', 'a'), reply('+4791000004', 'b')];
    await bus.enqueueOutboundBulk(jobs);
    await waitFor('both sent', () => [...tries.values()].every((n) => n === 2) && tries.size === 2);
    await bus.close();
  });

  it('gives up after retryAfterTries and reports the job failed once; other errors are not retried', async () => {
    const errors: unknown[] = [];
    const bus = new InProcessBus((err) => errors.push(err), { retryAfterTries: 3 });
    let calls = 0;
    bus.start({
      ...noop,
      outbound: async (job) => {
        calls++;
        if (job.text === 'paced') throw paced(1);
        throw new TransientError(ErrorCode.Unavailable, 'SMS API unavailable (503)');
      },
    });
    await bus.enqueueOutbound(reply('+4791000005', 'paced'));
    await waitFor('the paced job given up', () => errors.length === 1);
    expect(calls).toBe(4);
    expect(errors[0]).toMatchObject({ code: ErrorCode.RateLimited });
    await bus.enqueueOutbound(reply('+4791000006', 'down'));
    await waitFor('the failed job', () => errors.length === 2);
    expect(calls).toBe(5);
    expect(errors[1]).toMatchObject({ code: ErrorCode.Unavailable });
    await bus.close();
  });

  it('closes without waiting out a long Retry-After (the job is dropped, as the bus is not durable)', async () => {
    const errors: unknown[] = [];
    const bus = new InProcessBus((err) => errors.push(err));
    let calls = 0;
    bus.start({
      ...noop,
      outbound: async () => {
        calls++;
        throw paced(60_000);
      },
    });
    await bus.enqueueOutbound(reply('+4791000007', 'never'));
    await waitFor('the first try', () => calls === 1);
    const start = Date.now();
    await bus.close();
    expect(Date.now() - start).toBeLessThan(1000);
    expect(calls).toBe(1);
    expect(errors).toHaveLength(1);
  });
});

describe('InProcessBus job schemas', () => {
  it('refuses a job that fails its schema at enqueue, as the BullMQ bus does, and runs nothing', async () => {
    const bus = new InProcessBus();
    const ran: string[] = [];
    bus.start({ ...noop, inbound: async (job) => void ran.push(job.messageId) });
    const bad = { channel: 'web', messageId: 'm1', conversationId: 'c1', text: 'hei' } as never;
    await expect(bus.enqueueInbound(bad)).rejects.toMatchObject({ code: ErrorCode.JobSchema });
    await expect(bus.enqueueOutboundBulk([{ channel: 'fax' } as never])).rejects.toMatchObject({
      code: ErrorCode.JobSchema,
    });
    await settle();
    expect(ran).toEqual([]);
  });
});
