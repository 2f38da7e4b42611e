import { Redis } from 'ioredis';

/** A failure the operator can act on: printed as is, exit code 1. */
export class CliError extends Error {
  override name = 'CliError';
}

/**
 * Connects for a one-shot command: fails fast (no endless reconnects) with a message
 * that names the Redis, without its password.
 */
export async function connectRedis(url: string | undefined): Promise<Redis> {
  if (!url)
    throw new CliError(
      'REDIS_URL is not set: point it at the Redis to use, e.g. REDIS_URL=redis://127.0.0.1:6379',
    );
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 5000,
    maxRetriesPerRequest: 2,
    retryStrategy: (times) => (times > 3 ? null : 200 * times),
  });
  redis.on('error', () => {}); // reported by the command that fails
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new CliError(`cannot reach Redis at ${redactUrl(url)}: ${(err as Error).message}`);
  }
  return redis;
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid REDIS_URL)';
  }
}
