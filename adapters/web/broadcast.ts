import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { ResolvedAudience } from '../../src/broadcast/model.ts';
import { mayBroadcast, parseFauScope, type RefusalReason } from '../../src/broadcast/policy.ts';
import type { BroadcastService, Result } from '../../src/broadcast/service.ts';
import type { DirectoryReader } from '../../src/directory/directory.ts';
import type { ClassGroup, Staff } from '../../src/directory/model.ts';
import type { Logger } from '../../src/log.ts';
import { MAX_TEXT } from '../../src/queue/jobs.ts';
import type { Store } from '../../src/store/store.ts';
import { parse } from './parse.ts';

export interface BroadcastApiDeps {
  store: Store;
  directory: DirectoryReader;
  log: Logger;
  /** Unset: broadcasts are not offered here and nothing is mounted. */
  broadcasts?: BroadcastService;
  /**
   * A school's classes, for the admin page's audience picker (the register the broadcast
   * service reads). Unset: the picker offers only the classes the sender's own record names
   * (their classes as kontaktlærer, their FAU class scopes); see `recordClasses`.
   */
  classes?: (schoolId: string) => Promise<ClassGroup[]>;
}

/** One audience the admin page offers; `allowed` is `mayBroadcast`'s answer. */
export interface AudienceOption {
  kind: 'school' | 'trinn' | 'class';
  id: string;
  /** A class's name (`3A`), a trinn's number, the school's id. */
  name: string;
  trinn?: number;
  allowed: boolean;
  reason?: RefusalReason;
}

/**
 * What a sender may address among `classes` (pure), by the same policy the API enforces:
 * the whole school (always listed, with the decision, so that a refusal is explained
 * when tried), then each trinn and each class the sender may send to. A trinn or class the
 * sender may not address is left out.
 */
export function audienceOptions(sender: Staff, classes: readonly ClassGroup[]): AudienceOption[] {
  const own = classes.filter((c) => c.schoolId === sender.schoolId);
  const pick = (list: readonly ClassGroup[]) => list.map((c) => ({ id: c.id, trinn: c.trinn }));
  const decide = (audience: ResolvedAudience) => {
    const d = mayBroadcast(sender, audience);
    return d.ok ? { allowed: true } : { allowed: false, reason: d.reason };
  };
  const base = { schoolId: sender.schoolId };
  const school: AudienceOption = {
    kind: 'school',
    id: sender.schoolId,
    name: sender.schoolId,
    ...decide({ kind: 'school', id: sender.schoolId, ...base, classes: pick(own) }),
  };
  const trinns = [...new Set(own.map((c) => c.trinn))].sort((a, b) => a - b);
  const byTrinn = trinns.map(
    (trinn): AudienceOption => ({
      kind: 'trinn',
      id: String(trinn),
      name: String(trinn),
      trinn,
      ...decide({
        kind: 'trinn',
        id: String(trinn),
        ...base,
        classes: pick(own.filter((c) => c.trinn === trinn)),
      }),
    }),
  );
  const byClass = [...own]
    .sort((a, b) => a.trinn - b.trinn || a.name.localeCompare(b.name, 'nb'))
    .map(
      (c): AudienceOption => ({
        kind: 'class',
        id: c.id,
        name: c.name,
        trinn: c.trinn,
        ...decide({ kind: 'class', id: c.id, ...base, classes: pick([c]) }),
      }),
    );
  return [school, ...[...byTrinn, ...byClass].filter((o) => o.allowed)];
}

/**
 * The classes a sender's own record names (kontaktlærer classes, FAU `class:` scopes), for
 * when the register's class list is not wired in. Their name and trinn are read off the
 * id, which in the register is `<school>-<trinn><letter>` (`bjerkedalen-3a`: 3A, trinn 3);
 * an id of another shape keeps the id as its name and trinn 0. Pure.
 */
export function recordClasses(sender: Staff): ClassGroup[] {
  const scoped = (sender.fauScope ?? [])
    .map(parseFauScope)
    .flatMap((s) => (s?.kind === 'class' ? [s.classId] : []));
  return [...new Set([...sender.classIds, ...scoped])].map((id) => {
    const short = id.startsWith(`${sender.schoolId}-`) ? id.slice(sender.schoolId.length + 1) : id;
    const trinn = /^(\d{1,2})\D*$/.exec(short);
    return {
      id,
      schoolId: sender.schoolId,
      trinn: trinn ? Number(trinn[1]) : 0,
      name: trinn ? short.toUpperCase() : id,
    };
  });
}

/** The staff session of the staff inbox (adapters/web/staff.ts): the same sign-in. */
const SESSION_LINK = 'web-staff-session';
const sessionParams = z.object({ session: z.uuid() });
const idParams = sessionParams.extend({ id: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/) });
const langParams = idParams.extend({ lang: z.string().regex(/^[a-z]{2,3}$/) });
const sendAt = z.iso.datetime({ offset: true });
const draftBody = z
  .object({
    audience: z.object({
      kind: z.enum(['school', 'trinn', 'class']),
      id: z.string().min(1).max(200),
      schoolId: z.string().min(1).max(200).optional(),
    }),
    text: z.string().trim().min(1, 'Write the announcement first.').max(MAX_TEXT),
    sendAt: sendAt.optional(),
  })
  .strict();
const textBody = z.object({ text: z.string().trim().min(1).max(MAX_TEXT) }).strict();
const sendBody = z.object({ sendAt: sendAt.optional() }).strict();

/**
 * Broadcasts in the staff admin scope, for a signed-in staff or FAU member (the staff
 * inbox's session): draft (returns the preview), correct one language by hand, send
 * (now or at `sendAt`), cancel, follow progress, and a CSV of the families not reached.
 * Every request checks the sender's right again (src/broadcast/policy.ts).
 */
export function mountBroadcastApi(app: FastifyInstance, deps: BroadcastApiDeps): void {
  const service = deps.broadcasts;
  if (!service) return;
  const base = '/api/staff/sessions/:session/broadcasts';

  /** The signed-in staff member's record, or a 404 sent. */
  async function staffOf(session: string, res: FastifyReply): Promise<Staff | undefined> {
    const login = await deps.store.linkedPerson(SESSION_LINK, session);
    const person = login ? await deps.directory.identify('web', login) : undefined;
    const staff = person?.kind === 'staff' ? await service?.sender(person.id) : undefined;
    if (!staff) res.code(404).send({ error: 'unknown_session', message: 'Sign in again.' });
    return staff;
  }

  function answer<T>(res: FastifyReply, result: Result<T>, status = 200) {
    if (result.ok) return res.code(status).send(result.value);
    return res.code(result.status).send({
      error: result.error,
      message: result.message,
      ...(result.reason ? { reason: result.reason } : {}),
    });
  }

  // Not under `${base}/`: an announcement id could be spelt the same.
  app.get('/api/staff/sessions/:session/broadcast-audiences', async (req, res) => {
    const params = parse(sessionParams, req.params, res);
    const staff = params && (await staffOf(params.session, res));
    if (!staff) return;
    const person = { kind: 'staff' as const, id: staff.id, name: staff.name, roles: staff.roles };
    const school = (await deps.directory.view(person)).school;
    const classes = deps.classes
      ? await deps.classes(staff.schoolId)
      : ((await deps.broadcasts?.classes(staff.schoolId).catch(() => undefined)) ?? recordClasses(staff));
    return {
      me: { id: staff.id, name: staff.name, roles: staff.roles },
      school: { id: staff.schoolId, name: school.id === staff.schoolId ? school.name : staff.schoolId },
      audiences: audienceOptions(staff, classes),
    };
  });

  app.post(base, async (req, res) => {
    const params = parse(sessionParams, req.params, res);
    const body = params && parse(draftBody, req.body, res);
    const staff = body && params && (await staffOf(params.session, res));
    if (!body || !staff) return;
    return answer(
      res,
      await service.draft(staff, {
        audience: body.audience,
        text: body.text,
        ...(body.sendAt ? { sendAt: body.sendAt } : {}),
      }),
      201,
    );
  });

  app.get(`${base}/:id`, async (req, res) => {
    const params = parse(idParams, req.params, res);
    const staff = params && (await staffOf(params.session, res));
    if (!params || !staff) return;
    return answer(res, await service.progress(staff, params.id));
  });

  app.get(`${base}/:id/preview`, async (req, res) => {
    const params = parse(idParams, req.params, res);
    const staff = params && (await staffOf(params.session, res));
    if (!params || !staff) return;
    return answer(res, await service.preview(staff, params.id));
  });

  app.put(`${base}/:id/texts/:lang`, async (req, res) => {
    const params = parse(langParams, req.params, res);
    const body = params && parse(textBody, req.body, res);
    const staff = body && params && (await staffOf(params.session, res));
    if (!params || !body || !staff) return;
    return answer(res, await service.correct(staff, params.id, params.lang, body.text));
  });

  app.post(`${base}/:id/send`, async (req, res) => {
    const params = parse(idParams, req.params, res);
    const body = params && parse(sendBody, req.body ?? {}, res);
    const staff = body && params && (await staffOf(params.session, res));
    if (!params || !body || !staff) return;
    return answer(res, await service.send(staff, params.id, body.sendAt ? { sendAt: body.sendAt } : {}), 202);
  });

  app.post(`${base}/:id/cancel`, async (req, res) => {
    const params = parse(idParams, req.params, res);
    const staff = params && (await staffOf(params.session, res));
    if (!params || !staff) return;
    return answer(res, await service.cancel(staff, params.id));
  });

  app.get(`${base}/:id/not-reached.csv`, async (req, res) => {
    const params = parse(idParams, req.params, res);
    const staff = params && (await staffOf(params.session, res));
    if (!params || !staff) return;
    const result = await service.notReachedCsv(staff, params.id);
    if (!result.ok) return answer(res, result);
    return res
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="not-reached-${params.id}.csv"`)
      .send(result.value);
  });
}
