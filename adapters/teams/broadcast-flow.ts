import { resolveAudience } from '../../src/broadcast/audience.ts';
import { parseBroadcastCommand, toAudience } from '../../src/broadcast/command.ts';
import { mayBroadcast } from '../../src/broadcast/policy.ts';
import type { BroadcastService } from '../../src/broadcast/service.ts';
import type { Staff } from '../../src/directory/model.ts';
import { PermanentError, retryAfterOf } from '../../src/errors.ts';
import type { Logger } from '../../src/log.ts';
import { MAX_TEXT } from '../../src/queue/jobs.ts';
import {
  type BroadcastRequest,
  broadcastRequestOf,
  type CardContext,
  digest,
  note,
  ORIGINAL_CHARS,
  previewCard,
  progressCard,
  settledPreviewCard,
  shorten,
  type TeamsBroadcastKey,
  type TeamsBroadcastTexts,
} from './broadcast.ts';
import type { ProgressWatch, TeamsBroadcastState } from './broadcast-watch.ts';
import type { OutgoingMessage } from './cards.ts';
import { type MessageActivity, teamsMessageId } from './inbound.ts';

/** What the Teams side uses of the broadcast service (src/broadcast/service.ts): the same calls as Slack's. */
export type BroadcastApi = Pick<
  BroadcastService,
  'sender' | 'classes' | 'draft' | 'send' | 'cancel' | 'progress' | 'explain'
>;

/** A staff member's personal chat with the bot, over the Bot Connector (index.ts builds it). */
export interface TeamsChat {
  /** Posts a message in a conversation; resolves to its activity id. */
  post(conversationId: string, message: OutgoingMessage): Promise<string>;
  /** Replaces a message we posted ("update activity"). */
  update(conversationId: string, activityId: string, message: OutgoingMessage): Promise<void>;
}

export interface TeamsBroadcastDeps {
  service: BroadcastApi;
  /** The staff member a Teams user (AAD object id) is in the directory, with their language; undefined for anyone else. */
  staffOf(aadObjectId: string): Promise<{ id: string; lang?: string } | undefined>;
  texts: TeamsBroadcastTexts;
  /** Preview cards, followed progress cards, claims, messages taken (Redis in production). */
  state: TeamsBroadcastState;
  chat: TeamsChat;
  /** How often progress cards are checked while young. Default 5000 ms. */
  intervalMs?: number;
  /** A progress card is followed at most this long. Default 3 days (quiet hours, receipt timeouts). */
  maxAgeMs?: number;
  log?: Logger;
  now: () => Date;
}

export interface TeamsBroadcasts {
  /**
   * A message in a personal chat that may be a broadcast request (`text` is its text
   * without the bot's mention). True: a staff member's command or preview button, taken;
   * false: anything else, an ordinary turn for the dialog engine. Before it resolves only
   * the directory and Redis are read and written (and, for Send / Avbryt, the service's
   * send or cancel); the translation and every Bot Connector call run afterwards.
   */
  handle(activity: MessageActivity, text: string): Promise<boolean>;
  /** Starts following progress cards (every process serving Teams; idempotent). */
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
/** Progress cards older than this are checked once a minute. */
const SLOW_AFTER_MS = 15 * 60_000;
const SLOW_INTERVAL_MS = 60_000;
/** As long as the bus drops a repeated inbound message id: the channel's retries come within it. */
const SEEN_MS = 24 * 3_600_000;

interface Sender {
  sender: Staff;
  /** The language staff texts are shown in (nb, or en). */
  lang: string;
}

/**
 * Broadcasts from Teams, the way Slack's `/skolebro kunngjøring` works (adapters/slack/
 * broadcast-flow.ts): `kunngjøring <audience> <text>` in the personal chat with the bot,
 * a preview card with Send / Avbryt, and the card replaced by a progress card that is kept
 * up to date until the announcement settles.
 *
 * The webhook stays fast: the request only identifies the sender, records the message as
 * taken (Teams delivers it again when we are slow) and, for a button, calls the service's
 * send or cancel; the draft (translation), the preview and every card update are posted
 * after the answer through the stored conversation reference. Permissions are the
 * service's: the command checks `mayBroadcast` before drafting, so a refusal is explained
 * at once, and the service checks again on every call. Progress: a timer in each process
 * that serves Teams checks the followed cards (kept in Redis), each under a short claim;
 * a card is only updated when what it shows changed.
 */
export function teamsBroadcasts(deps: TeamsBroadcastDeps): TeamsBroadcasts {
  const { service, texts, state, chat, log } = deps;
  const intervalMs = deps.intervalMs ?? 5000;
  const maxAgeMs = deps.maxAgeMs ?? 3 * 86_400_000;
  const tasks = new Set<Promise<void>>();
  let timer: ReturnType<typeof setInterval> | undefined;
  let ticking: Promise<void> | undefined;
  let stopped = false;

  /** Runs `work` after the answer went out; a failure is logged (ids only). */
  function later(what: string, work: () => Promise<void>) {
    const task: Promise<void> = work()
      .catch((err: Error) =>
        log?.error(
          { what, err: { message: err?.message, code: (err as { code?: unknown })?.code } },
          'teams broadcast: failed after answering',
        ),
      )
      .finally(() => tasks.delete(task));
    tasks.add(task);
  }

  async function senderOf(aadObjectId: string): Promise<Sender | undefined> {
    const staff = await deps.staffOf(aadObjectId);
    const sender = staff ? await service.sender(staff.id) : undefined;
    if (!sender) return undefined;
    return { sender, lang: (staff?.lang ?? sender.preferredLang) === 'en' ? 'en' : 'nb' };
  }

  /** The command, after the answer: a usage hint, a refusal, or "making the preview" and the preview. */
  async function command({ sender, lang }: Sender, conversationId: string, text: string) {
    const t = (key: TeamsBroadcastKey, params?: Record<string, string | number>) => texts(lang, key, params);
    const say = (words: string) => chat.post(conversationId, note(words, lang));
    const parsed = parseBroadcastCommand(text);
    if (!parsed.ok) {
      const problem =
        parsed.problem === 'tooLong'
          ? t('broadcast.tooLong', { max: MAX_TEXT })
          : t(`broadcast.${parsed.problem}`);
      await say(`${problem}\n${t('broadcast.usage')}`);
      return;
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
        'teams broadcast refused',
      );
      await say(service.explain(decision.reason, sender, lang));
      return;
    }
    // The translation may take seconds: say that something is on its way. A lost note is no reason to stop.
    await say(t('broadcast.working')).catch((err: Error) =>
      log?.warn({ err: { message: err.message } }, 'teams broadcast: working note not posted'),
    );
    const ctx: CardContext = { lang, audience: t(name.key, name.params), texts };
    let message: OutgoingMessage;
    let id: string | undefined;
    try {
      const result = await service.draft(sender, { audience, text: parsed.text });
      if (result.ok) {
        id = result.value.id;
        message = previewCard(result.value, { ...ctx, now: deps.now() });
      } else {
        message = note(result.message, lang);
      }
      log?.info({ staffId: sender.id, ok: result.ok, broadcastId: id }, 'teams broadcast drafted');
    } catch (err) {
      log?.error(
        { staffId: sender.id, err: { message: (err as Error).message } },
        'teams broadcast: draft failed',
      );
      message = note(t('broadcast.failed'), lang);
    }
    const activityId = await chat.post(conversationId, message);
    if (id) {
      const text = shorten(parsed.text, ORIGINAL_CHARS);
      const { audience } = ctx;
      await state.savePreview({ id, staffId: sender.id, conversationId, activityId, audience, lang, text });
    }
  }

  /** Send / Avbryt: the service call on the request, the card after the answer. */
  async function submit(
    { sender, lang }: Sender,
    request: Extract<BroadcastRequest, { kind: 'submit' }>,
    conversationId: string,
  ) {
    const { id } = request;
    const card = await state.preview(id);
    if (!card || card.staffId !== sender.id) {
      log?.info({ broadcastId: id, staffId: sender.id }, 'teams broadcast: no preview card for this press');
      later('expired', async () => {
        await chat.post(conversationId, note(texts(lang, 'broadcast.expired'), lang));
      });
      return;
    }
    const ctx = { lang: card.lang, audience: card.audience, texts, text: card.text };
    const settle = (words: string) =>
      chat.update(card.conversationId, card.activityId, settledPreviewCard({ ...ctx, note: words }));

    // A second press, Send after Avbryt or Avbryt after Send: the card already shows what
    // happened (a sending's progress card is followed), and stays as it is. The service itself
    // would answer a second Send with the progress, as if it were the first.
    const now = await service.progress(sender, id);
    if (now.ok && now.value.status !== 'draft' && now.value.status !== 'scheduled') {
      log?.info({ broadcastId: id, status: now.value.status }, 'teams broadcast: press on a settled preview');
      return;
    }

    if (request.action === 'cancel') {
      const result = await service.cancel(sender, id);
      log?.info({ broadcastId: id, staffId: sender.id, ok: result.ok }, 'teams broadcast cancelled');
      later('cancel', () => settle(result.ok ? texts(card.lang, 'broadcast.cancelled') : result.message));
      return;
    }

    const result = await service.send(sender, id);
    log?.info({ broadcastId: id, staffId: sender.id, ok: result.ok }, 'teams broadcast sent');
    if (!result.ok && result.status === 409) {
      // Another press got past the check above first: the card is its to update.
      return void log?.info({ broadcastId: id }, 'teams broadcast: press on a settled preview');
    }
    later('send', async () => {
      if (!result.ok) return settle(result.message);
      // Followed before the card changes: should this update fail, the timer makes it.
      const watch: ProgressWatch = { ...card, since: deps.now().toISOString() };
      await state.addWatch(watch);
      if (!(await state.claim(id, CLAIM_MS))) return;
      try {
        const message = progressCard(result.value, ctx);
        await chat.update(card.conversationId, card.activityId, message);
        await state.saveWatch({ ...watch, last: digest(message) });
      } finally {
        await state.release(id);
      }
    });
  }

  async function follow(watch: ProgressWatch) {
    const now = deps.now();
    const age = now.getTime() - Date.parse(watch.since);
    const sender = await service.sender(watch.staffId);
    const result = sender ? await service.progress(sender, watch.id) : undefined;
    if (!result?.ok) {
      await state.removeWatch(watch.id);
      log?.info({ broadcastId: watch.id }, 'teams broadcast progress: no longer readable, not followed');
      return;
    }
    const message = progressCard(result.value, {
      lang: watch.lang,
      audience: watch.audience,
      text: watch.text,
      texts,
    });
    const last = digest(message);
    if (last !== watch.last) {
      try {
        await chat.update(watch.conversationId, watch.activityId, message);
      } catch (err) {
        if (err instanceof PermanentError) {
          await state.removeWatch(watch.id);
          log?.warn(
            { broadcastId: watch.id, code: err.code },
            'teams broadcast progress: update refused, not followed',
          );
          return;
        }
        await state.saveWatch({ ...watch, due: now.getTime() + (retryAfterOf(err) ?? intervalMs) });
        log?.warn(
          { broadcastId: watch.id, err: { message: (err as Error).message } },
          'teams broadcast progress: update failed',
        );
        return;
      }
    }
    if (result.value.settled || age > maxAgeMs) {
      await state.removeWatch(watch.id);
      return;
    }
    const next = age < SLOW_AFTER_MS ? intervalMs : SLOW_INTERVAL_MS;
    await state.saveWatch({ ...watch, last, due: now.getTime() + next });
  }

  async function tick() {
    let all: ProgressWatch[];
    try {
      all = await state.watches();
    } catch (err) {
      log?.warn({ err: { message: (err as Error).message } }, 'teams broadcast progress: watches unreadable');
      return;
    }
    for (const watch of all) {
      if (stopped) return;
      if (watch.due !== undefined && watch.due > deps.now().getTime()) continue;
      try {
        if (!(await state.claim(watch.id, CLAIM_MS))) continue;
        try {
          await follow(watch);
        } finally {
          await state.release(watch.id);
        }
      } catch (err) {
        log?.warn(
          { broadcastId: watch.id, err: { message: (err as Error).message } },
          'teams broadcast progress: check failed',
        );
      }
    }
  }

  return {
    async handle(activity, text) {
      const request = broadcastRequestOf(activity, text);
      if (!request) return false;
      // The same identity the worker uses for a Teams turn (inboundJobOf's senderId).
      const who = await senderOf(activity.from.aadObjectId ?? activity.from.id);
      // Anyone but staff: an ordinary message (a parent may well write "kunngjøring").
      if (!who) return false;
      const messageId = teamsMessageId(activity.id, activity.conversation.id);
      if (!(await state.firstDelivery(messageId, SEEN_MS))) {
        log?.debug({ kind: request.kind }, 'teams broadcast request delivered again');
        return true;
      }
      try {
        if (request.kind === 'command') {
          const conversationId = activity.conversation.id;
          later('command', () => command(who, conversationId, request.text));
        } else {
          await submit(who, request, activity.conversation.id);
        }
      } catch (err) {
        // Not taken after all: the channel's retry of this message gets another go.
        await state.forgetDelivery(messageId).catch(() => {});
        throw err;
      }
      return true;
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
