import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance } from 'fastify';
import type { ChannelAdapter } from './channels.ts';
import type { Logger } from './log.ts';

export interface ServerDeps {
  adapters: ChannelAdapter[];
  log: Logger;
  bodyLimit: number;
  /** Extra readiness checks (Redis reachable, ...); all must pass for /readyz. */
  ready?: () => Promise<boolean>;
  /** Prometheus exposition for /metrics. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
}

/**
 * The HTTP side: channel webhooks and the web chat, plus health. Handlers only
 * verify, normalise and enqueue; nothing slow happens on a request.
 */
export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // Request lines go at debug: URLs carry session ids, which are bearer secrets.
    loggerInstance: deps.log.child(
      { part: 'http' },
      { level: deps.log.level === 'info' ? 'warn' : deps.log.level },
    ),
    bodyLimit: deps.bodyLimit,
  }) as unknown as FastifyInstance;
  await app.register(formbody);

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, res) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) deps.log.error({ err: { message: err.message, code: err.code } }, 'request failed');
    const message =
      status === 413
        ? `Request body too large (limit ${deps.bodyLimit} bytes).`
        : status === 400 && err.code === 'FST_ERR_CTP_INVALID_JSON_BODY'
          ? 'The request body is not valid JSON.'
          : status >= 500
            ? 'Something went wrong on our side; please try again.'
            : err.message;
    return res.code(status).send({ error: err.code ?? 'error', message });
  });
  app.setNotFoundHandler((_req, res) => res.code(404).send({ error: 'not_found', message: 'No such page.' }));

  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_req, res) => {
    const ok = deps.ready ? await deps.ready().catch(() => false) : true;
    return res.code(ok ? 200 : 503).send({ ok });
  });

  app.get('/metrics', async (_req, res) => {
    if (!deps.metrics) return res.code(404).send({ error: 'not_found', message: 'No metrics here.' });
    const { contentType, body } = await deps.metrics();
    return res.header('content-type', contentType).send(body);
  });

  for (const adapter of deps.adapters) await adapter.mount(app);
  return app;
}
