import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, PermanentError, TransientError } from '../../src/errors.ts';
import {
  BullJobBus,
  type BullJobBusOptions,
  deadLetters,
  inboundJobId,
  inboundQueueName,
  outboundJobId,
  outboundQueueName,
  partitionOf,
  queueStats,
  safeJobId,
} from '../../src/queue/bullmq.ts';
import type { JobHandlers } from '../../src/queue/bus.ts';
import type { InboundJob, OutboundJob } from '../../src/queue/jobs.ts';
import { mailboxKey } from '../../src/queue/mailbox.ts';
import { startRedis, type TestRedis, uniquePrefix } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait.ts';

let server: TestRedis;
let redis: Redis;
const open: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
}, 30_000);

afterAll(async () => {
  for (const thing of open.reverse()) await thing.close().catch(() => {});
  await redis?.quit();
  await server?.stop();
}, 30_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A promise a handler waits on, and the function that lets it through. */
function gated() {
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { gate, release };
}

/** A bus on its own hash-tagged prefix; errors it reports are collected, not thrown. */
function newBus(label: string, options: BullJobBusOptions = {}) {
  const prefix = options.prefix ?? `{${uniquePrefix(label)}}`;
  const errors: Array<{ err: unknown; kind: string }> = [];
  const bus = new BullJobBus(redis, { ...options, prefix }, (err, kind) => errors.push({ err, kind }));
  open.push(bus);
  return { bus, prefix, errors };
}

/** A queue handle for looking at jobs from outside the bus. */
function peek(name: string, prefix: string) {
  const queue = new Queue(name, { connection: redis, prefix });
  open.push(queue);
  return queue;
}

const turn = (
  conversationId: string,
  messageId: string,
  channel: InboundJob['channel'] = 'web',
): InboundJob => ({
  channel,
  messageId,
  conversationId,
  senderId: `user-${conversationId}`,
  text: 'Når er foreldremøtet?',
  at: '2025-09-01T08:00:00.000Z',
});

const reply = (replyId: string, channel: OutboundJob['channel'] = 'sms'): OutboundJob => ({
  channel,
  replyId,
  conversationId: 'c1',
  lang: 'nb',
  dir: 'ltr',
  text: 'Foreldremøtet er 12. september.',
  choices: [],
});

const noop: JobHandlers = { inbound: async () => {}, outbound: async () => {}, timer: async () => {} };

describe('job ids and partitions', () => {
  it('derives BullMQ-safe ids one to one', () => {
    expect(inboundJobId({ channel: 'slack', messageId: '1712.0001' })).toBe('slack-1712.0001');
    expect(outboundJobId({ replyId: 'web:m1:r0' })).toBe('web%3Am1%3Ar0');
    expect(safeJobId('a:b')).not.toBe(safeJobId('a%3Ab'));
    expect(safeJobId('123')).toBe('%N123');
    expect(safeJobId('%N123')).not.toBe(safeJobId('123'));
    expect(safeJobId('x').includes(':')).toBe(false);
  });

  it('maps a conversation to one stable partition and spreads conversations', () => {
    expect(partitionOf('sms', '+4790000000', 8)).toBe(partitionOf('sms', '+4790000000', 8));
    const used = new Set(Array.from({ length: 200 }, (_, i) => partitionOf('web', `c${i}`, 8)));
    expect(used.size).toBe(8);
  });

  it('hashes the UTF-8 bytes of channel:conversation (FNV-1a), ASCII or not', () => {
    const fnv = (key: string) => {
      let hash = 0x811c9dc5;
      for (const byte of new TextEncoder().encode(key)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
      return hash;
    };
    for (const id of ['+4790000000', 'U024BE7LH', 'inbox:per', 'økt-ملا-1', 'a\u{1F600}b'])
      for (const n of [4, 16, 1024]) expect(partitionOf('sms', id, n)).toBe(fnv(`sms:${id}`) % n);
  });
});

describe('BullJobBus', { timeout: 30_000 }, () => {
  it('(a) runs a webhook delivered three times once, and says the repeats are duplicates', async () => {
    const { bus, prefix, errors } = newBus('dup');
    const handled: string[] = [];
    bus.start({ ...noop, inbound: async (job) => void handled.push(job.messageId) });
    await bus.waitUntilReady();

    const results = [];
    for (let i = 0; i < 3; i++) results.push(await bus.enqueueInbound(turn('c1', 'm1')));
    expect(results.map((r) => r.duplicate)).toEqual([false, true, true]);

    // Racing deliveries: BullMQ adds the job once and exactly one caller hears "new".
    const racing = await Promise.all([1, 2, 3].map(() => bus.enqueueInbound(turn('c1', 'm2'))));
    expect(racing.filter((r) => !r.duplicate)).toHaveLength(1);

    // Same conversation, so same partition: once m3 is handled, any repeat of m1/m2 would have run.
    await bus.enqueueInbound(turn('c1', 'm3'));
    await waitFor('m3', () => handled.includes('m3'));
    expect(handled).toEqual(['m1', 'm2', 'm3']);

    // Completed jobs are trimmed after a while (removeOnComplete, which keeps the
    // deduplication key); the repeat is still known within the dedup window.
    const queueKey = `${prefix}:${inboundQueueName(partitionOf('web', 'c1', 8))}`;
    const m1 = inboundJobId(turn('c1', 'm1'));
    await redis.multi().del(`${queueKey}:${m1}`).zrem(`${queueKey}:completed`, m1).exec();
    expect(await peek(inboundQueueName(partitionOf('web', 'c1', 8)), prefix).getJob(m1)).toBeUndefined();
    expect(await bus.enqueueInbound(turn('c1', 'm1'))).toEqual({ duplicate: true });
    await bus.enqueueInbound(turn('c1', 'm4'));
    await waitFor('m4', () => handled.includes('m4'));
    expect(handled).toEqual(['m1', 'm2', 'm3', 'm4']);
    expect(errors).toEqual([]);
  });

  it('refuses a job that fails its schema at the door', async () => {
    const { bus } = newBus('door');
    const bad = { ...turn('c1', 'm1'), channel: 'fax' } as unknown as InboundJob;
    await expect(bus.enqueueInbound(bad)).rejects.toBeInstanceOf(PermanentError);
    await expect(bus.enqueueOutbound({ ...reply('r1'), text: 42 } as unknown as OutboundJob)).rejects.toThrow(
      /outbound/,
    );
  });

  /** Enqueues 200 turns over some conversations (half before the workers start) and checks the order. */
  async function orderedRun(buses: BullJobBus[], enqueuer: BullJobBus, conversations = 20) {
    const handled = new Map<string, string[]>();
    const busy = new Set<string>();
    let overlaps = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    const handlers: JobHandlers = {
      ...noop,
      inbound: async (job) => {
        if (busy.has(job.conversationId)) overlaps++;
        busy.add(job.conversationId);
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        await sleep(Math.random() * 5);
        handled.set(job.conversationId, [...(handled.get(job.conversationId) ?? []), job.messageId]);
        inFlight--;
        busy.delete(job.conversationId);
      },
    };
    const expected = new Map<string, string[]>();
    const send = async (i: number) => {
      const conversation = `conv-${i % conversations}`;
      expected.set(conversation, [...(expected.get(conversation) ?? []), `msg-${i}`]);
      expect(await enqueuer.enqueueInbound(turn(conversation, `msg-${i}`))).toEqual({ duplicate: false });
    };
    for (let i = 0; i < 100; i++) await send(i);
    for (const bus of buses) bus.start(handlers);
    for (let i = 100; i < 200; i++) await send(i);
    const total = () => [...handled.values()].reduce((n, list) => n + list.length, 0);
    await waitFor('200 turns', () => total() >= 200);
    await sleep(200); // a duplicate run would show up as a 201st
    expect(total()).toBe(200);
    expect(new Map([...handled].sort())).toEqual(new Map([...expected].sort()));
    expect(overlaps).toBe(0);
    expect(maxInFlight).toBeGreaterThan(1); // conversations did run side by side
  }

  it('(b) handles 200 turns over 20 conversations in each conversation’s order, each once', async () => {
    const { bus, errors } = newBus('order');
    await orderedRun([bus], bus);
    expect(errors).toEqual([]);
  });

  it('(b) keeps that order with two worker processes on the same queues', async () => {
    const first = newBus('order2');
    const second = newBus('order2', { prefix: first.prefix });
    // Few conversations, so one conversation's turns sit next to each other in a partition,
    // where a second worker would take the next turn while the first still runs.
    await orderedRun([first.bus, second.bus], first.bus, 4);
    expect([...first.errors, ...second.errors]).toEqual([]);
  });

  it('(c) dead-letters a job with an invalid payload and keeps going', async () => {
    const { bus, prefix, errors } = newBus('poison', { partitions: 4, outboundPartitions: 1 });
    const partition = inboundQueueName(partitionOf('web', 'c-poison', 4));
    // A raw add straight into the conversation's partition, bypassing the schema check.
    await peek(partition, prefix).add('turn', { channel: 'web', bogus: true }, { jobId: 'poison-1' });
    const handled: string[] = [];
    bus.start({ ...noop, inbound: async (job) => void handled.push(job.messageId) });
    await bus.enqueueInbound(turn('c-poison', 'good-1'));
    await waitFor('the good job', () => handled.includes('good-1'));

    const letters = await deadLetters(redis, { prefix });
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ queue: partition, jobId: 'poison-1', name: 'turn' });
    expect(letters[0]?.reason).toMatch(/^job_schema: /);
    expect(letters[0]?.reason).toMatch(/messageId/);
    expect(Number.isNaN(Date.parse(letters[0]?.at ?? ''))).toBe(false);

    const poison = await peek(partition, prefix).getJob('poison-1');
    expect(await poison?.getState()).toBe('failed');
    expect(poison?.attemptsMade).toBe(1);
    expect(handled).toEqual(['good-1']);
    expect(errors.map((e) => e.kind)).toEqual(['inbound']);

    const stats = await queueStats(redis, { prefix, partitions: 4, outboundPartitions: 1 });
    expect(stats.deadLetter).toBe(1);
    expect(stats.queues.map((q) => q.queue)).toEqual([
      'inbound-0',
      'inbound-1',
      'inbound-2',
      'inbound-3',
      'outbound-web-0',
      'outbound-sms-0',
      'outbound-slack-0',
      'outbound-teams-0',
      'timers',
    ]);
    expect(stats.queues.find((q) => q.queue === partition)).toMatchObject({
      waiting: 0,
      active: 0,
      failed: 1,
    });
    expect(await bus.stats()).toEqual(stats);
  });

  it('(c) dead-letters a mailbox entry with an invalid payload and keeps going', async () => {
    const { bus, prefix, errors } = newBus('poison-box', { partitions: 1 });
    const box = mailboxKey(prefix, inboundQueueName(0));
    // Raw pushes straight into the mailbox, bypassing the schema check: not JSON, and a bad turn.
    await redis.rpush(
      box,
      'not json',
      JSON.stringify({ id: 'web-bad-1', at: Date.now(), job: { channel: 'web' } }),
    );
    const handled: string[] = [];
    bus.start({ ...noop, inbound: async (job) => void handled.push(job.messageId) });
    await bus.enqueueInbound(turn('c1', 'good-1')); // rings the drain, which takes all three
    await waitFor('the good turn', () => handled.includes('good-1'));

    const letters = (await deadLetters(redis, { prefix })).reverse();
    expect(letters.map((l) => [l.queue, l.jobId, l.name])).toEqual([
      ['inbound-0', '', 'turn'],
      ['inbound-0', 'web-bad-1', 'turn'],
    ]);
    expect(letters[0]?.reason).toMatch(/^job_schema: not a mailbox entry: not json/);
    expect(letters[1]?.reason).toMatch(/^job_schema: .*messageId/s);
    expect(handled).toEqual(['good-1']);
    expect(await redis.llen(box)).toBe(0);
    expect(errors).toEqual([]);
  });

  it('drains what piled up in one go, and sweeps a mailbox whose drain was never added', async () => {
    const { bus, prefix } = newBus('batch', { partitions: 1, stalledIntervalMs: 200, batchSize: 50 });
    const { gate, release } = gated();
    const handled: string[] = [];
    bus.start({
      ...noop,
      inbound: async (job) => {
        if (job.messageId === 'first') await gate;
        handled.push(job.messageId);
      },
    });
    await bus.waitUntilReady();
    await bus.enqueueInbound(turn('c0', 'first'));
    await waitFor(
      'the first turn to start',
      async () => (await redis.llen(mailboxKey(prefix, 'inbound-0'))) === 1,
    );
    // While the first drain is busy, 120 turns of 40 conversations pile up behind it.
    for (let i = 0; i < 120; i++) await bus.enqueueInbound(turn(`c${(i % 40) + 1}`, `m${i}`));
    release();
    await waitFor('every turn', () => handled.length === 121);
    const queue = peek('inbound-0', prefix);
    const drains = await queue.getJobs(['completed']);
    // The running drain goes on to take what piled up behind it (50 at a time), and the
    // posts behind it rang no other drain.
    expect(drains.map((d) => d.returnvalue?.drained)).toEqual([121]);
    expect(handled.filter((m) => m !== 'first')).toHaveLength(120);

    // A web process that died between its post and the drain's add: the entry and the bell, no job.
    const box = mailboxKey(prefix, 'inbound-0');
    const stranded = turn('c1', 'stranded');
    await redis.rpush(box, JSON.stringify({ id: 'web-stranded', at: Date.now(), job: stranded }));
    await redis.set(`${box}:bell`, '999');
    await waitFor('the sweep to ring a drain', () => handled.includes('stranded'), 5000);
  });

  it('hands a drain over to the next at shutdown: closing waits for a batch, not for the stream to stop', async () => {
    const { bus: producer, prefix } = newBus('handover', { partitions: 1 });
    const options = { prefix, partitions: 1, batchSize: 5 };
    const { bus: first } = newBus('handover', options);
    const handled: string[] = [];
    const handlers = {
      ...noop,
      inbound: async (job: InboundJob) => {
        await sleep(2);
        handled.push(job.messageId);
      },
    };
    first.start(handlers);
    await first.waitUntilReady();
    const posted: string[] = [];
    let streaming = true;
    const stream = (async () => {
      for (let i = 0; streaming; i++) {
        await producer.enqueueInbound(turn(`c${i % 3}`, `m${i}`));
        posted.push(`m${i}`);
      }
    })();
    await waitFor('some turns', () => handled.length >= 20);
    const closing = Date.now();
    await first.close();
    expect(Date.now() - closing).toBeLessThan(1000);
    streaming = false;
    await stream;
    // The next worker takes up where the first left off, each message once.
    const { bus: second } = newBus('handover', options);
    second.start(handlers);
    await waitFor('every posted turn', () => handled.length >= posted.length);
    await sleep(50);
    expect([...handled].sort()).toEqual([...posted].sort());
  });

  it('(d) retries a transient failure in place and does not retry a permanent one', async () => {
    const { bus, prefix, errors } = newBus('retry', { inboundBackoffMs: 5, attempts: 4, partitions: 2 });
    const calls = new Map<string, number>();
    const handled: string[] = [];
    bus.start({
      ...noop,
      inbound: async (job) => {
        const n = (calls.get(job.messageId) ?? 0) + 1;
        calls.set(job.messageId, n);
        if (job.messageId.startsWith('flaky') && n <= 2)
          throw new TransientError(ErrorCode.Unavailable, 'store down');
        if (job.messageId === 'always-down') throw new TransientError(ErrorCode.Unavailable, 'store down');
        if (job.messageId === 'broken') throw new PermanentError(ErrorCode.AddressInvalid, 'no such person');
        handled.push(job.messageId);
      },
    });
    await bus.enqueueInbound(turn('a', 'flaky-1'));
    await bus.enqueueInbound(turn('a', 'flaky-2'));
    await bus.enqueueInbound(turn('b', 'broken'));
    await bus.enqueueInbound(turn('b', 'after-broken'));
    await bus.enqueueInbound(turn('c', 'always-down'));
    await bus.enqueueInbound(turn('c', 'after-down'));
    await waitFor('all conversations', () =>
      ['flaky-2', 'after-broken', 'after-down'].every((m) => handled.includes(m)),
    );

    // The retry held the conversation: flaky-2 did not overtake flaky-1.
    expect(handled.filter((m) => m.startsWith('flaky'))).toEqual(['flaky-1', 'flaky-2']);
    expect(calls.get('flaky-1')).toBe(3);
    expect(calls.get('broken')).toBe(1);
    expect(calls.get('always-down')).toBe(4);

    // What failed for good is in the dead-letter list with its reason; the drain went on.
    const letters = await deadLetters(redis, { prefix });
    expect(letters.map((l) => [l.jobId, l.name, l.reason]).sort()).toEqual([
      [inboundJobId({ channel: 'web', messageId: 'always-down' }), 'turn', 'unavailable: store down'],
      [inboundJobId({ channel: 'web', messageId: 'broken' }), 'turn', 'address_invalid: no such person'],
    ]);
    expect(letters.map((l) => l.queue).sort()).toEqual(
      [inboundQueueName(partitionOf('web', 'b', 2)), inboundQueueName(partitionOf('web', 'c', 2))].sort(),
    );
    // Final failures are reported once each; every in-place retry is reported as such.
    expect(errors.filter((e) => !e.kind.endsWith(':retry')).map((e) => e.kind)).toEqual([
      'inbound',
      'inbound',
    ]);
    expect(errors.filter((e) => e.kind === 'inbound:retry')).toHaveLength(2 + 2 + 3);
  });

  it('sends an outbound reply once per reply id, retrying transient failures with backoff', async () => {
    const { bus, prefix, errors } = newBus('outbound', { outboundBackoffMs: 10, attempts: 3 });
    const calls = new Map<string, number>();
    const sent: string[] = [];
    bus.start({
      ...noop,
      outbound: async (job) => {
        const n = (calls.get(job.replyId) ?? 0) + 1;
        calls.set(job.replyId, n);
        if (job.replyId === 'sms:flaky:r0' && n === 1) throw new TransientError(ErrorCode.RateLimited, '429');
        if (job.replyId === 'sms:stop:r0') throw new PermanentError(ErrorCode.OptedOut, 'STOP received');
        sent.push(job.replyId);
      },
    });
    await bus.enqueueOutbound(reply('sms:m1:r0'));
    await bus.enqueueOutbound(reply('sms:m1:r0'));
    await bus.enqueueOutbound(reply('sms:flaky:r0'));
    await bus.enqueueOutbound(reply('sms:stop:r0'));
    await bus.enqueueOutbound(reply('sms:m2:r0'));
    await waitFor('sends', () => sent.includes('sms:m2:r0') && sent.includes('sms:flaky:r0'));
    expect(sent.filter((id) => id === 'sms:m1:r0')).toHaveLength(1);

    expect(calls.get('sms:flaky:r0')).toBe(2);
    // Retried in place: the reply queued after it did not overtake it.
    expect(sent.indexOf('sms:flaky:r0')).toBeLessThan(sent.indexOf('sms:m2:r0'));
    // Refused for good: tried once, reported, and dead-lettered with the reason.
    expect(calls.get('sms:stop:r0')).toBe(1);
    expect(errors.map((e) => e.kind)).toEqual(['outbound:retry', 'outbound']);
    const letters = await deadLetters(redis, { prefix });
    expect(letters.map((l) => [l.jobId, l.name, l.reason])).toEqual([
      [outboundJobId({ replyId: 'sms:stop:r0' }), 'send', 'opted_out: STOP received'],
    ]);
  });

  it('adds a bulk once per reply id while its jobs exist, and holds a delayed bulk back', async () => {
    const { bus, prefix } = newBus('bulk', { outboundPartitions: 2 });
    const batch = Array.from({ length: 6 }, (_, i) => ({
      ...reply(`bc:a1:g${i}:sms`),
      conversationId: `+47${i}`,
    }));
    await bus.enqueueOutboundBulk(batch);
    await bus.enqueueOutboundBulk(batch); // a redone batch
    await bus.enqueueOutboundBulk([reply('bc:a1:late:sms')], { delayMs: 60_000 });
    const queues = [0, 1].map((k) => peek(outboundQueueName('sms', k), prefix));
    const counts = await Promise.all(queues.map((q) => q.getJobCounts('wait', 'prioritized', 'delayed')));
    expect(counts.reduce((n, c) => n + (c.wait ?? 0) + (c.prioritized ?? 0), 0)).toBe(6);
    expect(counts.reduce((n, c) => n + (c.delayed ?? 0), 0)).toBe(1);

    const sent: string[] = [];
    bus.start({ ...noop, outbound: async (job) => void sent.push(job.replyId) });
    await waitFor('the batch', () => sent.length === 6);
    await sleep(200);
    expect([...sent].sort()).toEqual(batch.map((j) => j.replyId).sort());
  });

  it('sends a reply before the bulk (broadcast) jobs queued ahead of it in its partition', async () => {
    const { bus } = newBus('bulk-behind', { outboundPartitions: 1 });
    const batch = Array.from({ length: 20 }, (_, i) => ({
      ...reply(`bc:a2:g${i}:sms`),
      conversationId: `+47${i}`,
    }));
    await bus.enqueueOutboundBulk(batch);
    await bus.enqueueOutbound({ ...reply('sms:answer:r0'), conversationId: '+4799' });
    const sent: string[] = [];
    bus.start({ ...noop, outbound: async (job) => void sent.push(job.replyId) });
    await waitFor('all sent', () => sent.length === 21);
    expect(sent[0]).toBe('sms:answer:r0');
    // Among themselves, bulk jobs keep the order they were added in.
    expect(sent.slice(1)).toEqual(batch.map((j) => j.replyId));
  });

  it('waits out a Retry-After without using up attempts, and keeps the order', async () => {
    const { bus } = newBus('retry-after', { attempts: 2, outboundPartitions: 1 });
    const sent: Array<{ id: string; at: number }> = [];
    let throttled = 0;
    bus.start({
      ...noop,
      outbound: async (job) => {
        if (job.replyId === 'sms:a:r0' && throttled < 3) {
          throttled++;
          throw new TransientError(ErrorCode.RateLimited, '429', { retryAfterMs: 150 });
        }
        sent.push({ id: job.replyId, at: Date.now() });
      },
    });
    await bus.waitUntilReady();
    const started = Date.now();
    await bus.enqueueOutbound(reply('sms:a:r0'));
    await bus.enqueueOutbound(reply('sms:b:r0'));
    await waitFor('both sends', () => sent.length === 2);
    expect(sent.map((s) => s.id)).toEqual(['sms:a:r0', 'sms:b:r0']);
    // Three 429s of 150 ms each: the partition waited, more often than `attempts` would allow.
    expect((sent[0]?.at ?? 0) - started).toBeGreaterThanOrEqual(400);
  });

  it("keeps one conversation's replies in order across partitions and worker processes", async () => {
    const { bus, prefix } = newBus('out-order', { outboundPartitions: 3 });
    const { bus: second } = newBus('out-order-2', { prefix, outboundPartitions: 3 });
    const sent = new Map<string, number[]>();
    const record = async (job: OutboundJob) => {
      await sleep(Math.random() * 3);
      const list = sent.get(job.conversationId) ?? [];
      list.push(Number(job.replyId.split(':r')[1]));
      sent.set(job.conversationId, list);
    };
    bus.start({ ...noop, outbound: record });
    second.start({ ...noop, outbound: record });
    const jobs: OutboundJob[] = [];
    for (let i = 0; i < 30; i++)
      for (const c of ['c1', 'c2', 'c3', 'c4']) jobs.push({ ...reply(`sms:${c}:r${i}`), conversationId: c });
    for (const job of jobs) await bus.enqueueOutbound(job);
    await waitFor('every reply', () => [...sent.values()].reduce((n, l) => n + l.length, 0) === 120);
    for (const list of sent.values()) expect(list).toEqual([...list].sort((a, b) => a - b));
  });

  it('holds an outbound channel to its rate limit', async () => {
    const { bus } = newBus('limit', {
      outboundPartitions: 2,
      outbound: { sms: { limiter: { max: 2, duration: 500 } } },
    });
    const at: number[] = [];
    bus.start({ ...noop, outbound: async () => void at.push(Date.now()) });
    await bus.waitUntilReady();
    for (let i = 0; i < 6; i++) await bus.enqueueOutbound(reply(`sms:m${i}:r0`));
    await waitFor('six sends', () => at.length === 6);
    // Two per 500 ms: the sixth send is at least two windows after the first.
    expect((at[5] ?? 0) - (at[0] ?? 0)).toBeGreaterThanOrEqual(900);
  });

  it('finishes in-flight jobs on close, then refuses new ones', async () => {
    const { bus } = newBus('close');
    let started = false;
    let finished = false;
    bus.start({
      ...noop,
      inbound: async () => {
        started = true;
        await sleep(300);
        // A turn finishing during shutdown still gets its reply onto the queue.
        await bus.enqueueOutbound(reply('sms:slow:r0'));
        finished = true;
      },
    });
    await bus.enqueueInbound(turn('c1', 'slow'));
    await waitFor('the slow job to start', () => started);
    await bus.close();
    expect(finished).toBe(true);
    await expect(bus.enqueueInbound(turn('c1', 'late'))).rejects.toThrow(/closed/);
  });

  it('is not ready while an inbound message waits too long; a process without workers stays ready', async () => {
    const prefix = `{${uniquePrefix('stall')}}`;
    const { bus } = newBus('stall', { prefix, stallAfterMs: 400, partitions: 1 });
    const { bus: webOnly } = newBus('stall', { prefix, stallAfterMs: 400, partitions: 1 });
    const { gate: held, release } = gated();
    const handled: string[] = [];
    bus.start({
      ...noop,
      inbound: async (job) => {
        handled.push(job.messageId);
        if (job.messageId === 'stuck') await held;
      },
    });
    await bus.waitUntilReady();
    expect(await bus.healthy()).toBe(true);
    await bus.enqueueInbound(turn('c1', 'stuck'));
    await waitFor('the stuck turn to start', () => handled.includes('stuck'));
    await webOnly.enqueueInbound(turn('c1', 'behind'));
    await sleep(600);
    expect(await bus.oldestInboundWaitMs()).toBeGreaterThanOrEqual(500);
    expect(await bus.healthy()).toBe(false);
    expect(await webOnly.healthy()).toBe(true);
    release();
    await waitFor('the waiting turn', () => handled.includes('behind'));
    expect(await bus.oldestInboundWaitMs()).toBe(0);
    expect(await bus.healthy()).toBe(true);
  });

  it('tells the handlers once when a fan-out fails its last attempt, or fails for good at once', async () => {
    const { bus } = newBus('bc-fail', { attempts: 2, outboundBackoffMs: 50 });
    const failed: Array<{ id: string; reason: string }> = [];
    let tries = 0;
    bus.start({
      ...noop,
      broadcast: async (job) => {
        tries++;
        if (job.id === 'flaky') throw new TransientError(ErrorCode.Unavailable, 'redis went away');
        throw new PermanentError(ErrorCode.Config, 'no such school');
      },
      broadcastFailed: async (job, reason) => void failed.push({ id: job.id, reason }),
    });
    await bus.waitUntilReady();
    await bus.enqueueBroadcast({ id: 'flaky' });
    await waitFor('the flaky fan-out to give up', () => failed.length === 1);
    expect(tries).toBe(2);
    expect(failed[0]).toEqual({ id: 'flaky', reason: ErrorCode.Unavailable });
    await bus.enqueueBroadcast({ id: 'broken' });
    await waitFor('the broken fan-out to give up', () => failed.length === 2);
    expect(tries).toBe(3);
    expect(failed[1]).toEqual({ id: 'broken', reason: ErrorCode.Config });
  });
});
