import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MemoryOneTimeCodes,
  type OneTimeCodes,
  RedisOneTimeCodes,
} from '../../src/directory/verification.ts';
import { startRedis, type TestRedis, uniquePrefix } from '../helpers/redis-server.ts';

let server: TestRedis;
let redis: Redis;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
}, 30_000);

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

let clock = Date.parse('2026-11-25T09:00:00Z');
const makers: Array<[string, (ttlMinutes?: number) => OneTimeCodes]> = [
  ['Redis', (ttlMinutes = 10) => new RedisOneTimeCodes(redis, `${uniquePrefix('otp')}:`, { ttlMinutes })],
  ['memory', (ttlMinutes = 10) => new MemoryOneTimeCodes({ ttlMinutes }, () => clock)],
];

describe.each(makers)('one-time codes (%s)', (_name, make) => {
  it('links with the right code once; a second use finds it spent', async () => {
    const codes = make();
    const code = (await codes.issue('sms:+4799900001', '+4791000001', 'g-amina', 'm1')) as string;
    expect(code).toMatch(/^\d{6}$/);
    expect(await codes.check('sms:+4799900001', code, 'm2')).toEqual({
      result: 'linked',
      guardianId: 'g-amina',
    });
    expect(await codes.check('sms:+4799900001', code, 'm3')).toEqual({ result: 'expired' });
  });

  it('gives the same answer to a redelivered message', async () => {
    const codes = make();
    const code = (await codes.issue('web:a', '+4791000001', 'g-amina', 'i1')) as string;
    expect(await codes.issue('web:a', '+4791000001', 'g-amina', 'i1')).toBe(code);
    expect((await codes.check('web:a', code, 'c1')).result).toBe('linked');
    expect((await codes.check('web:a', code, 'c1')).result).toBe('linked');
  });

  it('is bound to the account that asked: another account cannot use it', async () => {
    const codes = make();
    const code = (await codes.issue('sms:+4799900002', '+4791000001', 'g-amina', 'x1')) as string;
    expect((await codes.check('sms:+4799900003', code, 'x2')).result).toBe('expired');
  });

  it('voids the code after five wrong tries', async () => {
    const codes = make();
    const code = (await codes.issue('slack:U1', '+4791000001', 'g-amina', 'w0')) as string;
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    const results = [];
    for (let i = 1; i <= 5; i++) results.push((await codes.check('slack:U1', wrong, `w${i}`)).result);
    expect(results).toEqual(['wrong', 'wrong', 'wrong', 'wrong', 'locked']);
    expect((await codes.check('slack:U1', code, 'w6')).result).toBe('expired');
  });

  it('limits codes per account and per phone to three an hour', async () => {
    const codes = make();
    const got = [];
    for (let i = 0; i < 4; i++)
      got.push(await codes.issue('sms:+4799900009', '+4791000005', 'g-tesfay', `r${i}`));
    expect(got.slice(0, 3).every((c) => c !== null)).toBe(true);
    expect(got[3]).toBeNull();
    // Another account asking for the same phone is refused as well.
    expect(await codes.issue('web:other', '+4791000005', 'g-tesfay', 'r9')).toBeNull();
  });
});

it('lets a code expire', async () => {
  const codes = new MemoryOneTimeCodes({ ttlMinutes: 10 }, () => clock);
  const code = (await codes.issue('sms:+4799900004', '+4791000001', 'g-amina', 'e1')) as string;
  clock += 11 * 60_000;
  expect((await codes.check('sms:+4799900004', code, 'e2')).result).toBe('expired');
});

it('lets a code expire in Redis', async () => {
  const codes = new RedisOneTimeCodes(redis, `${uniquePrefix('otp-ttl')}:`, { ttlMinutes: 1 / 60 });
  const code = (await codes.issue('sms:+4799900005', '+4791000001', 'g-amina', 'e1')) as string;
  await new Promise((r) => setTimeout(r, 2100));
  expect((await codes.check('sms:+4799900005', code, 'e2')).result).toBe('expired');
});
