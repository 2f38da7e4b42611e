import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { FakeTwilio } from '../../adapters/sms/fake-twilio.ts';
import { type App, createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import type { DirectoryData } from '../../src/directory/model.ts';
import { createLogger } from '../../src/log.ts';
import { type FakeTranslator, startFakeTranslator } from './fake-translator.ts';
import { startRedis, type TestRedis, uniquePrefix } from './redis-server.ts';
import { data, locales, nlu, ROOT } from './world.ts';

/** Where Twilio's status callbacks are addressed; routed to the app's loopback port. */
const PUBLIC = 'https://skolebro.example';
const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
const SMS_TOKEN = 'sms-secret-token';

/** The running app of a chat platform's broadcast test, and what it talks to. */
export interface BroadcastApp {
  redis: TestRedis;
  /** A client of that Redis, for looking at keys. */
  client: Redis;
  mt: FakeTranslator;
  twilio: FakeTwilio;
  app: App;
  url: string;
  /** REDIS_KEY_PREFIX, unique to the test. */
  prefix: string;
  /** Closes the app and everything started here (not the platform's fake). */
  close(): Promise<void>;
}

/**
 * createApp on a private redis-server (BullMQ, the Redis store and broadcast store), the
 * fake Translator and SMS through the fake Twilio, listening on loopback. `env` adds the
 * chat platform's config (its fake's URLs, secrets, progress interval). Quiet hours are
 * off: the platforms' fakes sign with real time, so the clock cannot be shifted into the day.
 */
export async function startBroadcastApp(
  label: string,
  env: Record<string, string>,
  directory: DirectoryData = data,
): Promise<BroadcastApp> {
  // Closed in reverse order; on a failure here, what did start is closed before rethrowing.
  const started: Array<() => unknown> = [];
  const close = async () => {
    for (const stop of started.splice(0).reverse()) await stop();
  };
  try {
    const redis = await startRedis();
    started.push(() => redis.stop());
    const client = new Redis(redis.url);
    client.on('error', () => {});
    started.push(() => client.disconnect());
    const mt = await startFakeTranslator();
    started.push(() => mt.close());
    let url = '';
    const twilio = await FakeTwilio.start({
      accountSid: ACCOUNT_SID,
      authToken: SMS_TOKEN,
      route: (u) => u.replace(PUBLIC, url),
    });
    started.push(() => twilio.close());
    const prefix = uniquePrefix(label);
    const config = loadConfig(
      {
        LOG_LEVEL: 'silent',
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: prefix,
        TRANSLATOR_ENDPOINT: mt.url,
        TRANSLATOR_KEY: mt.key,
        SMS_ACCOUNT_SID: ACCOUNT_SID,
        SMS_AUTH_TOKEN: SMS_TOKEN,
        SMS_FROM: '+4759440000',
        SMS_API_BASE_URL: twilio.url,
        PUBLIC_BASE_URL: PUBLIC,
        BROADCAST_QUIET_HOURS: 'off',
        ...env,
      },
      ROOT,
    );
    const app = await createApp(
      { ...config, LOCALES_DIR: join(ROOT, 'locales') },
      { locales, nlu: nlu(), directory },
      { log: createLogger('silent') },
    );
    started.push(() => app.close());
    await app.server.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(app.server.server.address() as AddressInfo).port}`;
    return { redis, client, mt, twilio, app, url, prefix, close };
  } catch (err) {
    await close();
    throw err;
  }
}
