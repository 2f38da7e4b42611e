import { checkCommand } from '../../src/broadcast/chat.ts';
import { digest, type FlowRunner, flowRunner } from '../../src/broadcast/follow.ts';
import type { Audience } from '../../src/broadcast/model.ts';
import type { BroadcastService } from '../../src/broadcast/service.ts';
import type { Staff } from '../../src/directory/model.ts';
import type { Logger } from '../../src/log.ts';
import { escapeText, LIMITS, type SlackMessage, truncate } from './blocks.ts';
import {
  type ActionValue,
  actionValue,
  BROADCAST_ACTION,
  type BroadcastKey,
  parseBroadcast,
  renderPreview,
  renderProgress,
  type SlackBroadcastTexts,
  settlePreview,
} from './broadcast.ts';
import type { ProgressWatches } from './broadcast-watch.ts';
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

/** The flow, run with src/broadcast/follow.ts's `flowRunner` (`start`, `stop`, `tick`, `idle`). */
export interface SlackBroadcasts extends FlowRunner {
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
}

/**
 * Broadcasts from Slack: `/skolebro kunngjøring <audience> <text>`, the preview with Send
 * and Avbryt, and a progress message kept up to date until the announcement settles.
 *
 * Permissions are the service's: the command checks `mayBroadcast` at once (so a refusal
 * is the answer, with the service's explanation) and the service checks again on every
 * call. Progress: src/broadcast/follow.ts's follower, in each process that serves Slack
 * requests; `chat.update` with the latest counts is idempotent, and a message is only
 * updated when its content changed.
 */
export function slackBroadcasts(deps: SlackBroadcastDeps): SlackBroadcasts {
  const { service, texts, watches, api, log } = deps;
  const { later, ...runner } = flowRunner({
    name: 'slack broadcast',
    service,
    watches,
    render: (view, watch) => renderProgress(view, { lang: watch.lang, audience: watch.audience, texts }),
    update: (watch, message) => api.update({ channel: watch.channel, ts: watch.ts, ...message }),
    intervalMs: deps.intervalMs,
    maxAgeMs: deps.maxAgeMs,
    log,
    now: deps.now,
  });

  const ephemeral = (text: string) => ({ response_type: 'ephemeral' as const, text: escapeText(text) });
  const note = (text: string): SlackMessage => ({
    text: escapeText(truncate(text, LIMITS.messageChars)),
    blocks: [{ type: 'section', text: { type: 'plain_text', text: truncate(text, LIMITS.sectionText) } }],
  });

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
      const checked = await checkCommand(parseBroadcast(cmd.text), sender, {
        service,
        lang,
        t,
        name: 'slack broadcast',
        log,
      });
      if (!checked.ok) return ephemeral(checked.answer);
      later('draft', () => draft(sender, cmd.user_id, checked.input, { lang, audience: checked.audience }));
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

    ...runner,
  };
}
