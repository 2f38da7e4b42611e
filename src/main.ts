import { createApp } from './app.ts';
import { loadConfig } from './config.ts';
import { createLogger } from './log.ts';

/** `npm start`: one process with the web chat and the worker, in memory unless REDIS_URL is set. */
async function main() {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL);
  if (config.REDIS_URL)
    log.warn('REDIS_URL is set, but the Redis backbone is not built yet; running in memory');
  const started = Date.now();
  const app = await createApp(config, undefined, { log });
  await app.server.listen({ port: config.PORT, host: config.HOST });
  const shown = config.HOST === '0.0.0.0' || config.HOST === '127.0.0.1' ? 'localhost' : config.HOST;
  log.info({ ms: Date.now() - started }, `Skolebro web chat on http://${shown}:${config.PORT}`);

  const stop = async (signal: string) => {
    log.info({ signal }, 'shutting down');
    await app.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
