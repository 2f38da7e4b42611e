import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  followedWatch,
  fromJson,
  MemoryWatchStore,
  RedisWatchStore,
  type WatchStore,
} from '../../src/broadcast/watch.ts';
import { sleep } from '../helpers/processes.ts';
import { startRedis, type TestRedis, uniquePrefix } from '../helpers/redis-server.ts';

/**
 * The watch stores' contract, proved for both: in memory and in Redis (a private
 * redis-server, a unique key prefix per store).
 */

const watchOf = followedWatch.extend({ channel: z.string() });
type Watch = z.infer<typeof watchOf>;

const watch = (id: string, over: Partial<Watch> = {}): Watch => ({
  id,
  staffId: 't-ingrid',
  audience: 'klasse 3A',
  lang: 'nb',
  since: '2026-03-02T10:00:00.000Z',
  channel: 'D07INGRID01',
  ...over,
});

let redis: TestRedis;
let client: Redis;

beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.url);
  client.on('error', () => {});
}, 30_000);

afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
});

const stores: Array<[string, () => WatchStore<Watch>]> = [
  ['in memory', () => new MemoryWatchStore<Watch>()],
  ['in Redis', () => new RedisWatchStore<Watch>(client, `${uniquePrefix('watch')}:slack:`, watchOf)],
];

describe.each(stores)('the watch store %s', (_, make) => {
  it('adds, reads and removes watches, as copies', async () => {
    const store = make();
    await store.add(watch('bc1'));
    await store.add(watch('bc2', { due: 5, last: 'abc' }));
    expect((await store.all()).sort((a, b) => a.id.localeCompare(b.id))).toEqual([
      watch('bc1'),
      watch('bc2', { due: 5, last: 'abc' }),
    ]);
    const got = await store.get('bc2');
    expect(got).toEqual(watch('bc2', { due: 5, last: 'abc' }));
    if (got) got.due = 99;
    expect((await store.get('bc2'))?.due).toBe(5);
    expect(await store.get('bc3')).toBeUndefined();
    await store.remove('bc1');
    expect((await store.all()).map((w) => w.id)).toEqual(['bc2']);
  });

  it('saves over a watch that is there, and keeps a removed one removed', async () => {
    const store = make();
    await store.add(watch('bc1'));
    await store.save(watch('bc1', { last: 'x', due: 10 }));
    expect(await store.get('bc1')).toEqual(watch('bc1', { last: 'x', due: 10 }));
    await store.remove('bc1');
    await store.save(watch('bc1', { last: 'y' }));
    expect(await store.all()).toEqual([]);
  });

  it('claims an announcement for one checker at a time, until released or expired', async () => {
    const store = make();
    expect(await store.claim('bc1', 60)).toBe(true);
    expect(await store.claim('bc1', 60)).toBe(false);
    expect(await store.claim('bc2', 60)).toBe(true);
    await store.release('bc1');
    expect(await store.claim('bc1', 60)).toBe(true);
    await sleep(100);
    expect(await store.claim('bc1', 60)).toBe(true);
  });
});

describe('the watch store in Redis', () => {
  it('keeps watches in one hash and claims beside it, under the prefix given', async () => {
    const prefix = `${uniquePrefix('watch')}:teams:`;
    const store = new RedisWatchStore<Watch>(client, prefix, watchOf);
    await store.add(watch('bc1'));
    await store.claim('bc1', 30_000);
    expect(await client.hkeys(`${prefix}bc-watch`)).toEqual(['bc1']);
    expect(await client.exists(`${prefix}bc-claim:bc1`)).toBe(1);
  });

  it('drops a damaged watch when it reads it', async () => {
    const prefix = `${uniquePrefix('watch')}:slack:`;
    const store = new RedisWatchStore<Watch>(client, prefix, watchOf);
    await store.add(watch('bc1'));
    await client.hset(`${prefix}bc-watch`, 'bc2', '{not json', 'bc3', JSON.stringify({ id: 'bc3' }));
    expect(await store.get('bc3')).toBeUndefined();
    expect((await store.all()).map((w) => w.id)).toEqual(['bc1']);
    expect(await client.hkeys(`${prefix}bc-watch`)).toEqual(['bc1']);
  });
});

describe('fromJson', () => {
  it('gives back what the schema accepts, and nothing for missing, broken or foreign JSON', () => {
    expect(fromJson(watchOf, JSON.stringify(watch('bc1')))).toEqual(watch('bc1'));
    expect(fromJson(watchOf, null)).toBeUndefined();
    expect(fromJson(watchOf, '{')).toBeUndefined();
    expect(fromJson(watchOf, '{"id":"bc1"}')).toBeUndefined();
  });
});
