import { App } from '@slack/bolt';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { ChannelAdapter, DeliveryReceipt } from '../../src/channels.ts';
import type { DirectoryReader } from '../../src/directory/directory.ts';
import { ErrorCode, PermanentError, TransientError } from '../../src/errors.ts';
import type { Renderer } from '../../src/i18n/render.ts';
import type { Logger } from '../../src/log.ts';
import type { JobBus } from '../../src/queue/bus.ts';
import type { OutboundJob } from '../../src/queue/jobs.ts';
import type { Store } from '../../src/store/store.ts';
import { LIMITS, renderReply, renderStaffNotice, type SlackMessage } from './blocks.ts';
import {
  BROADCAST_ACTION,
  DEFAULT_LOCALES_DIR,
  isBroadcastCommand,
  loadBroadcastTexts,
} from './broadcast.ts';
import { type BroadcastApi, type SlackBroadcastDeps, slackBroadcasts } from './broadcast-flow.ts';
import { MemoryProgressWatches, RedisProgressWatches } from './broadcast-watch.ts';
import { commandReply, type Inbox, storeInbox } from './commands.ts';
import { type SlackConfig, type SlackSettings, slackSettings } from './config.ts';
import {
  type BlockActions,
  CHOICE_ACTION,
  choiceJob,
  decideMessage,
  type EventCallback,
  messageJob,
  routeMessage,
  type SlashCommand,
} from './inbound.ts';
import { classifySlackError, clientLogger, type SlackApi, slackApi } from './outbound.ts';
import { FastifyReceiver, SlackRequestError } from './receiver.ts';
import { MemorySlackState, RedisSlackState, type SlackRef, type SlackState } from './state.ts';
import { type SlackTexts, slackTexts } from './texts.ts';

export { renderReply, renderStaffNotice, type SlackMessage } from './blocks.ts';
export {
  BROADCAST_KEYS,
  loadBroadcastTexts,
  parseBroadcast,
  renderPreview,
  renderProgress,
  type SlackBroadcastTexts,
} from './broadcast.ts';
export { type BroadcastApi, type SlackBroadcasts, slackBroadcasts } from './broadcast-flow.ts';
export {
  MemoryProgressWatches,
  type ProgressWatch,
  type ProgressWatches,
  RedisProgressWatches,
} from './broadcast-watch.ts';
export { type Inbox, type InboxItem, storeInbox } from './commands.ts';
export {
  checkSlackConfig,
  type SlackConfig,
  type SlackSettings,
  slackConfigSchema,
  slackConfigShape,
  slackSettings,
} from './config.ts';
export { classifySlackError, type SlackApi, slackApi } from './outbound.ts';
export { COMMANDS_PATH, EVENTS_PATH, INTERACTIONS_PATH } from './receiver.ts';
export { MemorySlackState, RedisSlackState, type SlackRef, type SlackState } from './state.ts';
export { SLACK_KEYS, type SlackTexts, slackTexts } from './texts.ts';

const DEFAULT_COMMAND = '/skolebro';
/** How long one worker may take to post a thread's first notice before another may try. */
const CLAIM_MS = 30_000;

export interface SlackAdapterDeps {
  settings: SlackSettings;
  bus: Pick<JobBus, 'enqueueInbound'>;
  /** Thread mappings, DM channels and parts already sent (Redis in production). */
  state: SlackState;
  /** The `slack.*` texts (see `slackTexts`). */
  texts: SlackTexts;
  /** For `/skolebro innboks`; without it the command answers with help only. */
  inbox?: Inbox;
  /** The language of a Slack user (from the directory), for the command's answer. Default nb. */
  languageOf?: (slackUserId: string) => Promise<string | undefined>;
  /**
   * `/skolebro kunngjøring` (broadcast-flow.ts): the broadcast service, who is staff, the
   * texts and the followed progress messages. Unset: the subcommand is not offered.
   */
  broadcasts?: Omit<SlackBroadcastDeps, 'api' | 'dm' | 'log' | 'now'>;
  /** Receives a failed receipt for each permanent send failure. Default: dropped. */
  onReceipt?: (receipt: DeliveryReceipt) => void | Promise<void>;
  /** The Web API; default: a WebClient at `settings.apiBaseUrl`. */
  api?: SlackApi;
  now?: () => Date;
  log?: Logger;
}

/**
 * Slack through Bolt, mounted on the project's fastify server by a custom receiver.
 * Inbound: a parent's DM is a turn of their conversation; a staff member's message in a
 * thread the adapter started for a parent's conversation is a reply to that parent;
 * a button is a choice; `/skolebro` answers help. Listeners verify, map and enqueue —
 * nothing slow on the request path. Outbound: replies as Block Kit with buttons, and
 * staff notices threaded per parent conversation (in the staff member's DM, or in
 * SLACK_STAFF_CHANNEL), with the Norwegian text and the original side by side.
 */
export function slackAdapter(deps: SlackAdapterDeps): ChannelAdapter {
  const { settings, state, texts } = deps;
  const now = deps.now ?? (() => new Date());
  const log = deps.log;
  const api =
    deps.api ??
    slackApi({
      botToken: settings.botToken,
      baseUrl: settings.apiBaseUrl,
      ...(settings.timeoutMs ? { timeoutMs: settings.timeoutMs } : {}),
      ...(log ? { log } : {}),
    });
  const receiver = new FastifyReceiver({
    signingSecret: settings.signingSecret,
    now,
    ...(log ? { log } : {}),
  });
  const bolt = new App({
    receiver,
    // A fixed bot token: no auth.test on the request path (Bolt's `token` option would call it).
    authorize: async () => ({ botToken: settings.botToken }),
    // Bot messages, ours included, are dropped by name in decideMessage; Bolt's ignoreSelf
    // would need the bot's user id, i.e. an auth.test call.
    ignoreSelf: false,
    // Bolt's conversation store keeps state in process memory; ours lives in Redis.
    convoStore: false,
    logger: clientLogger(log, 'slack-bolt'),
    // Listeners make no Web API calls; this client is configured like ours all the same.
    clientOptions: {
      slackApiUrl: settings.apiBaseUrl,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
    },
  });
  // Errors go back to the receiver, which answers 400 or 500 (Slack then retries).
  bolt.error(async (err) => {
    throw (err as { original?: unknown }).original ?? err;
  });

  bolt.event('message', async ({ event, body }) => {
    const decision = decideMessage(event as unknown as Record<string, unknown>);
    if (decision.kind === 'invalid') throw new SlackRequestError(decision.reason);
    if (decision.kind === 'ignore')
      return void log?.debug({ reason: decision.reason }, 'slack message ignored');
    const message = decision.message;
    const threaded = message.thread_ts !== undefined && message.thread_ts !== message.ts;
    const threadId = threaded
      ? await state.threadAt(message.channel, message.thread_ts as string)
      : undefined;
    const route = routeMessage(message, threadId);
    const eventId = (body as unknown as EventCallback).event_id;
    const job = messageJob(eventId, message, route);
    if (!job)
      return void log?.debug(
        { reason: route.kind === 'ignore' ? route.reason : '' },
        'slack message ignored',
      );
    // Slack's retries carry the same event_id: the bus answers them as duplicates.
    const { duplicate } = await deps.bus.enqueueInbound(job);
    log?.debug({ eventId, route: route.kind, duplicate }, 'slack message enqueued');
  });

  // Broadcasts: answered at once; the draft and the Slack messages follow the answer.
  const broadcasts = deps.broadcasts
    ? slackBroadcasts({
        ...deps.broadcasts,
        api,
        dm: channelOf,
        now,
        ...(log ? { log } : {}),
      })
    : undefined;

  bolt.command(settings.command ?? DEFAULT_COMMAND, async ({ command, ack }) => {
    const cmd = command as unknown as SlashCommand;
    if (broadcasts && isBroadcastCommand(cmd.text)) return void (await ack(await broadcasts.command(cmd)));
    const lang = (await deps.languageOf?.(cmd.user_id).catch(() => undefined)) ?? 'nb';
    await ack(
      await commandReply(cmd, {
        texts,
        lang,
        ...(deps.inbox ? { inbox: deps.inbox } : {}),
        ...(broadcasts ? { help: broadcasts.help(lang) } : {}),
      }),
    );
  });

  if (broadcasts) {
    // Send / Avbryt under a preview: the service call now, the Slack messages after the answer.
    bolt.action(BROADCAST_ACTION, async ({ ack, body, action }) => {
      await ack();
      await broadcasts.action(body as unknown as BlockActions, action);
    });
  }

  bolt.action(new RegExp(`^${CHOICE_ACTION}`), async ({ ack, body, action }) => {
    await ack();
    const job = choiceJob(body as unknown as BlockActions, action, now());
    if (job) await deps.bus.enqueueInbound(job);
  });

  /** The channel to post to: a user id gets their DM with the bot (opened once, then remembered). */
  async function channelOf(conversationId: string): Promise<string> {
    if (/^[CDG][A-Z0-9]+$/.test(conversationId)) return conversationId;
    if (!/^[UW][A-Z0-9]+$/.test(conversationId)) throw invalidConversation(conversationId);
    const known = await state.dmChannel(conversationId);
    if (known) return known;
    const opened = await api.openDm(conversationId);
    await state.saveDmChannel(conversationId, opened);
    return opened;
  }

  /** Posts the parts not yet taken (a retried job skips those Slack has), in order. */
  async function postParts(replyId: string, messages: SlackMessage[], channel: string, threadTs?: string) {
    const refs: SlackRef[] = [];
    for (const [part, msg] of messages.entries()) {
      let ref = await state.sentPart(replyId, part);
      if (!ref) {
        ref = await api.postMessage({ channel, ...msg, ...(threadTs ? { threadTs } : {}) });
        await state.markPartSent(replyId, part, ref);
      }
      refs.push(ref);
    }
    return refs;
  }

  async function sendReply(job: OutboundJob): Promise<SlackRef[]> {
    const messages = renderReply(job, { original: texts(job.lang, 'slack.relay.original') });
    return postParts(job.replyId, messages, await channelOf(job.conversationId));
  }

  /**
   * A staff notice goes in the Slack thread of its parent conversation at its place (the
   * staff member's DM, or the staff channel). The first notice starts the thread: its
   * first message is the root, recorded both ways before anything else is posted.
   */
  async function sendNotice(job: OutboundJob, staff: NonNullable<OutboundJob['staff']>): Promise<SlackRef[]> {
    const user = job.conversationId;
    const place = settings.staffChannel ?? user;
    const messages = renderStaffNotice(
      { text: job.text, staff },
      {
        norwegian: texts('nb', 'slack.notice.norwegian'),
        original: (lang) => texts('nb', 'staffNotice.original', { lang }),
      },
      settings.staffChannel ? user : undefined,
    );
    let root = (await state.thread(staff.threadId, place)) ?? (await state.sentPart(job.replyId, 0));
    if (!root) {
      if (!(await state.claimThread(staff.threadId, place, CLAIM_MS))) {
        throw new TransientError(ErrorCode.Unavailable, 'another worker is starting this Slack thread', {
          retryAfterMs: 1000,
          context: { replyId: job.replyId },
        });
      }
      try {
        root = await state.thread(staff.threadId, place);
        if (!root) {
          const channel = settings.staffChannel ?? (await channelOf(user));
          root = await api.postMessage({ channel, ...(messages[0] as SlackMessage) });
          await state.markPartSent(job.replyId, 0, root);
        }
      } finally {
        await state.releaseThread(staff.threadId, place);
      }
    }
    // Recorded (again) each time: it refreshes the mapping's lifetime.
    await state.saveThread(staff.threadId, place, root);
    return postParts(job.replyId, messages, root.channel, root.ts);
  }

  /** Reports a permanent failure as a receipt, then throws it so the queue does not retry. */
  async function fail(job: OutboundJob, err: PermanentError): Promise<never> {
    await Promise.resolve(
      deps.onReceipt?.({ replyId: job.replyId, status: 'failed', error: err.code }),
    ).catch((receiptErr: Error) =>
      log?.error(
        { err: { message: receiptErr.message }, replyId: job.replyId },
        'slack receipt not recorded',
      ),
    );
    throw err;
  }

  return {
    name: 'slack',
    capabilities: {
      maxChars: LIMITS.messageChars,
      buttons: true,
      threads: true,
      edits: false,
      receipts: false,
    },

    async mount(app: FastifyInstance) {
      await receiver.mount(app);
      if (broadcasts) {
        // Processes that serve Slack follow the progress messages; the server's close stops it.
        app.addHook('onClose', async () => broadcasts.stop());
        broadcasts.start();
      }
    },

    async send(job: OutboundJob): Promise<DeliveryReceipt> {
      let refs: SlackRef[];
      try {
        refs = job.staff ? await sendNotice(job, job.staff) : await sendReply(job);
      } catch (err) {
        const classified = classifySlackError(err, 'send');
        if (classified instanceof PermanentError) {
          log?.warn(
            { replyId: job.replyId, code: classified.code, ...classified.context },
            'slack send refused',
          );
          return fail(job, classified);
        }
        throw classified;
      }
      const first = refs[0];
      return {
        replyId: job.replyId,
        status: 'sent',
        ...(first ? { platformMessageId: `${first.channel}:${first.ts}` } : {}),
      };
    },
  };
}

export interface SlackFromConfigDeps {
  bus: Pick<JobBus, 'enqueueInbound'>;
  /** The broadcast service (src/broadcast/): offers `/skolebro kunngjøring` (with `directory`). */
  broadcasts?: BroadcastApi;
  /** Redis for the adapter's state; without it, state is in memory (the demo). */
  redis?: Redis;
  /** The app's renderer: the `slack.*` texts come from locales/ through it. */
  renderer: Renderer;
  /** For `/skolebro innboks` and the command's language; both optional. */
  store?: Pick<Store, 'threadsFor' | 'thread'>;
  directory?: DirectoryReader;
  log?: Logger;
  now?: () => Date;
}

/**
 * The adapter as src/app.ts wires it, or undefined when Slack is off. State goes under
 * `<REDIS_KEY_PREFIX>:slack:`. Fails fast when nb or en lacks a `slack.*` text.
 */
export function slackAdapterFromConfig(
  config: SlackConfig & { REDIS_KEY_PREFIX: string; LOCALES_DIR?: string },
  deps: SlackFromConfigDeps,
): ChannelAdapter | undefined {
  const settings = slackSettings(config);
  if (!settings) return undefined;
  const { directory, store } = deps;
  const service = deps.broadcasts;
  const broadcasts: SlackAdapterDeps['broadcasts'] =
    service && directory
      ? {
          service,
          staffOf: async (user) => {
            const person = await directory.identify('slack', user);
            return person.kind === 'staff'
              ? { id: person.id, ...(person.preferredLang ? { lang: person.preferredLang } : {}) }
              : undefined;
          },
          texts: loadBroadcastTexts(config.LOCALES_DIR ?? DEFAULT_LOCALES_DIR),
          watches: deps.redis
            ? new RedisProgressWatches(deps.redis, `${config.REDIS_KEY_PREFIX}:`)
            : new MemoryProgressWatches(deps.now),
          ...(settings.progressIntervalMs ? { intervalMs: settings.progressIntervalMs } : {}),
        }
      : undefined;
  return slackAdapter({
    settings,
    bus: deps.bus,
    state: deps.redis
      ? new RedisSlackState(deps.redis, `${config.REDIS_KEY_PREFIX}:`)
      : new MemorySlackState(),
    texts: slackTexts(deps.renderer),
    ...(store && directory ? { inbox: storeInbox({ store, directory }) } : {}),
    ...(directory
      ? { languageOf: async (user: string) => (await directory.identify('slack', user)).preferredLang }
      : {}),
    ...(broadcasts ? { broadcasts } : {}),
    ...(deps.log ? { log: deps.log } : {}),
    ...(deps.now ? { now: deps.now } : {}),
  });
}

/** Thrown when a job names neither a Slack user nor a channel we can post to. */
export function invalidConversation(conversationId: string): PermanentError {
  return new PermanentError(ErrorCode.AddressInvalid, 'Slack conversation id is not a user or channel id', {
    context: { length: conversationId.length },
  });
}
