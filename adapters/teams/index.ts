import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { ChannelAdapter, DeliveryReceipt } from '../../src/channels.ts';
import type { DirectoryReader } from '../../src/directory/directory.ts';
import { ErrorCode, PermanentError } from '../../src/errors.ts';
import type { Logger } from '../../src/log.ts';
import type { JobBus } from '../../src/queue/bus.ts';
import type { OutboundJob } from '../../src/queue/jobs.ts';
import { DEFAULT_LOCALES_DIR, loadTeamsBroadcastTexts } from './broadcast.ts';
import {
  type BroadcastApi,
  type TeamsBroadcastDeps,
  type TeamsChat,
  teamsBroadcasts,
} from './broadcast-flow.ts';
import { MemoryTeamsBroadcastState, RedisTeamsBroadcastState } from './broadcast-watch.ts';
import {
  DEFAULT_LABELS,
  type OutgoingMessage,
  replyMessages,
  staffNoticeMessages,
  type TeamsLabels,
} from './cards.ts';
import type { TeamsSettings } from './config.ts';
import { clientCredentialsTokens, sdkTokens, type TokenSource } from './credentials.ts';
import {
  inboundJobOf,
  installation,
  type MessageActivity,
  parseActivity,
  referenceOf,
  replyChain,
  type TeamsReference,
  tenantOf,
  withoutBotMention,
} from './inbound.ts';
import {
  type ConnectorApi,
  createConversation,
  replyToActivity,
  sendToConversation,
  updateActivity,
} from './outbound.ts';
import type { TeamsState } from './state.ts';
import { botAuthentication, credentialsFactory, rememberingAuthentication } from './verify.ts';

export {
  broadcastRequestOf,
  loadTeamsBroadcastTexts,
  previewCard,
  progressCard,
  type TeamsBroadcastTexts,
} from './broadcast.ts';
export { type TeamsBroadcasts, type TeamsChat, teamsBroadcasts } from './broadcast-flow.ts';
export {
  MemoryTeamsBroadcastState,
  RedisTeamsBroadcastState,
  type TeamsBroadcastState,
} from './broadcast-watch.ts';
export type { TeamsLabels } from './cards.ts';
export {
  checkTeamsConfig,
  type TeamsConfig,
  type TeamsSettings,
  teamsConfigShape,
  teamsSettings,
} from './config.ts';
export { type TeamsReference, teamsMessageId } from './inbound.ts';
export { MemoryTeamsState, RedisTeamsState, type TeamsState } from './state.ts';

/** The messaging endpoint to configure in the Azure Bot registration, as `<public base URL>/api/messages`. */
export const MESSAGES_PATH = '/api/messages';
/**
 * Longest text in one Teams message. Teams takes about 28 KB per message; 7000 characters
 * stay under it in any script (Tamil and Ge'ez take 3 bytes a character in UTF-8).
 */
export const DEFAULT_MAX_CHARS = 7000;
const DEFAULT_TIMEOUT_MS = 10_000;

export interface TeamsAdapterDeps {
  settings: TeamsSettings;
  bus: Pick<JobBus, 'enqueueInbound'>;
  /** Conversation references, thread posts and sent parts (Redis in production). */
  state: TeamsState;
  /** Words around the job's own text (column headings, "show the original"). Default: Norwegian headings, no button. */
  labels?: Partial<TeamsLabels>;
  /**
   * `kunngjøring <audience> <text>` from staff in their personal chat (broadcast-flow.ts):
   * the broadcast service, who is staff, the texts and the cards' state. Unset: such a
   * message is an ordinary turn, like any other.
   */
  broadcasts?: Omit<TeamsBroadcastDeps, 'chat' | 'log' | 'now'>;
  /** Receives permanent send failures as `failed` receipts. Default: dropped (the worker records them too). */
  onReceipt?: (receipt: DeliveryReceipt) => void | Promise<void>;
  now?: () => Date;
  fetch?: typeof fetch;
  log?: Logger;
}

/**
 * Microsoft Teams over the Bot Framework. The messaging endpoint checks the channel's
 * JWT with the SDK (ConfigurationBotFrameworkAuthentication), keeps the conversation
 * reference, and enqueues a message (a reply in a staff notice's chain as a staff reply
 * to that thread) before answering 200; nothing slow runs on the request. `send()` posts
 * proactively through the stored reference: replies as text or an Adaptive Card with
 * buttons, staff notices as a card in one Teams thread per Skolebro thread.
 */
export function teamsAdapter(deps: TeamsAdapterDeps): ChannelAdapter {
  const { settings, state } = deps;
  const now = deps.now ?? (() => new Date());
  const log = deps.log;
  const maxChars = settings.maxChars ?? DEFAULT_MAX_CHARS;
  const labels: TeamsLabels = { ...DEFAULT_LABELS, ...deps.labels };
  const credentials = credentialsFactory(settings);
  const authenticate = rememberingAuthentication(botAuthentication(settings, credentials));
  const timeoutMs = settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const tokens: TokenSource = settings.loginUrl
    ? clientCredentialsTokens({
        tokenUrl: `${settings.loginUrl}/oauth2/v2.0/token`,
        appId: settings.appId,
        password: settings.appPassword ?? '',
        timeoutMs,
        fetch: deps.fetch ?? fetch,
        now,
      })
    : sdkTokens(credentials, settings.appId);
  const api: ConnectorApi = { tokens, timeoutMs, fetch: deps.fetch ?? fetch, now };

  /** The Skolebro thread a message's reply chain leads to, if it answers one of our notices. */
  async function threadOf(activity: MessageActivity): Promise<string | undefined> {
    for (const id of replyChain(activity)) {
      const thread = await state.threadOf(activity.conversation.id, id);
      if (thread) return thread;
    }
    return undefined;
  }

  /** Reports a permanent failure as a receipt, then throws it so the queue does not retry. */
  async function fail(job: OutboundJob, err: PermanentError): Promise<never> {
    try {
      await deps.onReceipt?.({ replyId: job.replyId, status: 'failed', error: err.code });
    } catch (receiptErr) {
      // The send's own outcome decides the retry; a lost receipt must not turn it into a transient error.
      log?.error(
        { err: { message: (receiptErr as Error).message }, replyId: job.replyId },
        'teams receipt not recorded',
      );
    }
    throw err;
  }

  /** Sends the parts not sent yet, in order; a retried job skips those the platform took. */
  async function sendParts(
    job: OutboundJob,
    messages: OutgoingMessage[],
    post: (message: OutgoingMessage) => Promise<string>,
  ): Promise<DeliveryReceipt> {
    const ids: string[] = [];
    for (const [part, message] of messages.entries()) {
      let id = await state.sentPart(job.replyId, part);
      if (!id) {
        try {
          id = await post(message);
        } catch (err) {
          if (err instanceof PermanentError) return fail(job, err);
          throw err;
        }
        await state.markPartSent(job.replyId, part, id);
      }
      ids.push(id);
    }
    return { replyId: job.replyId, status: 'sent', ...(ids[0] ? { platformMessageId: ids[0] } : {}) };
  }

  async function referenceFor(job: OutboundJob, who: string): Promise<TeamsReference> {
    const ref = await state.reference(job.conversationId);
    if (ref) return ref;
    return fail(
      job,
      new PermanentError(
        ErrorCode.AddressInvalid,
        `no Teams conversation with ${who}: the app is not installed`,
        {
          context: { replyId: job.replyId },
        },
      ),
    );
  }

  const addressed = (
    message: OutgoingMessage,
    ref: TeamsReference,
    conversationId = ref.conversation.id,
  ): OutgoingMessage => ({
    ...message,
    from: ref.bot,
    recipient: { id: ref.user.id },
    conversation: { id: conversationId },
  });

  /** A conversation's stored reference, or a permanent error: nothing can be posted there. */
  async function storedReference(conversationId: string): Promise<TeamsReference> {
    const ref = await state.reference(conversationId);
    if (ref) return ref;
    throw new PermanentError(ErrorCode.AddressInvalid, 'no Teams conversation reference for this chat', {
      context: { conversation: conversationId.slice(0, 12) },
    });
  }

  /** Posts and updates in a chat proactively, through its stored reference (the broadcast cards). */
  const chat: TeamsChat = {
    async post(conversationId, message) {
      const ref = await storedReference(conversationId);
      return sendToConversation(api, ref.serviceUrl, conversationId, addressed(message, ref, conversationId));
    },
    async update(conversationId, activityId, message) {
      const ref = await storedReference(conversationId);
      await updateActivity(
        api,
        ref.serviceUrl,
        conversationId,
        activityId,
        addressed(message, ref, conversationId),
      );
    },
  };
  const broadcasts = deps.broadcasts
    ? teamsBroadcasts({
        ...(settings.progressIntervalMs ? { intervalMs: settings.progressIntervalMs } : {}),
        ...deps.broadcasts,
        chat,
        now,
        ...(log ? { log: log.child({ part: 'broadcast' }) } : {}),
      })
    : undefined;

  return {
    name: 'teams',
    capabilities: { maxChars, buttons: true, threads: true, edits: false, receipts: false },

    mount(app: FastifyInstance) {
      if (broadcasts) {
        // Processes that serve Teams follow the progress cards; the server's close stops it.
        app.addHook('onClose', async () => broadcasts.stop());
        broadcasts.start();
      }
      app.post(MESSAGES_PATH, async (req, res) => {
        const body = req.body as { serviceUrl?: unknown } | undefined;
        const serviceUrl = typeof body?.serviceUrl === 'string' ? body.serviceUrl : undefined;
        // Authenticated first, so that a stranger learns nothing about what we accept. The
        // SDK also checks the token's serviceurl claim against the activity's serviceUrl.
        const verdict = await authenticate(
          { channelId: 'msteams', ...(serviceUrl ? { serviceUrl } : {}) },
          req.headers.authorization,
        );
        if (!verdict.ok) {
          log?.warn({ status: verdict.status, reason: verdict.reason }, 'teams request not authenticated');
          return verdict.status === 401
            ? res
                .code(401)
                .send({ error: 'unauthorized', message: 'Missing or invalid Bot Framework token.' })
            : res.code(503).send({ error: 'unavailable', message: 'Signing keys unavailable; try again.' });
        }
        const parsed = parseActivity(req.body);
        if (!parsed.ok) return res.code(400).send(parsed.refusal);
        const activity = parsed.activity;
        if (activity.type === 'ignored') return res.code(200).send();
        if (settings.tenantId && tenantOf(activity) !== settings.tenantId) {
          log?.warn({ type: activity.type }, 'teams activity from another tenant refused');
          return res.code(403).send({ error: 'tenant_refused', message: 'This bot serves one tenant only.' });
        }

        const reference = referenceOf(activity);
        if (activity.type !== 'message') {
          if (installation(activity) === 'removed') await state.forgetReference(reference);
          else await state.saveReference(reference);
          return res.code(200).send();
        }
        // Every message refreshes the reference (Teams may move a conversation to another
        // serviceUrl); the write runs alongside the lookups below and is awaited before answering.
        const saved = state.saveReference(reference);
        // Awaited below; this only keeps a throw in between from leaving its failure unhandled.
        saved.catch(() => {});
        // A staff member's broadcast command or preview button; its slow part runs after the answer.
        if (broadcasts && (await broadcasts.handle(activity, withoutBotMention(activity)))) {
          await saved;
          return res.code(200).send();
        }
        const [thread] = await Promise.all([threadOf(activity), saved]);
        const job = inboundJobOf(activity, { at: now(), ...(thread ? { thread } : {}) });
        if (!job) return res.code(200).send();
        const { duplicate } = await deps.bus.enqueueInbound(job);
        if (duplicate) log?.debug({ staffReply: Boolean(thread) }, 'teams message delivered again');
        return res.code(200).send();
      });
    },

    async send(job: OutboundJob): Promise<DeliveryReceipt> {
      const staff = job.staff;
      if (!staff) {
        const ref = await referenceFor(job, 'this conversation');
        const messages = replyMessages(job, { maxChars, labels });
        return sendParts(job, messages, (m) =>
          sendToConversation(api, ref.serviceUrl, ref.conversation.id, addressed(m, ref)),
        );
      }
      // Staff are addressed by AAD object id; without a reference they have not installed the app
      // (they still see the notice in the web inbox).
      const recipient = job.conversationId;
      const ref = await referenceFor(job, 'this staff member');
      let post = await state.threadPost(staff.threadId, recipient);
      const messages = staffNoticeMessages(staff, { maxChars, labels });
      return sendParts(job, messages, async (m) => {
        if (!post) {
          const created = await createConversation(api, ref.serviceUrl, {
            bot: ref.bot,
            members: [{ id: ref.user.id }],
            ...(ref.conversation.tenantId ? { tenantId: ref.conversation.tenantId } : {}),
            activity: { ...m, from: ref.bot, recipient: { id: ref.user.id } },
          });
          // Linked before the post is recorded, so a reply can never find a post without its thread.
          await state.linkActivity(created.id, created.activityId, staff.threadId);
          post = { conversationId: created.id, activityId: created.activityId };
          await state.setThreadPost(staff.threadId, recipient, post);
          return created.activityId;
        }
        const { conversationId, activityId } = post;
        const id = await replyToActivity(
          api,
          ref.serviceUrl,
          conversationId,
          activityId,
          addressed(m, ref, conversationId),
        );
        await state.linkActivity(conversationId, id, staff.threadId);
        return id;
      });
    },
  };
}

export interface TeamsBroadcastsFromDeps {
  /** The broadcast service (src/broadcast/). */
  service: BroadcastApi;
  /** Who is staff: `identify('teams', <AAD object id>)`, as for every Teams turn. */
  directory: Pick<DirectoryReader, 'identify'>;
  /** Redis for the cards' state; without it, in memory (the demo). */
  redis?: Redis;
  /** Goes in front of every key as is, e.g. `skolebro:`. */
  keyPrefix: string;
  /** Default: the repository's locales/. */
  localesDir?: string;
  now?: () => Date;
}

/**
 * The `broadcasts` dependency as src/app.ts wires it: staff from the directory, texts from
 * locales/ (fails fast when nb or en lacks one), state in Redis under `<prefix>teams:`.
 */
export function teamsBroadcastsFrom(
  deps: TeamsBroadcastsFromDeps,
): NonNullable<TeamsAdapterDeps['broadcasts']> {
  const { directory } = deps;
  return {
    service: deps.service,
    staffOf: async (aadObjectId) => {
      const person = await directory.identify('teams', aadObjectId);
      return person.kind === 'staff'
        ? { id: person.id, ...(person.preferredLang ? { lang: person.preferredLang } : {}) }
        : undefined;
    },
    texts: loadTeamsBroadcastTexts(deps.localesDir ?? DEFAULT_LOCALES_DIR),
    state: deps.redis
      ? new RedisTeamsBroadcastState(deps.redis, deps.keyPrefix)
      : new MemoryTeamsBroadcastState(deps.now),
  };
}
