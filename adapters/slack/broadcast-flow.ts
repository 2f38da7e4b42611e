import { resolveAudience } from '../../src/broadcast/audience.ts';
import type { Audience } from '../../src/broadcast/model.ts';
import { mayBroadcast } from '../../src/broadcast/policy.ts';
import type { BroadcastService } from '../../src/broadcast/service.ts';
import type { Staff } from '../../src/directory/model.ts';
import { PermanentError, retryAfterOf } from '../../src/errors.ts';
import type { Logger } from '../../src/log.ts';
import { MAX_TEXT } from '../../src/queue/jobs.ts';
import { escapeText, LIMITS, type SlackMessage, truncate } from './blocks.ts';
import {
  type ActionValue,
  actionValue,
  BROADCAST_ACTION,
  type BroadcastKey,
  digest,
  parseBroadcast,
  renderPreview,
  renderProgress,
  type SlackBroadcastTexts,
  settlePreview,
  toAudience,
} from './broadcast.ts';
import type { ProgressWatch, ProgressWatches } from './broadcast-watch.ts';
import type { BlockActions, SlashCommand } from './inbound.ts';
import type { SlackApi } from './outbound.ts';

/** What the Slack side uses of the broadcast service (src/broadcast/service.ts). */
export type BroadcastApi = Pick<
  BroadcastService,
  'sender' | 'classes' | 'draft' | 'send' | 'cancel' | 'progress' | 'explain'
>;

export interface SlackBroadcastDeps {
  service: BroadcastApi;
  /** The staff member a Slack user is (directory `identify('slack', …)`), with their language; undefined for anyone else. */
  staffOf(user: string): Promise<{ id: string; lang?: string } | undefined>;
  texts: SlackBroadcastTexts;
  /** Progress messages being followed (Redis in production: shared by every process). */
  watches: ProgressWatches;
  api: Pick<SlackApi, 'postMessage' | 'update'>;
  /** The DM channel of a user with the bot (opened once, then remembered). */
  dm(user: string): Promise<string>;
  /** How often progress messages are checked while young. Default 5000 ms. */
  intervalMs?: number;
  /** A progress message is followed at most this long. Default 3 days (quiet hours, receipt timeouts). */
  maxAgeMs?: number;
  log?: Logger;
  now: () => Date;
}

export interface SlackBroadcasts {
  /** `/skolebro` help that names the broadcast command. */
  help(lang: string): string;
  /**
   * The command's answer (ephemeral), in milliseconds: a usage hint, a refusal with the
   * service's explanation, or "making the preview". The draft (translation included)
   * runs after the answer, and its preview is posted to the sender's DM with the bot.
   */
  command(cmd: SlashCommand): Promise<{ response_type: 'ephemeral'; text: string }>;
  /** A preview button: the service call on the request, the Slack messages after the answer. */
  action(body: BlockActions, action: unknown): Promise<void>;
  /** Starts following progress messages (every web process; idempotent). */
  start(): void;
  /** Stops the timer and waits for work in flight. */
  stop(): Promise<void>;
  /** One round of progress checks: what the timer runs. */
  tick(): Promise<void>;
  /** Resolves when the work started after answering has finished. */
  idle(): Promise<void>;
}

/** A claim outlives any one check; it is released when the check ends. */
const CLAIM_MS = 30_000;
/** Progress messages older than this are checked once a minute. */
const SLOW_AFTER_MS = 15 * 60_000;
const SLOW_INTERVAL_MS = 60_000;

/**
 * Broadcasts from Slack: `/skolebro kunngjøring <audience> <text>`, the preview with Send
 * and Avbryt, and a progress message kept up to date until the announcement settles.
 *
 * Permissions are the service's: the command checks `mayBroadcast` at once (so a refusal
 * is the answer, with the service's explanation) and the service checks again on every
 * call. Progress: a timer in each process that serves Slack requests checks the
 * announcements being followed (kept in Redis), each under a short claim so one process
 * updates a message at a time; `chat.update` with the latest counts is idempotent, and a
 * message is only updated when its content changed. After a restart the followed
 * announcements are picked up again by whichever process runs the timer.
 */
export function slackBroadcasts(deps: SlackBroadcastDeps): SlackBroadcasts {
  const { service, texts, watches, api, log } = deps;
  const intervalMs = deps.intervalMs ?? 5000;
  const maxAgeMs = deps.maxAgeMs ?? 3 * 86_400_000;
  const tasks = new Set<Promise<void>>();
  let timer: ReturnType<typeof setInterval> | undefined;
  let ticking: Promise<void> | undefined;
  let stopped = false;

  const ephemeral = (text: string) => ({ response_type: 'ephemeral' as const, text: escapeText(text) });
  const note = (text: string): SlackMessage => ({
    text: escapeText(truncate(text, LIMITS.messageChars)),
    blocks: [{ type: 'section', text: { type: 'plain_text', text: truncate(text, LIMITS.sectionText) } }],
  });

  /** Runs `work` after the answer went out; a failure is logged (ids only). */
  function later(what: string, work: () => Promise<void>) {
    const task: Promise<void> = work()
      .catch((err: Error) =>
        log?.error(
          { what, err: { message: err?.message, code: (err as { code?: unknown })?.code } },
          'slack broadcast: failed after answering',
        ),
      )
      .finally(() => tasks.delete(task));
    tasks.add(task);
  }

  async function senderOf(user: string): Promise<{ sender: Staff; lang: string } | undefined> {
    const staff = await deps.staffOf(user);
    const sender = staff ? await service.sender(staff.id) : undefined;
    return sender ? { sender, lang: staff?.lang ?? sender.preferredLang ?? 'nb' } : undefined;
  }

  async function draft(
    sender: Staff,
    user: string,
    input: { audience: Audience; text: string },
    ctx: { lang: string; audience: string },
  ) {
    let message: SlackMessage;
    try {
      const result = await service.draft(sender, input);
      message = result.ok
        ? renderPreview(result.value, { ...ctx, texts, now: deps.now() })
        : note(result.message);
      log?.info(
        { staffId: sender.id, ok: result.ok, broadcastId: result.ok ? result.value.id : undefined },
        'slack broadcast drafted',
      );
    } catch (err) {
      log?.error(
        { staffId: sender.id, err: { message: (err as Error).message } },
        'slack broadcast: draft failed',
      );
      message = note(texts(ctx.lang, 'broadcast.failed'));
    }
    await api.postMessage({ channel: await deps.dm(user), ...message });
  }

  async function follow(watch: ProgressWatch) {
    const now = deps.now();
    const age = now.getTime() - Date.parse(watch.since);
    const sender = await service.sender(watch.staffId);
    const result = sender ? await service.progress(sender, watch.id) : undefined;
    if (!result?.ok) {
      await watches.remove(watch.id);
      log?.info({ broadcastId: watch.id }, 'slack broadcast progress: no longer readable, not followed');
      return;
    }
    const message = renderProgress(result.value, { lang: watch.lang, audience: watch.audience, texts });
    const last = digest(message);
    if (last !== watch.last) {
      try {
        await api.update({ channel: watch.channel, ts: watch.ts, ...message });
      } catch (err) {
        if (err instanceof PermanentError) {
          await watches.remove(watch.id);
          log?.warn(
            { broadcastId: watch.id, code: err.code },
            'slack broadcast progress: update refused, not followed',
          );
          return;
        }
        await watches.save({ ...watch, due: now.getTime() + (retryAfterOf(err) ?? intervalMs) });
        log?.warn(
          { broadcastId: watch.id, err: { message: (err as Error).message } },
          'slack broadcast progress: update failed',
        );
        return;
      }
    }
    if (result.value.settled || age > maxAgeMs) {
      await watches.remove(watch.id);
      return;
    }
    const next = age < SLOW_AFTER_MS ? intervalMs : SLOW_INTERVAL_MS;
    await watches.save({ ...watch, last, due: now.getTime() + next });
  }

  async function tick() {
    let all: ProgressWatch[];
    try {
      all = await watches.all();
    } catch (err) {
      log?.warn({ err: { message: (err as Error).message } }, 'slack broadcast progress: watches unreadable');
      return;
    }
    for (const watch of all) {
      if (stopped) return;
      if (watch.due !== undefined && watch.due > deps.now().getTime()) continue;
      try {
        if (!(await watches.claim(watch.id, CLAIM_MS))) continue;
        try {
          await follow(watch);
        } finally {
          await watches.release(watch.id);
        }
      } catch (err) {
        log?.warn(
          { broadcastId: watch.id, err: { message: (err as Error).message } },
          'slack broadcast progress: check failed',
        );
      }
    }
  }

  /** The preview message, its buttons replaced by what happened. */
  async function settle(
    body: BlockActions,
    channel: string | undefined,
    ts: string | undefined,
    text: string,
  ) {
    if (!channel || !ts) return;
    const message = body.message as { blocks?: unknown[]; text?: string } | undefined;
    await api.update({ channel, ts, ...settlePreview(message?.blocks, message?.text ?? '', text) });
  }

  return {
    help: (lang) => texts(lang, 'broadcast.help'),

    async command(cmd) {
      const who = await senderOf(cmd.user_id);
      const lang = who?.lang ?? 'nb';
      const t = (key: BroadcastKey, params?: Record<string, string | number>) => texts(lang, key, params);
      if (!who) return ephemeral(t('broadcast.notStaff'));
      const { sender } = who;
      const parsed = parseBroadcast(cmd.text);
      if (!parsed.ok) {
        const problem =
          parsed.problem === 'tooLong'
            ? t('broadcast.tooLong', { max: MAX_TEXT })
            : t(`broadcast.${parsed.problem}`);
        return ephemeral(`${problem}\n${t('broadcast.usage')}`);
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
        log?.info(
          { staffId: sender.id, audience: audience.kind, reason: decision.reason },
          'slack broadcast refused',
        );
        return ephemeral(service.explain(decision.reason, sender, lang));
      }
      const label = t(name.key, name.params);
      later('draft', () =>
        draft(sender, cmd.user_id, { audience, text: parsed.text }, { lang, audience: label }),
      );
      return ephemeral(t('broadcast.working'));
    },

    async action(body, action) {
      const { action_id: actionId, value: raw } = (action ?? {}) as { action_id?: unknown; value?: unknown };
      const which = typeof actionId === 'string' ? BROADCAST_ACTION.exec(actionId)?.[1] : undefined;
      let value: ActionValue | undefined;
      try {
        value = actionValue.parse(JSON.parse(String(raw)));
      } catch {
        value = undefined;
      }
      if (!which || !value) return void log?.debug({ actionId }, 'slack broadcast action ignored');
      const { id, audience } = value;
      const channel = body.container.channel_id ?? body.channel?.id;
      const ts = body.container.message_ts ?? body.message?.ts;
      const who = await senderOf(body.user.id);
      if (!who)
        return void log?.info({ broadcastId: id }, 'slack broadcast action by someone not staff: ignored');
      const { sender, lang } = who;

      if (which === 'cancel') {
        const now = await service.progress(sender, id);
        if (now.ok && now.value.status !== 'draft' && now.value.status !== 'scheduled') {
          return later('cancel', () => settle(body, channel, ts, texts(lang, 'broadcast.alreadySent')));
        }
        const result = await service.cancel(sender, id);
        log?.info({ broadcastId: id, staffId: sender.id, ok: result.ok }, 'slack broadcast cancelled');
        return later('cancel', () =>
          settle(body, channel, ts, result.ok ? texts(lang, 'broadcast.cancelled') : result.message),
        );
      }

      const result = await service.send(sender, id);
      log?.info({ broadcastId: id, staffId: sender.id, ok: result.ok }, 'slack broadcast sent');
      later('send', async () => {
        if (!result.ok) return settle(body, channel, ts, result.message);
        await settle(body, channel, ts, texts(lang, 'broadcast.sent'));
        const message = renderProgress(result.value, { lang, audience, texts });
        const posted = await api.postMessage({
          channel: channel ?? (await deps.dm(body.user.id)),
          ...message,
        });
        const now = deps.now();
        await watches.add({
          id,
          staffId: sender.id,
          channel: posted.channel,
          ts: posted.ts,
          audience,
          lang,
          since: now.toISOString(),
          last: digest(message),
        });
      });
    },

    start() {
      if (timer || stopped) return;
      timer = setInterval(() => {
        ticking ??= tick().finally(() => {
          ticking = undefined;
        });
      }, intervalMs);
      timer.unref();
    },

    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      await ticking;
      await Promise.allSettled([...tasks]);
    },

    tick,

    async idle() {
      while (tasks.size > 0) await Promise.allSettled([...tasks]);
    },
  };
}
