import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type App, createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { data, locales, nlu, ROOT } from './world.ts';

/**
 * The single-process app on a free loopback port, with the demo school. `env` adds config
 * variables (e.g. `TRANSLATOR_ENDPOINT` of a fake Translator) and overrides the defaults here.
 */
export async function startApp(
  opts: { now?: () => Date; bodyLimit?: number; env?: Record<string, string> } = {},
): Promise<App & { url: string }> {
  const config = loadConfig(
    {
      LOG_LEVEL: 'silent',
      PORT: '0',
      ...(opts.bodyLimit ? { BODY_LIMIT_BYTES: String(opts.bodyLimit) } : {}),
      ...opts.env,
    },
    ROOT,
  );
  const app = await createApp(
    { ...config, LOCALES_DIR: join(ROOT, 'locales') },
    { locales, nlu: nlu(), directory: data },
    { log: createLogger('silent'), ...(opts.now ? { now: opts.now } : {}) },
  );
  await app.server.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.server.address() as AddressInfo;
  return Object.assign(app, { url: `http://127.0.0.1:${port}` });
}

/** Polls the web chat API until a bot reply with index > after arrives. */
export async function nextBotReply(url: string, session: string, after: number, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(`${url}/api/sessions/${session}/messages?after=${after}`);
    const { messages } = (await res.json()) as {
      messages: Array<{ seq: number; from: string; text: string; lang: string; dir: string }>;
    };
    const bot = messages.find((m) => m.from === 'bot');
    if (bot) return bot;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('no reply in time');
}
