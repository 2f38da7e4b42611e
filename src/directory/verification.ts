import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';

/** How a written code turned out. */
export type CodeCheck = { result: 'linked'; guardianId: string } | { result: 'wrong' | 'expired' | 'locked' };

export interface CodeLimits {
  /** Minutes a code is valid. Default 10. */
  ttlMinutes: number;
  /** Wrong tries before the code is void. Default 5. */
  maxAttempts: number;
  /** Codes per hour, per requesting account and per target phone. Default 3. */
  perHour: number;
}

export const DEFAULT_CODE_LIMITS: CodeLimits = { ttlMinutes: 10, maxAttempts: 5, perHour: 3 };

/**
 * One-time codes that link a channel account (an unknown phone, a Slack or Teams user,
 * a web session) to a registered guardian. A code is stored hashed, expires, is
 * single-use, allows a few wrong tries, and codes are rate-limited per account and per
 * phone so the 10^6 space cannot be walked. Both operations are idempotent per message
 * id, so a redelivered turn neither issues a second code nor burns a try.
 */
export interface OneTimeCodes {
  /** A fresh code for `account` to prove it holds `guardianId`'s phone; null when rate-limited. */
  issue(account: string, phone: string, guardianId: string, messageId: string): Promise<string | null>;
  check(account: string, code: string, messageId: string): Promise<CodeCheck>;
}

interface Pending {
  hash: string;
  guardianId: string;
  attempts: number;
}

const hashOf = (account: string, code: string) =>
  createHash('sha256').update(`${account}\n${code}`).digest('hex');
const newCode = () => String(randomInt(0, 1_000_000)).padStart(6, '0');

function same(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/**
 * KEYS: pending (hash), result (string). ARGV: candidate hash, max attempts, result ttl seconds.
 * Returns the outcome (JSON) and stores it under the message's result key.
 */
const CHECK_LUA = `
local done = redis.call('GET', KEYS[2])
if done then return done end
local out
if redis.call('EXISTS', KEYS[1]) == 0 then
  out = '{"result":"expired"}'
else
  local stored = redis.call('HGET', KEYS[1], 'hash')
  local attempts = tonumber(redis.call('HGET', KEYS[1], 'attempts'))
  if attempts >= tonumber(ARGV[2]) then
    redis.call('DEL', KEYS[1])
    out = '{"result":"locked"}'
  elseif stored == ARGV[1] then
    out = cjson.encode({ result = 'linked', guardianId = redis.call('HGET', KEYS[1], 'guardianId') })
    redis.call('DEL', KEYS[1])
  else
    attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
    if attempts >= tonumber(ARGV[2]) then
      redis.call('DEL', KEYS[1])
      out = '{"result":"locked"}'
    else
      out = '{"result":"wrong"}'
    end
  end
end
redis.call('SET', KEYS[2], out, 'EX', ARGV[3])
return out
`;

export class RedisOneTimeCodes implements OneTimeCodes {
  private readonly limits: CodeLimits;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    limits: Partial<CodeLimits> = {},
  ) {
    this.limits = { ...DEFAULT_CODE_LIMITS, ...limits };
    redis.defineCommand('skolebroCheckCode', { numberOfKeys: 2, lua: CHECK_LUA });
  }

  async issue(account: string, phone: string, guardianId: string, messageId: string) {
    const issued = `${this.prefix}otp-issued:${messageId}`;
    const earlier = await this.redis.get(issued);
    if (earlier !== null) return earlier === '' ? null : earlier;
    const counts = await this.redis
      .multi()
      .incr(`${this.prefix}otp-rate:account:${account}`)
      .expire(`${this.prefix}otp-rate:account:${account}`, 3600, 'NX')
      .incr(`${this.prefix}otp-rate:phone:${phone}`)
      .expire(`${this.prefix}otp-rate:phone:${phone}`, 3600, 'NX')
      .exec();
    const [byAccount, byPhone] = [Number(counts?.[0]?.[1]), Number(counts?.[2]?.[1])];
    const ttl = this.limits.ttlMinutes * 60;
    if (byAccount > this.limits.perHour || byPhone > this.limits.perHour) {
      await this.redis.set(issued, '', 'EX', ttl);
      return null;
    }
    const code = newCode();
    const pending = `${this.prefix}otp:${account}`;
    await this.redis
      .multi()
      .del(pending)
      .hset(pending, { hash: hashOf(account, code), guardianId, attempts: 0 })
      .expire(pending, ttl)
      // Kept as long as the code lives, so a redelivered turn sends the same code again, not a new one.
      .set(issued, code, 'EX', ttl)
      .exec();
    return code;
  }

  async check(account: string, code: string, messageId: string): Promise<CodeCheck> {
    const run = (this.redis as unknown as { skolebroCheckCode(...a: string[]): Promise<string> })
      .skolebroCheckCode;
    const out = await run.call(
      this.redis,
      `${this.prefix}otp:${account}`,
      `${this.prefix}otp-result:${messageId}`,
      hashOf(account, code),
      String(this.limits.maxAttempts),
      String(this.limits.ttlMinutes * 60),
    );
    return JSON.parse(out) as CodeCheck;
  }
}

/** For the in-memory demo: same rules, nothing survives a restart. */
export class MemoryOneTimeCodes implements OneTimeCodes {
  private readonly limits: CodeLimits;
  private readonly pending = new Map<string, Pending & { expires: number }>();
  private readonly rates = new Map<string, number[]>();
  private readonly issued = new Map<string, string | null>();
  private readonly results = new Map<string, CodeCheck>();

  constructor(
    limits: Partial<CodeLimits> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.limits = { ...DEFAULT_CODE_LIMITS, ...limits };
  }

  async issue(account: string, phone: string, guardianId: string, messageId: string) {
    if (this.issued.has(messageId)) return this.issued.get(messageId) ?? null;
    const hourAgo = this.now() - 3600_000;
    const hit = (key: string) => {
      const recent = (this.rates.get(key) ?? []).filter((t) => t > hourAgo);
      recent.push(this.now());
      this.rates.set(key, recent);
      return recent.length;
    };
    const [a, p] = [hit(`account:${account}`), hit(`phone:${phone}`)];
    if (a > this.limits.perHour || p > this.limits.perHour) {
      this.issued.set(messageId, null);
      return null;
    }
    const code = newCode();
    const expires = this.now() + this.limits.ttlMinutes * 60_000;
    this.pending.set(account, { hash: hashOf(account, code), guardianId, attempts: 0, expires });
    this.issued.set(messageId, code);
    return code;
  }

  async check(account: string, code: string, messageId: string): Promise<CodeCheck> {
    const earlier = this.results.get(messageId);
    if (earlier) return earlier;
    const p = this.pending.get(account);
    let out: CodeCheck;
    if (!p || p.expires < this.now()) out = { result: 'expired' };
    else if (p.attempts >= this.limits.maxAttempts) out = { result: 'locked' };
    else if (same(p.hash, hashOf(account, code))) out = { result: 'linked', guardianId: p.guardianId };
    else {
      p.attempts += 1;
      out = p.attempts >= this.limits.maxAttempts ? { result: 'locked' } : { result: 'wrong' };
    }
    if (out.result !== 'wrong') this.pending.delete(account);
    this.results.set(messageId, out);
    return out;
  }
}
