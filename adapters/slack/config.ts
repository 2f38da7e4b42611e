import { z } from 'zod';

/** An env var left empty (`SLACK_STAFF_CHANNEL=`) counts as unset. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema.optional());

export const DEFAULT_SLACK_API_BASE_URL = 'https://slack.com/api/';

/**
 * The Slack settings, as fields to spread into `configSchema` in src/config.ts. The
 * adapter is on only when both SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN are set (see
 * `checkSlackConfig`).
 */
export const slackConfigShape = {
  /** The app's signing secret (Basic Information page): requests are verified with it. Unset = Slack off. */
  SLACK_SIGNING_SECRET: optional(z.string().min(8)),
  /** The bot token (xoxb-…) the Web API is called with. Unset = Slack off. */
  SLACK_BOT_TOKEN: optional(z.string().regex(/^xox[a-z]-\S+$/, 'a Slack token like xoxb-…')),
  /** Web API base URL, ending in /api/; another URL for a fake or a proxy. Default https://slack.com/api/. */
  SLACK_API_BASE_URL: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.url().default(DEFAULT_SLACK_API_BASE_URL),
  ),
  /**
   * A channel id (C…/G…) where staff notices are threaded, one thread per parent
   * conversation, with the staff member mentioned. Unset (the default): each staff
   * member gets the notices in their own DM with the bot.
   */
  SLACK_STAFF_CHANNEL: optional(z.string().regex(/^[CG][A-Z0-9]{2,}$/, 'a channel id like C0123ABCD')),
  /**
   * Seconds between checks of a broadcast's progress message (`/skolebro kunngjøring`);
   * after 15 minutes it is checked once a minute. Default 5.
   */
  SLACK_BROADCAST_PROGRESS_SECONDS: optional(z.coerce.number().min(0.1).max(3600)),
};

const shapeSchema = z.object(slackConfigShape);
export type SlackConfig = z.infer<typeof shapeSchema>;

/** The cross-field rule, for `configSchema.superRefine(checkSlackConfig)`. */
export function checkSlackConfig(c: Partial<SlackConfig>, ctx: z.RefinementCtx): void {
  const secret = Boolean(c.SLACK_SIGNING_SECRET);
  const token = Boolean(c.SLACK_BOT_TOKEN);
  if (secret !== token) {
    ctx.addIssue({
      code: 'custom',
      path: [secret ? 'SLACK_BOT_TOKEN' : 'SLACK_SIGNING_SECRET'],
      message: 'set both SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN, or neither',
    });
  }
}

/** The fragment on its own, with its rule: for tests and until it is merged into src/config.ts. */
export const slackConfigSchema = shapeSchema.superRefine(checkSlackConfig);

/** What the adapter needs from the settings. */
export interface SlackSettings {
  signingSecret: string;
  botToken: string;
  /** Web API base URL, with a trailing slash. */
  apiBaseUrl: string;
  /** Channel for staff threads; unset = DMs. */
  staffChannel?: string;
  /** Timeout of one Web API call, in ms. Default 10000. */
  timeoutMs?: number;
  /** The slash command answered with help. Default `/skolebro`. */
  command?: string;
  /** Between checks of a broadcast progress message, in ms. Default 5000. */
  progressIntervalMs?: number;
}

/** The adapter's settings, or undefined when Slack is off (signing secret or bot token unset). */
export function slackSettings(c: SlackConfig): SlackSettings | undefined {
  if (!c.SLACK_SIGNING_SECRET || !c.SLACK_BOT_TOKEN) return undefined;
  return {
    signingSecret: c.SLACK_SIGNING_SECRET,
    botToken: c.SLACK_BOT_TOKEN,
    apiBaseUrl: c.SLACK_API_BASE_URL.endsWith('/') ? c.SLACK_API_BASE_URL : `${c.SLACK_API_BASE_URL}/`,
    ...(c.SLACK_STAFF_CHANNEL ? { staffChannel: c.SLACK_STAFF_CHANNEL } : {}),
    ...(c.SLACK_BROADCAST_PROGRESS_SECONDS
      ? { progressIntervalMs: Math.round(c.SLACK_BROADCAST_PROGRESS_SECONDS * 1000) }
      : {}),
  };
}
