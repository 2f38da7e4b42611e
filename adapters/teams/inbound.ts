import { createHash } from 'node:crypto';
import { type Activity, TurnContext } from 'botbuilder';
import { z } from 'zod';
import { type InboundJob, MAX_TEXT } from '../../src/queue/jobs.ts';

/**
 * Reading Bot Framework activities from Teams: their zod shapes, the conversation
 * reference kept for proactive sends, and the inbound job a message becomes. Pure.
 */

/** Every activity type of the Bot Framework protocol; anything else is refused (400). */
export const ACTIVITY_TYPES = [
  'message',
  'conversationUpdate',
  'installationUpdate',
  'contactRelationUpdate',
  'typing',
  'endOfConversation',
  'event',
  'invoke',
  'invokeResponse',
  'deleteUserData',
  'messageUpdate',
  'messageDelete',
  'messageReaction',
  'suggestion',
  'trace',
  'handoff',
  'command',
  'commandResult',
] as const;

const account = z.looseObject({
  id: z.string().min(1).max(300),
  /** The user's Microsoft Entra object id: how the directory knows a Teams user. */
  aadObjectId: z.string().min(1).max(200).optional(),
  role: z.string().optional(),
});

const conversationAccount = z.looseObject({
  /** Personal chats `a:…`, channels `19:…@thread.tacv2`, a channel thread `…;messageid=<root id>`. */
  id: z.string().min(1).max(200),
  conversationType: z.string().optional(),
  tenantId: z.string().optional(),
  isGroup: z.boolean().optional(),
});

/** Fields every activity we act on has: the token was checked against `serviceUrl` and `channelId`. */
const common = {
  channelId: z.literal('msteams'),
  serviceUrl: z.url({ protocol: /^https?$/ }),
  from: account,
  recipient: account,
  conversation: conversationAccount,
  channelData: z.looseObject({ tenant: z.looseObject({ id: z.string() }).optional() }).optional(),
  locale: z.string().max(20).optional(),
};

export const messageActivity = z.looseObject({
  type: z.literal('message'),
  /** Teams message ids are unique within a conversation only (they are timestamps). */
  id: z.string().min(1).max(150),
  ...common,
  text: z.string().max(MAX_TEXT).optional(),
  /** An Adaptive Card's Action.Submit data. */
  value: z.unknown().optional(),
  /** The message this one answers, in a reply chain. */
  replyToId: z.string().max(200).optional(),
  entities: z
    .array(
      z.looseObject({
        type: z.string(),
        text: z.string().optional(),
        mentioned: z.looseObject({ id: z.string() }).optional(),
      }),
    )
    .optional(),
});

export const conversationUpdateActivity = z.looseObject({
  type: z.literal('conversationUpdate'),
  id: z.string().max(150).optional(),
  ...common,
  membersAdded: z.array(account).optional(),
  membersRemoved: z.array(account).optional(),
});

export const installationUpdateActivity = z.looseObject({
  type: z.literal('installationUpdate'),
  id: z.string().max(150).optional(),
  ...common,
  /** add, remove, add-upgrade, remove-upgrade. */
  action: z.string().optional(),
});

export type MessageActivity = z.infer<typeof messageActivity>;
type MemberUpdate = z.infer<typeof conversationUpdateActivity> | z.infer<typeof installationUpdateActivity>;
type Parsed = MessageActivity | MemberUpdate | { type: 'ignored'; original: string };

/** What the route answers with a body it cannot take. */
export interface Refusal {
  error: 'invalid_activity' | 'activity_unknown';
  message: string;
}

/** The activity as one of the shapes we act on, an ignored known type, or the reason it is refused. Pure. */
export function parseActivity(
  body: unknown,
): { ok: true; activity: Parsed } | { ok: false; refusal: Refusal } {
  const type = (body as { type?: unknown } | null)?.type;
  if (typeof body !== 'object' || body === null || Array.isArray(body) || typeof type !== 'string') {
    return {
      ok: false,
      refusal: { error: 'invalid_activity', message: 'Expected an activity object with a type.' },
    };
  }
  if (!(ACTIVITY_TYPES as readonly string[]).includes(type)) {
    return {
      ok: false,
      refusal: {
        error: 'activity_unknown',
        message: `Unknown activity type ${JSON.stringify(type.slice(0, 40))}.`,
      },
    };
  }
  const schema =
    type === 'message'
      ? messageActivity
      : type === 'conversationUpdate'
        ? conversationUpdateActivity
        : type === 'installationUpdate'
          ? installationUpdateActivity
          : undefined;
  if (!schema) return { ok: true, activity: { type: 'ignored', original: type } };
  const result = schema.safeParse(body);
  if (!result.success) {
    return { ok: false, refusal: { error: 'invalid_activity', message: z.prettifyError(result.error) } };
  }
  return { ok: true, activity: result.data };
}

/**
 * What is kept to message a conversation later: TurnContext.getConversationReference,
 * without display names (they are personal data the sends do not need).
 */
export interface TeamsReference {
  v: 1;
  channelId: 'msteams';
  serviceUrl: string;
  conversation: { id: string; conversationType?: string; tenantId?: string; isGroup?: boolean };
  user: { id: string; aadObjectId?: string };
  bot: { id: string };
  locale?: string;
}

export const teamsReference = z.object({
  v: z.literal(1),
  channelId: z.literal('msteams'),
  serviceUrl: z.string(),
  conversation: z.object({
    id: z.string(),
    conversationType: z.string().optional(),
    tenantId: z.string().optional(),
    isGroup: z.boolean().optional(),
  }),
  user: z.object({ id: z.string(), aadObjectId: z.string().optional() }),
  bot: z.object({ id: z.string() }),
  locale: z.string().optional(),
}) satisfies z.ZodType<TeamsReference>;

/** The conversation reference of an inbound activity (the SDK's shape, trimmed). Pure. */
export function referenceOf(activity: MessageActivity | MemberUpdate): TeamsReference {
  const ref = TurnContext.getConversationReference(activity as unknown as Partial<Activity>);
  const conversation = activity.conversation;
  const tenantId = conversation.tenantId ?? activity.channelData?.tenant?.id;
  const user = activity.from;
  return {
    v: 1,
    channelId: 'msteams',
    serviceUrl: ref.serviceUrl ?? activity.serviceUrl,
    conversation: {
      id: conversation.id,
      ...(conversation.conversationType ? { conversationType: conversation.conversationType } : {}),
      ...(tenantId ? { tenantId } : {}),
      ...(conversation.isGroup !== undefined ? { isGroup: conversation.isGroup } : {}),
    },
    user: { id: user.id, ...(user.aadObjectId ? { aadObjectId: user.aadObjectId } : {}) },
    bot: { id: ref.bot?.id ?? activity.recipient.id },
    ...(activity.locale ? { locale: activity.locale } : {}),
  };
}

/** The tenant an activity comes from, if it says. */
export function tenantOf(activity: MessageActivity | MemberUpdate): string | undefined {
  return activity.conversation.tenantId ?? activity.channelData?.tenant?.id;
}

/** A conversation id without its `;messageid=` thread suffix. */
export function conversationBase(conversationId: string): string {
  const at = conversationId.indexOf(';');
  return at < 0 ? conversationId : conversationId.slice(0, at);
}

/**
 * Activity ids a message may answer, nearest first: the message it replies to
 * (`replyToId`), then the root of its channel thread (`;messageid=` in the conversation id).
 */
export function replyChain(activity: Pick<MessageActivity, 'replyToId' | 'conversation'>): string[] {
  const root = /;messageid=([^;]+)/.exec(activity.conversation.id)?.[1];
  return [...new Set([activity.replyToId, root].filter((id): id is string => Boolean(id)))];
}

/**
 * The inbound job's message id. Teams message ids are only unique within a conversation
 * (they are millisecond timestamps), so the conversation is folded in: two parents
 * writing in the same millisecond must not be taken for one retried delivery.
 */
export function teamsMessageId(activityId: string, conversationId: string): string {
  const conversation = createHash('sha256').update(conversationBase(conversationId)).digest('base64url');
  return `${activityId}@${conversation.slice(0, 12)}`;
}

/** Our Action.Submit data, sent back as the message's `value`. */
const submitValue = z.object({ choice: z.string().min(1).max(200), label: z.string().max(200).optional() });

/** The message's text, the bot's own @mention taken out (in channels it begins every message to the bot). */
export function withoutBotMention(activity: MessageActivity): string {
  let text = activity.text ?? '';
  for (const e of activity.entities ?? []) {
    if (e.type === 'mention' && e.mentioned?.id === activity.recipient.id && e.text) {
      text = text.split(e.text).join(' ');
    }
  }
  return text.replace(/[^\S\n]+/g, ' ').trim();
}

/**
 * The inbound job of a message, or undefined for one with nothing to act on (only an
 * image, say). `thread` is the Skolebro thread its reply chain leads to, if any. Pure.
 */
export function inboundJobOf(
  activity: MessageActivity,
  opts: { at: Date; thread?: string },
): InboundJob | undefined {
  const submit = submitValue.safeParse(activity.value);
  const choice = submit.success ? submit.data.choice : undefined;
  const text = withoutBotMention(activity) || (submit.success ? (submit.data.label ?? '') : '');
  if (!text && choice === undefined) return undefined;
  return {
    channel: 'teams',
    messageId: teamsMessageId(activity.id, activity.conversation.id),
    conversationId: activity.conversation.id,
    senderId: activity.from.aadObjectId ?? activity.from.id,
    text,
    ...(choice !== undefined && !opts.thread ? { choice } : {}),
    ...(opts.thread ? { thread: opts.thread } : {}),
    at: opts.at.toISOString(),
  };
}

/** Whether a member update means the bot was added to (or removed from) the conversation. */
export function installation(activity: MemberUpdate): 'added' | 'removed' | undefined {
  if (activity.type === 'installationUpdate') {
    if (activity.action?.startsWith('add')) return 'added';
    // `remove-upgrade` is an upgrade of an app that stays installed, not an uninstall.
    if (activity.action === 'remove') return 'removed';
    return undefined;
  }
  const bot = activity.recipient.id;
  if (activity.membersRemoved?.some((m) => m.id === bot)) return 'removed';
  // Any other member update still proves the conversation exists; keep its reference fresh.
  return 'added';
}
