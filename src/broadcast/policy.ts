import type { Staff } from '../directory/model.ts';
import type { FauScope, ResolvedAudience } from './model.ts';

/** Why a broadcast is refused; each has an explanation under `broadcast.refused.<reason>` in locales/<lang>/ui.json. */
export type RefusalReason =
  | 'otherSchool'
  | 'noRole'
  | 'notYourClass'
  | 'fauScope'
  | 'fauScopeMissing'
  | 'unknownAudience';

export type Decision = { ok: true } | { ok: false; reason: RefusalReason };

/** `school`, `trinn:3` or `class:<class id>` as a scope; undefined when malformed. Pure. */
export function parseFauScope(raw: string): FauScope | undefined {
  if (raw === 'school') return { kind: 'school' };
  const trinn = /^trinn:(\d{1,2})$/.exec(raw);
  if (trinn) return { kind: 'trinn', trinn: Number(trinn[1]) };
  const cls = /^class:(\S+)$/.exec(raw);
  if (cls) return { kind: 'class', classId: cls[1] as string };
  return undefined;
}

/** Whether an FAU scope covers every class of the audience. Pure. */
function scopeCovers(scope: FauScope, audience: ResolvedAudience): boolean {
  if (scope.kind === 'school') return true;
  if (audience.kind === 'school' || audience.classes.length === 0) return false;
  if (scope.kind === 'trinn') return audience.classes.every((c) => c.trinn === scope.trinn);
  return audience.kind === 'class' && audience.classes.every((c) => c.id === scope.classId);
}

/**
 * Who may send what (pure; checked on every request, whatever the channel):
 * - rektor and school office: anything in their own school;
 * - kontaktlærer: a class of their own;
 * - FAU: what their `fau_scope` covers (school, a trinn, or a class). An FAU member with
 *   no scope configured may send nothing: the school decides whom the FAU speaks for.
 * Nobody sends outside their own school; other roles (AKS baseleder) do not broadcast.
 */
export function mayBroadcast(sender: Staff, audience: ResolvedAudience): Decision {
  if (audience.kind !== 'school' && audience.classes.length === 0)
    return { ok: false, reason: 'unknownAudience' };
  if (sender.schoolId !== audience.schoolId) return { ok: false, reason: 'otherSchool' };
  if (sender.roles.includes('rektor') || sender.roles.includes('office')) return { ok: true };
  const teacher = sender.roles.includes('kontaktlaerer');
  if (teacher && audience.kind === 'class' && audience.classes.every((c) => sender.classIds.includes(c.id)))
    return { ok: true };
  if (sender.roles.includes('fau')) {
    const scopes = (sender.fauScope ?? []).map(parseFauScope).filter((s): s is FauScope => s !== undefined);
    if (scopes.length === 0) return { ok: false, reason: 'fauScopeMissing' };
    if (scopes.some((s) => scopeCovers(s, audience))) return { ok: true };
    return { ok: false, reason: 'fauScope' };
  }
  return { ok: false, reason: teacher ? 'notYourClass' : 'noRole' };
}
