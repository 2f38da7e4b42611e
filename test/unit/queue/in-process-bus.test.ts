import { describe, expect, it } from 'vitest';
import { ErrorCode, TransientError } from '../../../src/errors.ts';
import { InProcessBus, type JobHandlers } from '../../../src/queue/bus.ts';

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
