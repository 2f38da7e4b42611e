import type { Staff } from '../directory/model.ts';
import type { Logger } from '../log.ts';
import { MAX_TEXT } from '../queue/jobs.ts';
import { resolveAudience } from './audience.ts';
import { type ParsedBroadcast, toAudience } from './command.ts';
import type { Audience } from './model.ts';
import { mayBroadcast } from './policy.ts';
import type { BroadcastService } from './service.ts';

/**
 * What the chat adapters (Slack, Teams) share of a staff member's broadcast command: the
 * texts both word alike, and the checks before a draft. Each adapter reads the command
 * from its own platform and answers in its own way.
 */

/**
 * Text keys Slack and Teams both use, with the same words (the `slack` section of
 * locales/<nb|en>/ui.json; Teams may word one its own way). Each adapter adds its own.
 */
export const CHAT_BROADCAST_KEYS = [
  'broadcast.noAudience',
  'broadcast.noText',
  'broadcast.tooLong',
  'broadcast.failed',
  'broadcast.alreadySent',
  'broadcast.cancelled',
  'broadcast.audience.class',
  'broadcast.audience.trinn',
  'broadcast.audience.school',
  'broadcast.preview.heading',
  'broadcast.preview.original',
  'broadcast.preview.summary',
  'broadcast.preview.sms',
  'broadcast.preview.noSms',
  'broadcast.preview.time',
  'broadcast.preview.smsDeferred',
  'broadcast.preview.notReachable',
  'broadcast.preview.langGuardians',
  'broadcast.preview.langSms',
  'broadcast.preview.translated',
  'broadcast.preview.edited',
  'broadcast.preview.notTranslated',
  'broadcast.preview.more',
  'broadcast.preview.check',
  'broadcast.time.underMinute',
  'broadcast.time.minutes',
  'broadcast.time.hours',
  'broadcast.button.send',
  'broadcast.button.cancel',
  'broadcast.progress.heading',
  'broadcast.progress.percent',
  'broadcast.progress.delivered',
  'broadcast.progress.sent',
  'broadcast.progress.queued',
  'broadcast.progress.notReached',
  'broadcast.progress.starting',
  'broadcast.progress.sending',
  'broadcast.progress.waiting',
  'broadcast.progress.done',
  'broadcast.progress.report',
  'broadcast.progress.cancelled',
  'broadcast.progress.failed',
] as const;
export type ChatBroadcastKey = (typeof CHAT_BROADCAST_KEYS)[number];

/** A text in the sender's language, `{name}` filled from `params`. */
export type ChatTexts<K extends string = ChatBroadcastKey> = (
  key: K,
  params?: Record<string, string | number>,
) => string;

/** The command as checked before drafting: what to answer instead, or the draft's input and the audience's name. */
export type CheckedCommand =
  | { ok: false; answer: string }
  | { ok: true; input: { audience: Audience; text: string }; audience: string };

/**
 * Checks a parsed command before anything is drafted: a mistake gets its problem and the
 * usage hint (the adapter's own `broadcast.usage`), an audience the sender may not address
 * gets the service's explanation (`mayBroadcast`; the service checks again on every call).
 * `name` (e.g. `slack broadcast`) starts the log line of a refusal.
 */
export async function checkCommand(
  parsed: ParsedBroadcast,
  sender: Staff,
  ctx: {
    service: Pick<BroadcastService, 'classes' | 'explain'>;
    lang: string;
    t: ChatTexts<ChatBroadcastKey | 'broadcast.usage'>;
    name: string;
    log?: Logger;
  },
): Promise<CheckedCommand> {
  const { service, t } = ctx;
  if (!parsed.ok) {
    const problem =
      parsed.problem === 'tooLong'
        ? t('broadcast.tooLong', { max: MAX_TEXT })
        : t(`broadcast.${parsed.problem}`);
    return { ok: false, answer: `${problem}\n${t('broadcast.usage')}` };
  }
  const classes = await service.classes(sender.schoolId);
  const { audience, classGroup, name } = toAudience(parsed.audience, sender.schoolId, classes);
  const decision = mayBroadcast(
    sender,
    resolveAudience(audience, sender.schoolId, {
      classes,
      ...(classGroup ? { classById: classGroup } : {}),
    }),
  );
  if (!decision.ok) {
    ctx.log?.info(
      { staffId: sender.id, audience: audience.kind, reason: decision.reason },
      `${ctx.name} refused`,
    );
    return { ok: false, answer: service.explain(decision.reason, sender, ctx.lang) };
  }
  return { ok: true, input: { audience, text: parsed.text }, audience: t(name.key, name.params) };
}
