import { z } from 'zod';

/** An env var left empty (`TEAMS_APP_ID=`) counts as unset. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

/** The Azure Bot registration types the Bot Framework SDK knows (its `MicrosoftAppType`). */
export const TEAMS_APP_TYPES = ['MultiTenant', 'SingleTenant', 'UserAssignedMSI'] as const;
export type TeamsAppType = (typeof TEAMS_APP_TYPES)[number];

/**
 * The Teams settings, as fields to spread into `configSchema` in src/config.ts. The
 * adapter is on only when TEAMS_APP_ID is set; the other rules are in `checkTeamsConfig`.
 */
export const teamsConfigShape = {
  /** The bot's Microsoft App ID (Azure Bot registration): the audience inbound tokens must carry. Unset = Teams off. */
  TEAMS_APP_ID: optional(z.string().min(1)),
  /** Client secret of the app registration; required unless TEAMS_APP_TYPE=UserAssignedMSI. */
  TEAMS_APP_PASSWORD: optional(z.string().min(1)),
  /** How the bot registration authenticates. Default MultiTenant. */
  TEAMS_APP_TYPE: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.enum(TEAMS_APP_TYPES).default('MultiTenant'),
  ),
  /**
   * The school owner's Microsoft Entra tenant. Required for SingleTenant and UserAssignedMSI.
   * When set, activities from any other tenant are refused (403), whatever the app type.
   */
  TEAMS_TENANT_ID: optional(z.string().min(1)),
  /**
   * Where inbound JWTs' signing keys are published (the SDK's ToBotFromChannelOpenIdMetadataUrl).
   * Default: the SDK's public-cloud URL. Set only for tests (the fake connector) or a private cloud.
   */
  TEAMS_OPENID_METADATA_URL: optional(z.url()),
  /**
   * The token authority (the SDK's ToChannelFromBotLoginUrl), e.g.
   * https://login.microsoftonline.com/botframework.com; tokens come from `<it>/oauth2/v2.0/token`.
   * Default: unset, and the SDK's own credentials (MSAL) fetch tokens. Set only for tests or a private cloud.
   */
  TEAMS_LOGIN_URL: optional(z.url()),
  /**
   * Seconds between checks of a broadcast's progress card (`kunngjøring …` in the chat with
   * the bot); after 15 minutes it is checked once a minute. Default 5.
   */
  TEAMS_BROADCAST_PROGRESS_SECONDS: optional(z.coerce.number().min(0.1).max(3600)),
};

const shapeSchema = z.object(teamsConfigShape);
export type TeamsConfig = z.infer<typeof shapeSchema>;

/** The cross-field rules, for `configSchema.superRefine(checkTeamsConfig)`. Mirrors the SDK's own start-up asserts. */
export function checkTeamsConfig(c: Partial<TeamsConfig>, ctx: z.RefinementCtx): void {
  if (!c.TEAMS_APP_ID) {
    for (const key of ['TEAMS_APP_PASSWORD', 'TEAMS_TENANT_ID'] as const) {
      if (c[key])
        ctx.addIssue({ code: 'custom', path: ['TEAMS_APP_ID'], message: `required when ${key} is set` });
    }
    return;
  }
  const type = c.TEAMS_APP_TYPE ?? 'MultiTenant';
  if (type === 'UserAssignedMSI' && c.TEAMS_APP_PASSWORD) {
    ctx.addIssue({
      code: 'custom',
      path: ['TEAMS_APP_PASSWORD'],
      message: 'must be unset for UserAssignedMSI',
    });
  }
  if (type !== 'UserAssignedMSI' && !c.TEAMS_APP_PASSWORD) {
    ctx.addIssue({ code: 'custom', path: ['TEAMS_APP_PASSWORD'], message: `required for ${type}` });
  }
  if (type !== 'MultiTenant' && !c.TEAMS_TENANT_ID) {
    ctx.addIssue({ code: 'custom', path: ['TEAMS_TENANT_ID'], message: `required for ${type}` });
  }
  if (type === 'UserAssignedMSI' && c.TEAMS_LOGIN_URL) {
    ctx.addIssue({
      code: 'custom',
      path: ['TEAMS_LOGIN_URL'],
      message: 'a token authority override needs a client secret; not with UserAssignedMSI',
    });
  }
}

/** The fragment on its own, with its rules: for tests and until it is merged into src/config.ts. */
export const teamsConfigSchema = shapeSchema.superRefine(checkTeamsConfig);

/** What the adapter needs from the settings. */
export interface TeamsSettings {
  appId: string;
  /** Unset only for UserAssignedMSI. */
  appPassword?: string;
  appType: TeamsAppType;
  /** The only tenant whose activities are accepted, when set. */
  tenantId?: string;
  /** OpenID metadata of the channel's signing keys. Default: the SDK's public-cloud URL. */
  openIdMetadataUrl?: string;
  /** Token authority for outbound calls. Default: unset, the SDK's credentials (MSAL) are used. */
  loginUrl?: string;
  /** Timeout of one Bot Connector or token call, in ms. Default 10000. */
  timeoutMs?: number;
  /** Longest text sent in one Teams message; longer replies are split. Default 7000. */
  maxChars?: number;
  /** Between checks of a broadcast's progress card, in ms. Default 5000. */
  progressIntervalMs?: number;
}

/** The adapter's settings, or undefined when Teams is off (TEAMS_APP_ID unset). */
export function teamsSettings(c: TeamsConfig): TeamsSettings | undefined {
  if (!c.TEAMS_APP_ID) return undefined;
  const checked = teamsConfigSchema.safeParse(c);
  if (!checked.success) throw new Error(`configuration error:\n${z.prettifyError(checked.error)}`);
  return {
    appId: c.TEAMS_APP_ID,
    appType: c.TEAMS_APP_TYPE,
    ...(c.TEAMS_APP_PASSWORD ? { appPassword: c.TEAMS_APP_PASSWORD } : {}),
    ...(c.TEAMS_TENANT_ID ? { tenantId: c.TEAMS_TENANT_ID } : {}),
    ...(c.TEAMS_OPENID_METADATA_URL ? { openIdMetadataUrl: c.TEAMS_OPENID_METADATA_URL } : {}),
    ...(c.TEAMS_LOGIN_URL ? { loginUrl: c.TEAMS_LOGIN_URL.replace(/\/+$/, '') } : {}),
    ...(c.TEAMS_BROADCAST_PROGRESS_SECONDS
      ? { progressIntervalMs: Math.round(c.TEAMS_BROADCAST_PROGRESS_SECONDS * 1000) }
      : {}),
  };
}
