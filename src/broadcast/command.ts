import type { ClassGroup } from '../directory/model.ts';
import { MAX_TEXT } from '../queue/jobs.ts';
import type { Audience } from './model.ts';

/**
 * The broadcast command staff write in a chat, whatever the chat platform:
 * `kunngjøring <audience> <text>` (or `broadcast …`), its audience grammar, and the
 * service's audience for it. Pure. Each adapter turns its own markup into plain text
 * first (Slack's `&lt;`, say) and words the answers from its own texts.
 */

/** First words of the command. */
const BROADCAST_WORDS = new Set(['kunngjøring', 'kunngjoring', 'kunngjør', 'broadcast', 'announce']);

/** Whether a text is the broadcast command (its first word). Pure. */
export function isBroadcastCommand(text: string): boolean {
  return BROADCAST_WORDS.has(text.trim().split(/\s+/)[0]?.toLowerCase() ?? '');
}

/** The audience as written: a class (its name or id), a trinn, or the whole school. */
export type AudienceRef =
  | { kind: 'class'; ref: string }
  | { kind: 'trinn'; trinn: number }
  | { kind: 'school' };

export type ParsedBroadcast =
  | { ok: true; audience: AudienceRef; text: string }
  | { ok: false; problem: 'noAudience' | 'noText' | 'tooLong' };

/** Audience forms, tried in order on what follows the command word; `$` or whitespace must follow. */
const AUDIENCES: Array<{ re: RegExp; ref: (m: RegExpExecArray) => AudienceRef }> = [
  {
    re: /^(?:klasse|klassen|class)\s+([^\s:,;]+)[:,;]?(?=\s|$)/iu,
    ref: (m) => ({ kind: 'class', ref: m[1] as string }),
  },
  {
    re: /^(?:trinn|grade|year)\s+(\d{1,2})\.?[:,;]?(?=\s|$)/iu,
    ref: (m) => ({ kind: 'trinn', trinn: Number(m[1]) }),
  },
  { re: /^(\d{1,2})\.\s*trinn[:,;]?(?=\s|$)/iu, ref: (m) => ({ kind: 'trinn', trinn: Number(m[1]) }) },
  {
    re: /^(?:hele\s+skolen|skolen|skole|school|whole\s+school)[:,;]?(?=\s|$)/iu,
    ref: () => ({ kind: 'school' }),
  },
];

/**
 * `kunngjøring klasse 3A Husk foreldremøtet` → the audience and the text (line breaks
 * kept). Audiences: `klasse|class <name or id>`, `trinn <n>` (or `<n>. trinn`), `skole` /
 * `hele skolen` / `school`. `toPlain` turns the platform's markup in the text back into
 * plain text; default: the text is plain already. Pure.
 */
export function parseBroadcastCommand(
  commandText: string,
  toPlain: (text: string) => string = (text) => text,
): ParsedBroadcast {
  const rest = commandText.trim().replace(/^\S+\s*/u, '');
  for (const { re, ref } of AUDIENCES) {
    const m = re.exec(rest);
    if (!m) continue;
    const text = toPlain(rest.slice(m[0].length)).trim();
    if (text === '') return { ok: false, problem: 'noText' };
    if (text.length > MAX_TEXT) return { ok: false, problem: 'tooLong' };
    return { ok: true, audience: ref(m), text };
  }
  return { ok: false, problem: 'noAudience' };
}

/** A class of the school by id (`bjerkedalen-3a`), short id (`3a`) or name (`3A`), case-insensitively. Pure. */
export function findClass(
  ref: string,
  schoolId: string,
  classes: readonly ClassGroup[],
): ClassGroup | undefined {
  const want = ref.toLowerCase();
  const own = classes.filter((c) => c.schoolId === schoolId);
  return (
    own.find((c) => c.id.toLowerCase() === want) ??
    own.find((c) => c.id.toLowerCase() === `${schoolId}-${want}`.toLowerCase()) ??
    own.find((c) => c.name.toLowerCase() === want)
  );
}

/** The text keys an audience is named with to its sender (each adapter's texts have them). */
export type AudienceNameKey =
  | 'broadcast.audience.class'
  | 'broadcast.audience.trinn'
  | 'broadcast.audience.school';

/**
 * The service's audience for what was written, the class found (if any), and how to
 * name it to the sender. A class not found stays as written: the service refuses it
 * as an unknown audience, with its own explanation. Pure.
 */
export function toAudience(
  ref: AudienceRef,
  schoolId: string,
  classes: readonly ClassGroup[],
): {
  audience: Audience;
  classGroup?: ClassGroup;
  name: { key: AudienceNameKey; params: Record<string, string | number> };
} {
  if (ref.kind === 'school')
    return {
      audience: { kind: 'school', id: schoolId },
      name: { key: 'broadcast.audience.school', params: {} },
    };
  if (ref.kind === 'trinn')
    return {
      audience: { kind: 'trinn', id: String(ref.trinn), schoolId },
      name: { key: 'broadcast.audience.trinn', params: { trinn: ref.trinn } },
    };
  const found = findClass(ref.ref, schoolId, classes);
  return {
    audience: { kind: 'class', id: found?.id ?? ref.ref, schoolId },
    ...(found ? { classGroup: found } : {}),
    name: { key: 'broadcast.audience.class', params: { name: found?.name ?? ref.ref } },
  };
}
