import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/store/memory.ts';
import { RedisStore } from '../../src/store/redis.ts';
import type { StoredMessage, ThreadEntry, ThreadMeta } from '../../src/store/store.ts';
import { startRedis, type TestRedis, uniquePrefix } from '../helpers/redis-server.ts';

let server: TestRedis;
let redis: Redis;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
}, 30_000);

afterAll(async () => {
  await redis?.quit();
  await server?.stop();
});

const newStore = (label: string, retentionDays = 180) =>
  new RedisStore(redis, { prefix: `${uniquePrefix(label)}:`, retentionDays });

const msg = (id: string, at: string, text = `text ${id}`): Omit<StoredMessage, 'seq'> => ({
  id,
  from: 'user',
  at,
  lang: 'nb',
  dir: 'ltr',
  text,
  choices: [],
});

describe('RedisStore', { timeout: 30_000 }, () => {
  it('round-trips conversation state', async () => {
    const store = newStore('state');
    expect(await store.loadState('web:c1')).toBeNull();
    await store.saveState('web:c1', '{"v":1,"lang":"so"}');
    await store.saveState('web:c2', '{"v":1,"lang":"ar"}');
    expect(await store.loadState('web:c1')).toBe('{"v":1,"lang":"so"}');
    await store.saveState('web:c1', '{"v":1,"lang":"uk"}');
    expect(await store.loadState('web:c1')).toBe('{"v":1,"lang":"uk"}');
    expect(await store.loadState('web:c2')).toBe('{"v":1,"lang":"ar"}');
  });

  it('keeps a conversation’s keys under one hash tag', async () => {
    const prefix = `${uniquePrefix('tag')}:`;
    const store = new RedisStore(redis, { prefix });
    await store.saveState('sms:+4790000000', '{}');
    await store.appendMessage('sms:+4790000000', msg('m1', '2025-09-01T08:00:00Z'));
    const keys = (await redis.keys(`${prefix}{conv:*`)).sort();
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (const key of keys) expect(key.startsWith(`${prefix}{conv:sms:+4790000000}:`)).toBe(true);
  });

  it('refuses a prefix with braces', () => {
    expect(() => new RedisStore(redis, { prefix: '{skolebro}:' })).toThrow(/must not contain/);
  });

  it('commits a turn: state and done mark together, per conversation', async () => {
    const store = newStore('done');
    expect(await store.isDone('web:c1', 'm1')).toBe(false);
    await store.commitTurn('web:c1', 'm1', '{"v":1,"lang":"so"}');
    expect(await store.isDone('web:c1', 'm1')).toBe(true);
    expect(await store.loadState('web:c1')).toBe('{"v":1,"lang":"so"}');
    expect(await store.isDone('web:c1', 'm2')).toBe(false);
    expect(await store.isDone('web:c2', 'm1')).toBe(false);
  });

  it('keeps the newest receipt, findable by the platform id', async () => {
    const store = newStore('receipt');
    const sent = {
      replyId: 'sms:m1:r0',
      channel: 'sms',
      status: 'sent',
      at: '2025-09-01T08:00:00Z',
      platformMessageId: 'SM1',
    } as const;
    await store.recordReceipt(sent);
    await store.recordReceipt({ ...sent, status: 'delivered', at: '2025-09-01T08:00:05Z' });
    expect(await store.receipt('sms:m1:r0')).toMatchObject({ status: 'delivered' });
    expect(await store.receiptByPlatformId('sms', 'SM1')).toMatchObject({
      replyId: 'sms:m1:r0',
      status: 'delivered',
    });
    expect(await store.receiptByPlatformId('sms', 'SM2')).toBeNull();
    expect(await store.receipt('nope')).toBeNull();
  });

  it('appends messages once each, with ordered seqs', async () => {
    const store = newStore('append');
    const first = await store.appendMessage('web:c1', msg('a', '2025-09-01T08:00:00Z', 'Hei'));
    expect(first).toEqual({ ...msg('a', '2025-09-01T08:00:00Z', 'Hei'), seq: 1 });
    expect(await store.appendMessage('web:c1', msg('a', '2025-09-01T08:00:00Z', 'Hei'))).toBeNull();
    const second = await store.appendMessage('web:c1', {
      ...msg('b', '2025-09-01T08:00:01Z', 'مرحبا'),
      from: 'bot',
      dir: 'rtl',
      choices: [{ value: 'yes', label: 'نعم' }],
    });
    expect(second?.seq).toBe(2);
    expect((await store.appendMessage('web:c2', msg('a', '2025-09-01T08:00:00Z')))?.seq).toBe(1);

    const all = await store.messagesAfter('web:c1', 0);
    expect(all.map((m) => [m.seq, m.id])).toEqual([
      [1, 'a'],
      [2, 'b'],
    ]);
    expect(all[1]).toEqual(second);
    expect(await store.messagesAfter('web:c1', 1)).toEqual([second]);
    expect(await store.messagesAfter('web:c1', 2)).toEqual([]);
  });

  it('appends concurrently without gaps or duplicates', async () => {
    const store = newStore('concurrent');
    const ids = Array.from({ length: 50 }, (_, i) => `m${i}`);
    // Every id appended three times at once: exactly one of each succeeds.
    const results = await Promise.all(
      [...ids, ...ids, ...ids].map((id) => store.appendMessage('web:c', msg(id, '2025-09-01T08:00:00Z'))),
    );
    const stored = results.filter((r) => r !== null);
    expect(stored).toHaveLength(50);
    expect(stored.map((m) => m.seq).sort((a, b) => a - b)).toEqual(ids.map((_, i) => i + 1));
    const log = await store.messagesAfter('web:c', 0);
    expect(new Set(log.map((m) => m.id)).size).toBe(50);
  });

  it('sets the retention TTL on the message log', async () => {
    const prefix = `${uniquePrefix('ttl')}:`;
    const store = new RedisStore(redis, { prefix, retentionDays: 2 });
    await store.appendMessage('web:c', msg('a', '2025-09-01T08:00:00Z'));
    const ttl = await redis.pttl(`${prefix}{conv:web:c}:msgs`);
    expect(ttl).toBeGreaterThan(2 * 86_400_000 - 60_000);
    expect(ttl).toBeLessThanOrEqual(2 * 86_400_000);
  });

  it('purges messages older than a date, and only those', async () => {
    const store = newStore('purge');
    await store.appendMessage('web:old', msg('o1', '2024-01-01T00:00:00Z'));
    await store.appendMessage('web:old', msg('o2', '2024-02-01T00:00:00Z'));
    await store.appendMessage('web:mixed', msg('x1', '2024-01-15T00:00:00Z'));
    await store.appendMessage('web:mixed', msg('x2', '2025-06-01T00:00:00Z'));
    await store.appendMessage('web:new', msg('n1', '2025-06-02T00:00:00Z'));

    expect(await store.purgeOlderThan(new Date('2025-01-01T00:00:00Z'))).toBe(3);
    expect(await store.messagesAfter('web:old', 0)).toEqual([]);
    expect((await store.messagesAfter('web:mixed', 0)).map((m) => m.id)).toEqual(['x2']);
    expect((await store.messagesAfter('web:new', 0)).map((m) => m.id)).toEqual(['n1']);
    // Nothing left to purge; seqs keep counting after a purge.
    expect(await store.purgeOlderThan(new Date('2025-01-01T00:00:00Z'))).toBe(0);
    expect((await store.appendMessage('web:mixed', msg('x3', '2025-06-03T00:00:00Z')))?.seq).toBe(3);
    // A later cutoff finds the conversation again through the index.
    expect(await store.purgeOlderThan(new Date('2025-06-02T12:00:00Z'))).toBe(2);
    expect((await store.messagesAfter('web:mixed', 0)).map((m) => m.id)).toEqual(['x3']);
    expect(await store.messagesAfter('web:new', 0)).toEqual([]);
  });

  it('finds a conversation again after its log was emptied, and a message that came late', async () => {
    const store = newStore('purge-reindex');
    await store.appendMessage('web:c', msg('a', '2024-01-01T00:00:00Z'));
    expect(await store.purgeOlderThan(new Date('2025-01-01T00:00:00Z'))).toBe(1);
    // The log is empty: the next message is its oldest and must put the conversation back in the index.
    await store.appendMessage('web:c', msg('b', '2025-03-01T00:00:00Z'));
    // Out of order (another web process's clock): older than what the index holds.
    await store.appendMessage('web:late', msg('new', '2025-05-01T00:00:00Z'));
    await store.appendMessage('web:late', msg('old', '2025-02-01T00:00:00Z'));
    expect(await store.purgeOlderThan(new Date('2025-04-01T00:00:00Z'))).toBe(2);
    expect(await store.messagesAfter('web:c', 0)).toEqual([]);
    expect((await store.messagesAfter('web:late', 0)).map((m) => m.id)).toEqual(['new']);
  });

  it('purges a long conversation in several batches', async () => {
    const store = newStore('purge-batch');
    for (let i = 0; i < 1200; i++) {
      await store.appendMessage(
        'sms:long',
        msg(`m${i}`, new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString()),
      );
    }
    await store.appendMessage('sms:long', msg('keep', '2025-06-01T00:00:00Z'));
    expect(await store.purgeOlderThan(new Date('2025-01-01T00:00:00Z'))).toBe(1200);
    expect((await store.messagesAfter('sms:long', 0)).map((m) => m.id)).toEqual(['keep']);
  });

  it('links identities per channel', async () => {
    const store = newStore('identity');
    expect(await store.linkedPerson('sms', '+4790000001')).toBeNull();
    await store.linkIdentity('sms', '+4790000001', 'guardian-1');
    await store.linkIdentity('slack', '+4790000001', 'staff-9');
    expect(await store.linkedPerson('sms', '+4790000001')).toBe('guardian-1');
    expect(await store.linkedPerson('slack', '+4790000001')).toBe('staff-9');
    await store.linkIdentity('sms', '+4790000001', 'guardian-2');
    expect(await store.linkedPerson('sms', '+4790000001')).toBe('guardian-2');
  });
});

describe('RedisStore across a Redis restart (AOF on)', { timeout: 30_000 }, () => {
  it('keeps what was written and reconnects', async () => {
    const aof = await startRedis({ appendonly: true });
    if (aof.external) return aof.stop(); // cannot restart a shared Redis
    const client = new Redis(aof.url);
    try {
      const store = new RedisStore(client, { prefix: `${uniquePrefix('aof')}:` });
      await store.saveState('web:c1', '{"v":1}');
      await store.appendMessage('web:c1', msg('a', '2025-09-01T08:00:00Z'));
      await aof.restart();
      expect(await store.loadState('web:c1')).toBe('{"v":1}');
      expect((await store.appendMessage('web:c1', msg('b', '2025-09-01T08:00:01Z')))?.seq).toBe(2);
      expect(await store.appendMessage('web:c1', msg('a', '2025-09-01T08:00:00Z'))).toBeNull();
    } finally {
      client.disconnect();
      await aof.stop();
    }
  });
});

describe.each([
  ['RedisStore', (label: string) => newStore(label)],
  ['MemoryStore', () => new MemoryStore()],
] as const)('staff threads (%s)', (_name, make) => {
  const meta: ThreadMeta = {
    id: 'sms:+4791000001',
    channel: 'sms',
    conversationId: '+4791000001',
    guardianId: 'g-amina',
    lang: 'so',
  };
  const entry = (id: string, at: string, extra: Partial<ThreadEntry> = {}): ThreadEntry => ({
    id,
    at,
    from: 'parent',
    kind: 'message',
    original: { text: 'Macallin, wiilkayga waa xanuunsan yahay', lang: 'so' },
    norwegian: { text: '[nb] Lærer, sønnen min er syk', translated: true },
    ...extra,
  });

  it('keeps one thread per conversation, entries once each, participants and inboxes', async () => {
    const store = make('threads');
    await store.addToThread(meta, entry('e1', '2025-09-01T08:00:00.000Z'), ['t-ingrid']);
    await store.addToThread(meta, entry('e1', '2025-09-01T08:00:00.000Z'), ['t-ingrid']);
    await store.addToThread(
      { ...meta, childId: 'p-yusuf' },
      entry('e2', '2025-09-01T08:05:00.000Z', { kind: 'safety' }),
      ['t-ingrid', 's-per'],
    );
    await store.addToThread(
      { id: 'web:s2', channel: 'web', conversationId: 's2', lang: 'pl' },
      entry('e3', '2025-09-01T07:00:00.000Z'),
      ['t-ingrid'],
    );
    const thread = await store.thread(meta.id);
    expect(thread?.entries.map((e) => e.id)).toEqual(['e1', 'e2']);
    expect(thread?.meta).toEqual({ ...meta, childId: 'p-yusuf' });
    expect(thread?.staffIds).toEqual(['s-per', 't-ingrid']);
    expect((await store.threadsFor('t-ingrid')).map((t) => [t.meta.id, t.lastAt])).toEqual([
      [meta.id, '2025-09-01T08:05:00.000Z'],
      ['web:s2', '2025-09-01T07:00:00.000Z'],
    ]);
    expect((await store.threadsFor('s-per')).map((t) => t.meta.id)).toEqual([meta.id]);
    expect(await store.threadsFor('t-lars')).toEqual([]);
    expect(await store.thread('sms:unknown')).toBeNull();
  });

  it('escalates only what nobody acknowledged, once', async () => {
    const store = make('esc');
    await store.addToThread(meta, entry('e1', '2025-09-01T08:00:00.000Z', { kind: 'safety' }), [
      't-ingrid',
      's-per',
    ]);
    const esc = {
      id: 'x1',
      threadId: meta.id,
      reason: 'safety' as const,
      at: '2025-09-01T08:00:00.000Z',
      notified: ['t-ingrid', 's-per'],
      deadline: '2025-09-01T08:30:00.000Z',
    };
    await store.openEscalation(esc);
    await store.openEscalation({ ...esc, deadline: 'changed' });
    await store.openEscalation({ ...esc, id: 'x2' });
    expect(await store.acknowledge(meta.id, 't-ingrid', '2025-09-01T08:10:00.000Z')).toBe(2);
    expect(await store.acknowledge(meta.id, 's-per', '2025-09-01T08:11:00.000Z')).toBe(0);
    expect(
      await store.escalateIfUnacknowledged(meta.id, 'x1', '2025-09-01T08:30:00.000Z', ['s-kontor']),
    ).toBeNull();
    await store.openEscalation({ ...esc, id: 'x3' });
    const passed = await store.escalateIfUnacknowledged(meta.id, 'x3', '2025-09-01T08:30:00.000Z', [
      's-kontor',
    ]);
    expect(passed).toMatchObject({ id: 'x3', escalatedTo: ['s-kontor'], deadline: esc.deadline });
    expect(
      await store.escalateIfUnacknowledged(meta.id, 'x3', '2025-09-01T08:31:00.000Z', ['s-kontor']),
    ).toBeNull();
    const thread = await store.thread(meta.id);
    expect(thread?.escalations.find((e) => e.id === 'x1')).toMatchObject({
      ackedBy: 't-ingrid',
      deadline: esc.deadline,
    });
  });
});
