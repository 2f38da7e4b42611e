import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { mayAnswer } from '../../dialogs/relay.ts';
import type { DirectoryReader } from '../../src/directory/directory.ts';
import type { Person } from '../../src/engine/types.ts';
import type { Logger } from '../../src/log.ts';
import type { JobBus } from '../../src/queue/bus.ts';
import { MAX_TEXT } from '../../src/queue/jobs.ts';
import type { Store, Thread } from '../../src/store/store.ts';
import { parse } from './parse.ts';

export interface StaffInboxDeps {
  bus: JobBus;
  store: Store;
  directory: DirectoryReader;
  log: Logger;
  demoStaff: Array<{ login: string; name: string; roles: string[] }>;
  now: () => Date;
}

const SESSION_LINK = 'web-staff-session';
const sessionBody = z.object({ login: z.string().min(1).max(100) }).strict();
const sessionParams = z.object({ session: z.uuid() });
const threadParams = sessionParams.extend({ thread: z.string().min(3).max(420) });
const replyBody = z
  .object({ id: z.uuid(), text: z.string().trim().min(1, 'Write a reply first.').max(MAX_TEXT) })
  .strict();

/**
 * The staff inbox of the web adapter (`/staff`): until Teams and Slack carry the staff
 * side, a teacher signs in here, reads each parent's thread in Norwegian with the
 * original beside it, and answers in Norwegian. A thread is visible only to the staff
 * it was addressed to; opening it acknowledges an open escalation.
 */
export function mountStaffInbox(app: FastifyInstance, deps: StaffInboxDeps) {
  app.get('/api/staff/demo-people', async () => ({ people: deps.demoStaff }));

  app.post('/api/staff/sessions', async (req, res) => {
    const body = parse(sessionBody, req.body ?? {}, res);
    if (!body) return;
    if (!deps.demoStaff.some((p) => p.login === body.login)) {
      return res.code(403).send({ error: 'unknown_login', message: 'No such demo staff member.' });
    }
    const session = randomUUID();
    await deps.store.linkIdentity(SESSION_LINK, session, body.login);
    return res.code(201).send({ session });
  });

  /** The signed-in staff member, or a 404 sent. */
  async function staffOf(session: string, res: FastifyReply) {
    const login = await deps.store.linkedPerson(SESSION_LINK, session);
    const person = login ? await deps.directory.identify('web', login) : undefined;
    if (!login || person?.kind !== 'staff') {
      res.code(404).send({ error: 'unknown_session', message: 'Sign in again.' });
      return undefined;
    }
    return { login, person };
  }

  /** The thread if this staff member may see it; otherwise a 403 sent and logged. */
  async function threadFor(staff: Person, threadId: string, res: FastifyReply): Promise<Thread | undefined> {
    const thread = await deps.store.thread(threadId);
    if (thread && mayAnswer(thread, staff)) return thread;
    deps.log.warn({ staffId: staff.id, found: thread !== null }, 'staff inbox: thread refused');
    res.code(403).send({ error: 'not_your_thread', message: 'This conversation is not addressed to you.' });
    return undefined;
  }

  app.get('/api/staff/sessions/:session/threads', async (req, res) => {
    const params = parse(sessionParams, req.params, res);
    const staff = params && (await staffOf(params.session, res));
    if (!staff) return;
    const me = staff.person.id;
    const threads = await deps.store.threadsFor(me);
    return {
      me: { name: staff.person.kind === 'staff' ? staff.person.name : '', id: me },
      threads: await Promise.all(
        threads.map(async ({ meta, lastAt }) => {
          const thread = await deps.store.thread(meta.id);
          const mine = thread ? visibleTo(thread, me) : [];
          return {
            id: meta.id,
            lastAt,
            lang: meta.lang,
            // Safety reports and handoffs show in the list before anyone opens the thread.
            flags: [...new Set(mine.map((e) => e.kind).filter((k) => k === 'safety' || k === 'handoff'))],
            openEscalations: (thread?.escalations ?? []).filter(
              (e) => !e.ackedBy && !e.escalatedAt && (e.notified.includes(me) || e.escalatedTo?.includes(me)),
            ).length,
            ...(await about(deps, meta)),
          };
        }),
      ),
    };
  });

  app.get('/api/staff/sessions/:session/threads/:thread', async (req, res) => {
    const params = parse(threadParams, req.params, res);
    const staff = params && (await staffOf(params.session, res));
    if (!params || !staff) return;
    const thread = await threadFor(staff.person, params.thread, res);
    if (!thread) return;
    return {
      thread: {
        id: thread.meta.id,
        lang: thread.meta.lang,
        channel: thread.meta.channel,
        ...(await about(deps, thread.meta)),
      },
      entries: visibleTo(thread, staff.person.id),
      escalations: thread.escalations,
    };
  });

  // Opening a thread in the page is taking it up: an open safety report stops counting
  // towards the office. A call of its own, so that polling an open thread acknowledges nothing.
  app.post('/api/staff/sessions/:session/threads/:thread/ack', async (req, res) => {
    const params = parse(threadParams, req.params, res);
    const staff = params && (await staffOf(params.session, res));
    if (!params || !staff) return;
    const thread = await threadFor(staff.person, params.thread, res);
    if (!thread) return;
    const acknowledged = await deps.store.acknowledge(
      thread.meta.id,
      staff.person.id,
      deps.now().toISOString(),
    );
    return { acknowledged };
  });

  app.post('/api/staff/sessions/:session/threads/:thread/replies', async (req, res) => {
    const params = parse(threadParams, req.params, res);
    const staff = params && (await staffOf(params.session, res));
    const body = staff && parse(replyBody, req.body, res);
    if (!params || !staff || !body) return;
    const thread = await threadFor(staff.person, params.thread, res);
    if (!thread) return;
    const { duplicate } = await deps.bus.enqueueInbound({
      channel: 'web',
      messageId: body.id,
      conversationId: `staff:${staff.person.id}`,
      senderId: staff.login,
      text: body.text,
      thread: thread.meta.id,
      at: deps.now().toISOString(),
    });
    return res.code(202).send({ id: body.id, duplicate });
  });
}

/**
 * What one staff member may read of a thread: what was addressed to them, their own
 * replies, and replies by colleagues who were addressed together with them. A family's
 * thread can hold notices about a sibling in another class; that teacher's part stays theirs.
 */
function visibleTo(thread: Thread, staffId: string) {
  const mine = thread.entries.filter((e) => e.to?.includes(staffId) || e.staffId === staffId);
  const colleagues = new Set(mine.flatMap((e) => e.to ?? []));
  return thread.entries.filter(
    (e) => mine.includes(e) || (e.kind === 'reply' && e.staffId !== undefined && colleagues.has(e.staffId)),
  );
}

/** Who a thread is about, for the inbox list: the guardian, and the child and class when known. */
async function about(deps: StaffInboxDeps, meta: Thread['meta']) {
  const guardian = meta.guardianId ? await deps.directory.guardian(meta.guardianId) : undefined;
  if (!guardian) return { guardian: null, child: null };
  const view = await deps.directory.view({
    kind: 'guardian',
    id: guardian.id,
    name: guardian.name,
    preferredLang: guardian.preferredLang,
  });
  const child = view.children.find((c) => c.id === meta.childId);
  return {
    guardian: { name: guardian.name, lang: guardian.preferredLang },
    child: child ? { name: child.firstName, className: child.className } : null,
  };
}
