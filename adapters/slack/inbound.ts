import { z } from 'zod';
import { type InboundJob, MAX_TEXT } from '../../src/queue/jobs.ts';

/**
 * What Slack posts to us, as zod schemas, and how it becomes an inbound job. Slack adds
 * fields over time, so objects are loose; only the fields used are checked. Pure.
 */

const userId = z.string().regex(/^[UWB][A-Z0-9]{2,}$/, 'a Slack user id (U…/W…)');
const channelId = z.string().regex(/^[CDG][A-Z0-9]{2,}$/, 'a Slack channel id (C…/D…/G…)');
/** A message timestamp: the message's id within its channel. */
const messageTs = z.string().regex(/^\d{9,11}\.\d{1,6}$/, 'a Slack message ts like 1715000000.000100');

/** The Events API envelope (JSON body of POST /webhooks/slack/events). */
export const eventsEnvelope = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('url_verification'), challenge: z.string().min(1).max(200) }),
  z.looseObject({
    type: z.literal('event_callback'),
    /** Unique per event and kept across Slack's retries: the dedup key. */
    event_id: z.string().regex(/^Ev[A-Z0-9]{6,}$/, 'an event id like Ev0123ABCD'),
    event_time: z.number().int().nonnegative(),
    team_id: z.string().min(1).optional(),
    api_app_id: z.string().min(1).optional(),
    event: z.looseObject({ type: z.string().min(1) }),
  }),
  /** Slack stopped sending events for a minute: we were too slow or failing. Only logged. */
  z.looseObject({ type: z.literal('app_rate_limited'), minute_rate_limited: z.number().optional() }),
]);
export type EventsEnvelope = z.infer<typeof eventsEnvelope>;
export type EventCallback = Extract<EventsEnvelope, { type: 'event_callback' }>;

/** A message a person wrote: no subtype (or a thread reply also sent to the channel). */
export const userMessage = z.looseObject({
  type: z.literal('message'),
  user: userId,
  channel: channelId,
  text: z.string().default(''),
  ts: messageTs,
  thread_ts: messageTs.optional(),
  channel_type: z.enum(['im', 'channel', 'group', 'mpim', 'app_home']).optional(),
  subtype: z.literal('thread_broadcast').optional(),
  client_msg_id: z.string().optional(),
});
export type UserMessage = z.infer<typeof userMessage>;

/** Message subtypes that are someone typing to us; every other subtype is ignored by name. */
const SPOKEN_SUBTYPES = new Set(['thread_broadcast']);

export type MessageDecision =
  | { kind: 'ignore'; reason: string }
  | { kind: 'invalid'; reason: string }
  | { kind: 'message'; message: UserMessage };

/**
 * What to do with a `message` event. Bots (ours included: its own posts come back as
 * events with `bot_id`) and edits, deletions, joins, file shares and the like are
 * ignored by name; a person's message must then have the fields we need.
 */
export function decideMessage(event: Record<string, unknown>): MessageDecision {
  if (event.bot_id !== undefined || event.bot_profile !== undefined) return { kind: 'ignore', reason: 'bot' };
  const subtype = event.subtype;
  if (typeof subtype === 'string' && !SPOKEN_SUBTYPES.has(subtype)) {
    // message_changed, message_deleted, bot_message, channel_join, file_share, ...
    return { kind: 'ignore', reason: `subtype:${subtype}` };
  }
  const parsed = userMessage.safeParse(event);
  if (!parsed.success) return { kind: 'invalid', reason: z.prettifyError(parsed.error) };
  const text = fromSlackText(parsed.data.text);
  if (text.length > MAX_TEXT) return { kind: 'invalid', reason: `text longer than ${MAX_TEXT} characters` };
  if (text.trim() === '') return { kind: 'ignore', reason: 'empty' };
  return { kind: 'message', message: { ...parsed.data, text } };
}

/** Where a person's message belongs: a reply in a staff thread we started, a DM turn, or neither. */
export type Route =
  | { kind: 'staff-reply'; threadId: string }
  | { kind: 'dm' }
  | { kind: 'ignore'; reason: string };

/**
 * Routes a message: in a thread whose root is one of our staff notices (`threadId`
 * found for its channel and thread_ts) it is a staff reply to that parent; otherwise a
 * direct message is a turn of the sender's conversation with the bot, and anything else
 * (channel chatter, a thread we did not start) is not for us.
 */
export function routeMessage(message: UserMessage, threadId: string | undefined): Route {
  const threaded = message.thread_ts !== undefined && message.thread_ts !== message.ts;
  if (threaded && threadId) return { kind: 'staff-reply', threadId };
  if (isDirect(message)) return { kind: 'dm' };
  return { kind: 'ignore', reason: threaded ? 'unknown-thread' : 'not-direct' };
}

function isDirect(message: UserMessage): boolean {
  return (
    message.channel_type === 'im' || (message.channel_type === undefined && message.channel.startsWith('D'))
  );
}

/** The inbound job of a routed message; `eventId` is the dedup key, the message ts its time. */
export function messageJob(eventId: string, message: UserMessage, route: Route): InboundJob | undefined {
  if (route.kind === 'ignore') return undefined;
  const base = {
    channel: 'slack' as const,
    messageId: eventId,
    senderId: message.user,
    text: message.text,
    at: tsToIso(message.ts),
  };
  if (route.kind === 'dm') return { ...base, conversationId: message.channel };
  // Replies in one Slack thread are handled in order; the parent is named by `thread`.
  return {
    ...base,
    conversationId: `${message.channel}:${message.thread_ts ?? message.ts}`,
    thread: route.threadId,
  };
}

/** The form body of a slash command (POST /webhooks/slack/commands). */
export const slashCommand = z.looseObject({
  command: z.string().regex(/^\/[\w-]{1,31}$/, 'a slash command like /skolebro'),
  text: z.string().max(2000).default(''),
  user_id: userId,
  channel_id: z.string().min(1),
  team_id: z.string().min(1),
  response_url: z.url().optional(),
  trigger_id: z.string().optional(),
});
export type SlashCommand = z.infer<typeof slashCommand>;

/** `ssl_check=1`: Slack checking the certificate of a command URL. Answered 200, nothing else. */
export const sslCheck = z.looseObject({ ssl_check: z.literal('1') });

/** The prefix of the action ids of our choice buttons (`choice:0`, `choice:1`, ...). */
export const CHOICE_ACTION = 'choice:';

const buttonAction = z.looseObject({
  type: z.literal('button'),
  action_id: z.string().min(1).max(255),
  block_id: z.string().optional(),
  value: z.string().max(2000).default(''),
  text: z.looseObject({ text: z.string() }).optional(),
  action_ts: messageTs.optional(),
});

/** The `payload` of an interactive request (POST /webhooks/slack/interactions): button clicks. */
export const interactionPayload = z.discriminatedUnion('type', [
  z.looseObject({
    type: z.literal('block_actions'),
    user: z.looseObject({ id: userId }),
    container: z.looseObject({ channel_id: channelId.optional(), message_ts: messageTs.optional() }),
    channel: z.looseObject({ id: channelId }).optional(),
    message: z.looseObject({ ts: messageTs }).optional(),
    actions: z.array(z.looseObject({ type: z.string(), action_id: z.string() })).min(1),
  }),
]);
export type InteractionPayload = z.infer<typeof interactionPayload>;
export type BlockActions = Extract<InteractionPayload, { type: 'block_actions' }>;

/**
 * The choice a button click picks, as an inbound job; undefined for a button that is not
 * one of our choices. The id is the message and button, so a double click is one turn.
 */
export function choiceJob(body: BlockActions, action: unknown, now: Date): InboundJob | undefined {
  const parsed = buttonAction.safeParse(action);
  if (!parsed.success || !parsed.data.action_id.startsWith(CHOICE_ACTION)) return undefined;
  const button = parsed.data;
  const channel = body.container.channel_id ?? body.channel?.id;
  const messageTs = body.container.message_ts ?? body.message?.ts;
  if (!channel || !messageTs) return undefined;
  return {
    channel: 'slack',
    messageId: `action:${channel}:${messageTs}:${button.action_id}`,
    conversationId: channel,
    senderId: body.user.id,
    text: (button.text?.text ?? button.value).slice(0, MAX_TEXT),
    choice: button.value.slice(0, 200),
    at: button.action_ts ? tsToIso(button.action_ts) : now.toISOString(),
  };
}

/** A Slack ts (seconds.micros) as an ISO date-time. */
export function tsToIso(ts: string): string {
  return new Date(Math.floor(Number(ts) * 1000)).toISOString();
}

/**
 * Slack's message markup as plain text for the dialogs and the translator: links
 * `<url|label>` become the label, `<url>` the url, `<@U…>` mentions `@U…`, `<!here>`
 * `@here`; then the three escaped characters are restored.
 */
export function fromSlackText(text: string): string {
  return text
    .replace(/<([^<>|]*)(?:\|([^<>]*))?>/g, (_, target: string, label?: string) => {
      if (label) return label;
      if (target.startsWith('@') || target.startsWith('#')) return target;
      if (target.startsWith('!')) return `@${target.slice(1).split('^')[0]}`;
      return target.replace(/^mailto:/, '');
    })
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
