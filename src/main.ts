import { parseArgs } from 'node:util';
import { createApp, ROLES, type Role } from './app.ts';
import { loadConfig } from './config.ts';
import { createLogger } from './log.ts';

/**
 * `npm start` (role all: web chat and worker in one process, in memory unless
 * REDIS_URL is set), `npm run start:web` and `npm run start:worker` (a district:
 * many of each against one Redis).
 */
async function main() {
  const { values } = parseArgs({ options: { role: { type: 'string', default: 'all' } } });
  const role = values.role as Role;
  if (!ROLES.includes(role))
    throw new Error(`--role must be one of ${ROLES.join(', ')} (got "${values.role}")`);
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL);
  if (role !== 'all' && !config.REDIS_URL) {
    throw new Error(
      `--role ${role} needs REDIS_URL: separate web and worker processes share work through Redis`,
    );
  }
  const started = Date.now();
  const app = await createApp(config, undefined, { log, role });
  await app.server.listen({ port: config.PORT, host: config.HOST });
  const shown = config.HOST === '0.0.0.0' || config.HOST === '127.0.0.1' ? 'localhost' : config.HOST;
  const backend = config.REDIS_URL ? 'Redis' : 'in memory';
  log.info(
    { ms: Date.now() - started, role, backend },
    role === 'worker'
      ? `Skolebro worker running; health and metrics on http://${shown}:${config.PORT}`
      : `Skolebro web chat on http://${shown}:${config.PORT}`,
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: finishing in-flight jobs');
    // A job that outlives the grace period is left to BullMQ's stalled-job check: another worker takes it.
    const force = setTimeout(() => {
      log.warn('shutdown took too long; exiting, unfinished jobs will be picked up again');
      process.exit(1);
    }, 25_000);
    force.unref();
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
