import { checkCommand } from '../../src/broadcast/chat.ts';
import { parseBroadcastCommand } from '../../src/broadcast/command.ts';
import { CLAIM_MS, digest, type FlowRunner, flowRunner } from '../../src/broadcast/follow.ts';
import type { BroadcastService, ProgressView } from '../../src/broadcast/service.ts';
import type { Staff } from '../../src/directory/model.ts';
import type { Logger } from '../../src/log.ts';
import {
  type BroadcastRequest,
  broadcastRequestOf,
  type CardContext,
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

/** The flow, run with src/broadcast/follow.ts's `flowRunner` (`start`, `stop`, `tick`, `idle`). */
export interface TeamsBroadcasts extends FlowRunner {
  /**
   * A message in a personal chat that may be a broadcast request (`text` is its text
   * without the bot's mention). True: a staff member's command or preview button, taken;
   * false: anything else, an ordinary turn for the dialog engine. Before it resolves only
   * the directory and Redis are read and written (and, for Send / Avbryt, the service's
   * send or cancel); the translation and every Bot Connector call run afterwards.
   */
  handle(activity: MessageActivity, text: string): Promise<boolean>;
}

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
 * at once, and the service checks again on every call. Progress: src/broadcast/follow.ts's
 * follower, in each process that serves Teams; a card is only updated when what it shows
 * changed.
 */
export function teamsBroadcasts(deps: TeamsBroadcastDeps): TeamsBroadcasts {
  const { service, texts, state, chat, log } = deps;
  /** The progress card of a followed preview: what the follower shows, and the first update after Send. */
  const render = (view: ProgressView, card: ProgressWatch) =>
    progressCard(view, { lang: card.lang, audience: card.audience, text: card.text, texts });
  const { later, ...runner } = flowRunner({
    name: 'teams broadcast',
    service,
    watches: state.watches,
    render,
    update: (watch, message) => chat.update(watch.conversationId, watch.activityId, message),
    intervalMs: deps.intervalMs,
    maxAgeMs: deps.maxAgeMs,
    log,
    now: deps.now,
  });

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
    const checked = await checkCommand(parseBroadcastCommand(text), sender, {
      service,
      lang,
      t,
      name: 'teams broadcast',
      log,
    });
    if (!checked.ok) {
      await say(checked.answer);
      return;
    }
    // The translation may take seconds: say that something is on its way. A lost note is no reason to stop.
    await say(t('broadcast.working')).catch((err: Error) =>
      log?.warn({ err: { message: err.message } }, 'teams broadcast: working note not posted'),
    );
    const ctx: CardContext = { lang, audience: checked.audience, texts };
    let message: OutgoingMessage;
    let id: string | undefined;
    try {
      const result = await service.draft(sender, checked.input);
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
      const text = shorten(checked.input.text, ORIGINAL_CHARS);
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
      await state.watches.add(watch);
      if (!(await state.watches.claim(id, CLAIM_MS))) return;
      try {
        const message = render(result.value, watch);
        await chat.update(card.conversationId, card.activityId, message);
        await state.watches.save({ ...watch, last: digest(message) });
      } finally {
        await state.watches.release(id);
      }
    });
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

    ...runner,
  };
}
