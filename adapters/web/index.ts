import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { BroadcastService } from '../../src/broadcast/service.ts';
import type { ChannelAdapter } from '../../src/channels.ts';
import type { DirectoryReader } from '../../src/directory/directory.ts';
import type { LanguageInfo, StaffPage } from '../../src/i18n/locales.ts';
import type { Logger } from '../../src/log.ts';
import type { JobBus } from '../../src/queue/bus.ts';
import { MAX_TEXT, type OutboundJob } from '../../src/queue/jobs.ts';
import type { Store } from '../../src/store/store.ts';
import { mountBroadcastApi } from './broadcast.ts';
import { parse } from './parse.ts';
import { mountStaffInbox } from './staff.ts';

const PUBLIC = join(dirname(fileURLToPath(import.meta.url)), 'public');
/** Files served as they are from public/. */
const STATIC: Record<string, string> = {
  '/': 'index.html',
  '/chat.js': 'chat.js',
  '/chat.css': 'chat.css',
  '/staff-common.js': 'staff-common.js',
  '/staff-common.css': 'staff-common.css',
  '/staff': 'staff.html',
  '/staff.js': 'staff.js',
  '/staff.css': 'staff.css',
  '/broadcast': 'broadcast.html',
  '/broadcast.js': 'broadcast.js',
  '/broadcast.css': 'broadcast.css',
};
/** The staff pages' words, from locales/nb/staff-pages.json (words live in locales/, not in public/). */
const STAFF_TEXTS: Record<string, StaffPage> = {
  '/staff-texts.json': 'staff',
  '/broadcast-texts.json': 'broadcast',
};
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

const sessionBody = z.object({ login: z.string().min(1).max(100).optional() }).strict();
const messageBody = z
  .object({
    /** Client-made id: a retried POST carries the same one and is recognised. */
    id: z.uuid(),
    text: z.string().max(MAX_TEXT),
    choice: z.string().max(200).optional(),
  })
  .strict();
const sessionParams = z.object({ session: z.uuid() });
const afterQuery = z.object({
  after: z.coerce.number().int().nonnegative().default(0),
  inboxAfter: z.coerce.number().int().nonnegative().default(0),
});

export interface WebAdapterDeps {
  /** Broadcast API (adapters/web/broadcast.ts); unset: not mounted. */
  broadcasts?: BroadcastService;
  bus: JobBus;
  store: Store;
  directory: DirectoryReader;
  log: Logger;
  /** Demo staff offered on the staff inbox sign-in; empty disables it. */
  demoStaff: Array<{ login: string; name: string; roles: string[] }>;
  languages: LanguageInfo[];
  /** Demo parents offered on the sign-in screen; empty disables demo sign-in. */
  demoPeople: Array<{ login: string; name: string; lang: string }>;
  now?: () => Date;
}

/**
 * The web chat: a page at `/` and a small JSON API. A session id (random UUID)
 * is the conversation id and the bearer of the session; replies are polled.
 */
export function webAdapter(deps: WebAdapterDeps): ChannelAdapter {
  const now = deps.now ?? (() => new Date());
  const files = new Map(
    Object.entries(STATIC).map(([path, file]) => [path, readFileSync(join(PUBLIC, file))]),
  );
  const staffTexts = deps.languages.find((l) => l.code === 'nb')?.staffPages;
  if (!staffTexts) throw new Error('web: the staff pages need their words (locales/nb/staff-pages.json)');
  const conversationKey = (session: string) => `web:${session}`;

  return {
    name: 'web',
    capabilities: { maxChars: 4000, buttons: true, threads: false, edits: false, receipts: false },

    mount(app: FastifyInstance) {
      for (const [path, file] of Object.entries(STATIC)) {
        app.get(path, (_req, res) => {
          res.header('content-type', TYPES[file.split('.').pop() ?? 'html'] ?? 'text/plain');
          res.header('cache-control', 'no-cache');
          return res.send(files.get(path));
        });
      }
      for (const [path, page] of Object.entries(STAFF_TEXTS)) {
        app.get(path, (_req, res) => {
          res.header('cache-control', 'no-cache');
          return res.send(staffTexts[page]);
        });
      }

      // Each language carries the chat's status texts by error code, so the page can say what went
      // wrong in the parent's language even when it can no longer reach the server.
      app.get('/api/languages', async () => ({
        languages: deps.languages.map(({ code, name, dir, reviewed, webchat }) => ({
          code,
          name,
          dir,
          reviewed,
          errors: webchat,
        })),
      }));
      app.get('/api/demo/people', async () => ({ people: deps.demoPeople }));

      app.post('/api/sessions', async (req, res) => {
        const body = parse(sessionBody, req.body ?? {}, res);
        if (!body) return;
        if (body.login && !deps.demoPeople.some((p) => p.login === body.login)) {
          return res.code(403).send({ error: 'unknown_login', message: 'No such demo parent.' });
        }
        const session = randomUUID();
        await deps.store.linkIdentity('web-session', session, body.login ?? `anonymous:${session}`);
        return res.code(201).send({ session });
      });

      app.post('/api/sessions/:session/messages', async (req, res) => {
        const params = parse(sessionParams, req.params, res);
        const body = params && parse(messageBody, req.body, res);
        if (!params || !body) return;
        const sender = await deps.store.linkedPerson('web-session', params.session);
        if (!sender)
          return res.code(404).send({ error: 'unknown_session', message: 'Start a new chat session.' });
        if (!body.choice && body.text.trim() === '') {
          return res
            .code(400)
            .send({ error: 'empty_message', message: 'Write a message, or choose one of the buttons.' });
        }
        const at = now().toISOString();
        // Shown before it is queued, so a reply can never come before the message it answers;
        // the append is idempotent by id, and a client retries until it hears 202. A bare
        // button press has no words to show.
        if (body.text.trim() !== '') {
          await deps.store.appendMessage(conversationKey(params.session), {
            id: body.id,
            from: 'user',
            at,
            lang: '',
            dir: 'ltr',
            text: body.text,
            choices: [],
          });
        }
        const { duplicate } = await deps.bus.enqueueInbound({
          channel: 'web',
          messageId: body.id,
          conversationId: params.session,
          senderId: sender,
          text: body.text,
          ...(body.choice ? { choice: body.choice } : {}),
          at,
        });
        return res.code(202).send({ id: body.id, duplicate });
      });

      app.get('/api/sessions/:session/messages', async (req, res) => {
        const params = parse(sessionParams, req.params, res);
        const query = params && parse(afterQuery, req.query, res);
        if (!params || !query) return;
        const login = await deps.store.linkedPerson('web-session', params.session);
        if (!login) {
          return res.code(404).send({ error: 'unknown_session', message: 'Start a new chat session.' });
        }
        // Announcements reach a signed-in parent's web inbox (`inbox:<login>`), shown beside the chat.
        const announcements = login.startsWith('anonymous:')
          ? []
          : await deps.store.messagesAfter(conversationKey(`inbox:${login}`), query.inboxAfter);
        return {
          messages: await deps.store.messagesAfter(conversationKey(params.session), query.after),
          announcements,
        };
      });

      mountStaffInbox(app, { ...deps, now });
      mountBroadcastApi(app, deps);
    },

    async send(job: OutboundJob) {
      const stored = await deps.store.appendMessage(conversationKey(job.conversationId), {
        id: job.replyId,
        from: job.relay ? 'staff' : 'bot',
        at: now().toISOString(),
        lang: job.lang,
        dir: job.dir,
        text: job.text,
        choices: job.choices,
        ...(job.relay
          ? {
              original: {
                ...job.relay.original,
                ...(job.relay.showOriginal ? { label: job.relay.showOriginal } : {}),
              },
            }
          : {}),
      });
      return { replyId: job.replyId, status: stored ? 'delivered' : 'sent' };
    },
  };
}
