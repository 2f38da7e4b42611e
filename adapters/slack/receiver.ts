import type { App, Receiver, ReceiverEvent } from '@slack/bolt';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Logger } from '../../src/log.ts';
import { eventsEnvelope, interactionPayload, slashCommand, sslCheck } from './inbound.ts';
import { verifyRequest } from './verify.ts';

export const EVENTS_PATH = '/webhooks/slack/events';
export const COMMANDS_PATH = '/webhooks/slack/commands';
export const INTERACTIONS_PATH = '/webhooks/slack/interactions';

/** Slack retries an event it has no answer to within 3 s; past this we log that we were slow. */
const SLOW_MS = 2500;

/**
 * A request Slack sent correctly signed but that we cannot use: answered 400 with the
 * reason. Thrown by listeners too (through Bolt, which keeps errors that have a code).
 */
export class SlackRequestError extends Error {
  readonly code = 'slack_bad_request';
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'SlackRequestError';
  }
}

export interface FastifyReceiverOptions {
  signingSecret: string;
  now: () => Date;
  log?: Logger;
}

type Kind = 'events' | 'commands' | 'interactions';

/**
 * Bolt's `Receiver` on the project's fastify server (bolt-js `src/types/receiver.ts`).
 * Each request is verified (signature and replay window, on the raw body), checked with
 * zod, turned into a `ReceiverEvent` and handed to `app.processEvent`. The HTTP answer is
 * sent only when processing finished, so a 200 means the message is on the queue; a
 * failure answers 500 and Slack retries. Listeners only enqueue, so this stays far
 * inside Slack's 3 s.
 */
export class FastifyReceiver implements Receiver {
  private bolt: App | undefined;

  constructor(private readonly opts: FastifyReceiverOptions) {}

  init(app: App): void {
    this.bolt = app;
  }

  /** The project's server listens; there is nothing of our own to start. */
  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  /**
   * Registers the three routes in a plugin scope of their own, where JSON and form
   * bodies arrive as raw strings (the signature is over the exact bytes). Other routes
   * keep the server's parsers. The server's bodyLimit applies (413).
   */
  async mount(server: FastifyInstance): Promise<void> {
    await server.register(async (scope) => {
      const types = ['application/json', 'application/x-www-form-urlencoded'];
      for (const type of types) if (scope.hasContentTypeParser(type)) scope.removeContentTypeParser(type);
      scope.addContentTypeParser(types, { parseAs: 'string' }, (_req, body, done) => done(null, body));
      scope.post(EVENTS_PATH, (req, res) => this.handle('events', req, res));
      scope.post(COMMANDS_PATH, (req, res) => this.handle('commands', req, res));
      scope.post(INTERACTIONS_PATH, (req, res) => this.handle('interactions', req, res));
    });
  }

  private async handle(kind: Kind, req: FastifyRequest, res: FastifyReply) {
    const started = Date.now();
    const raw = typeof req.body === 'string' ? req.body : '';
    const verdict = verifyRequest(
      this.opts.signingSecret,
      { signature: req.headers['x-slack-signature'], timestamp: req.headers['x-slack-request-timestamp'] },
      raw,
      this.opts.now().getTime(),
    );
    if (!verdict.ok) {
      this.opts.log?.warn({ kind, reason: verdict.reason }, 'slack request refused');
      return res
        .code(401)
        .send({ error: verdict.reason, message: 'Missing, invalid or stale Slack signature.' });
    }

    let body: Record<string, unknown>;
    try {
      const read = readBody(kind, raw, req.headers['content-type']);
      if ('answer' in read) return res.code(200).send(read.answer);
      body = read.body;
    } catch (err) {
      const reason = err instanceof SlackRequestError ? err.reason : 'unreadable body';
      return res.code(400).send({ error: 'invalid_request', message: reason });
    }

    const retryNum = Number(req.headers['x-slack-retry-num']);
    const retryReason = req.headers['x-slack-retry-reason'];
    let acked = false;
    let answer: unknown;
    const event: ReceiverEvent = {
      body,
      ...(Number.isInteger(retryNum) ? { retryNum } : {}),
      ...(typeof retryReason === 'string' ? { retryReason } : {}),
      ack: async (response?: unknown) => {
        // Bolt acks events itself before the listeners run; a listener acks commands and actions.
        if (acked) return;
        acked = true;
        answer = response;
      },
    };
    const bolt = this.bolt;
    if (!bolt) return res.code(503).send({ error: 'unavailable', message: 'Slack app not initialised.' });
    try {
      await bolt.processEvent(event);
    } catch (err) {
      if (err instanceof SlackRequestError) {
        return res.code(400).send({ error: 'invalid_request', message: err.reason });
      }
      this.opts.log?.error(
        { kind, err: { message: (err as Error).message, code: (err as { code?: unknown }).code } },
        'slack request failed',
      );
      return res
        .code(500)
        .send({ error: 'error', message: 'Something went wrong on our side; please try again.' });
    } finally {
      const ms = Date.now() - started;
      if (ms > SLOW_MS) this.opts.log?.warn({ kind, ms, retryNum }, 'slack request slow: Slack may retry');
    }
    if (!acked)
      return res
        .code(400)
        .send({ error: 'unhandled', message: `Nothing here handles this ${kind} request.` });
    if (answer === undefined || answer === '') return res.code(200).send();
    return res.code(200).send(answer);
  }
}

/** The parsed body for Bolt, or an answer that needs no Bolt (url_verification, ssl_check). */
function readBody(
  kind: Kind,
  raw: string,
  contentType: string | undefined,
): { body: Record<string, unknown> } | { answer: unknown } {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (kind === 'events') {
    if (type !== 'application/json') throw new SlackRequestError('Expected an application/json body.');
    const envelope = check(eventsEnvelope, parseJson(raw));
    if (envelope.type === 'url_verification') return { answer: { challenge: envelope.challenge } };
    // Slack paused our events for a minute (too many failures); nothing to process.
    if (envelope.type === 'app_rate_limited') return { answer: '' };
    return { body: envelope };
  }
  if (type !== 'application/x-www-form-urlencoded') {
    throw new SlackRequestError('Expected an application/x-www-form-urlencoded body.');
  }
  const form = Object.fromEntries(new URLSearchParams(raw));
  if (kind === 'commands') {
    if (sslCheck.safeParse(form).success) return { answer: '' };
    return { body: check(slashCommand, form) };
  }
  if (typeof form.payload !== 'string') throw new SlackRequestError('Expected a payload field.');
  return { body: check(interactionPayload, parseJson(form.payload)) };
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new SlackRequestError('The body is not valid JSON.');
  }
}

function check<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new SlackRequestError(z.prettifyError(parsed.error));
  return parsed.data;
}
