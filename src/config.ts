import { resolve } from 'node:path';
import { z } from 'zod';
import { checkSlackConfig, slackConfigShape } from '../adapters/slack/config.ts';
import { checkSmsConfig, smsConfigShape } from '../adapters/sms/config.ts';
import { checkTeamsConfig, teamsConfigShape } from '../adapters/teams/config.ts';
import { parseSchoolHours } from '../dialogs/relay.ts';
import { broadcastConfigShape } from './broadcast/config.ts';
import { translatorEnvShape } from './translation/config.ts';

const flag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** Every setting, with its default. Parsed once at start-up; a bad value stops the process with a readable message. */
export const configSchema = z
  .object({
    /** HTTP port of the web process. */
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    /** Interface to listen on; 0.0.0.0 in containers. */
    HOST: z.string().default('127.0.0.1'),
    /** Redis for queues and store; unset runs everything in one process, in memory (demo). */
    REDIS_URL: z.url().optional(),
    /**
     * Names every Redis key: the store under `<prefix>:`, the directory under `<prefix>:dir:`,
     * the queues under `{<prefix>}` (one Cluster hash tag, as BullMQ needs).
     */
    REDIS_KEY_PREFIX: z
      .string()
      .regex(/^[a-z0-9_-]+$/i, 'letters, digits, _ and - only')
      .default('skolebro'),
    /** Inbound queue partitions; one conversation always maps to one partition. Change only with queues drained. */
    INBOUND_PARTITIONS: z.coerce.number().int().min(1).max(1024).default(16),
    /** Outbound queue partitions per channel: how many sends per channel can be in flight at once. */
    OUTBOUND_PARTITIONS: z.coerce.number().int().min(1).max(256).default(16),
    /**
     * Per-channel send rate across all workers, e.g. `sms=10/1s,teams=50/1s` (messages per
     * window; windows in ms, s or min). A channel not named has no limiter: its 429s still
     * pause it for their Retry-After.
     */
    OUTBOUND_RATE_LIMITS: z
      .string()
      .default('')
      .transform((v, ctx) => {
        const limits: Partial<Record<'web' | 'sms' | 'slack' | 'teams', { max: number; duration: number }>> =
          {};
        for (const part of v
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean)) {
          const m = /^(web|sms|slack|teams)=(\d+)\/(\d*)(ms|s|min)$/.exec(part);
          if (!m) {
            ctx.addIssue({
              code: 'custom',
              message: `"${part}": expected channel=max/window, e.g. sms=10/1s`,
            });
            return z.NEVER;
          }
          const unit = { ms: 1, s: 1000, min: 60_000 }[m[4] as 'ms' | 's' | 'min'];
          limits[m[1] as 'sms'] = { max: Number(m[2]), duration: Number(m[3] || 1) * unit };
        }
        return limits;
      }),
    /**
     * How long a worker holds a job; a worker that dies mid-job has its job taken up
     * again after about this long. Shorter means faster recovery and more Redis traffic.
     */
    QUEUE_LOCK_MS: z.coerce.number().int().min(1000).default(30_000),
    /** A worker process reports not ready (/readyz 503) while an inbound message has waited longer than this. */
    QUEUE_STALL_SECONDS: z.coerce.number().int().positive().default(120),
    /** Days a conversation's messages and staff items are kept before the purge removes them. */
    RETENTION_DAYS: z.coerce.number().positive().default(180),
    /**
     * Where the school register comes from. `folder`: SCHOOL_DATA_DIR, loaded into each
     * process (demo, pilot). `redis`: what `skolebro import` loaded (a district); needs REDIS_URL.
     */
    DIRECTORY: z.enum(['folder', 'redis']).default('folder'),
    /** Folder with the school register (CSV) and calendars (ICS) loaded at start when no Redis is set. */
    SCHOOL_DATA_DIR: z.string().default('examples/demo-school'),
    LOCALES_DIR: z.string().default('locales'),
    /** pino level. */
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Intent confidence under which the bot asks a clarifying question instead of answering. */
    NLU_CLARIFY_BELOW: z.coerce.number().min(0).max(1).default(0.45),
    /** Offer sign-in as a demo parent on the web chat. Turn off in production. */
    WEB_DEMO_SIGNIN: flag.default(true),
    /** Minutes of school time after which a safety report or handoff nobody has opened goes to the office. */
    ESCALATE_AFTER_MINUTES: z.coerce.number().positive().default(30),
    /** School hours (Europe/Oslo, Monday–Friday) in which the escalation clock runs. */
    SCHOOL_HOURS: z
      .string()
      .default('08:00-16:00')
      .refine((v) => parseSchoolHours(v) !== undefined, 'HH:MM-HH:MM, opening before closing'),
    ...translatorEnvShape,
    ...smsConfigShape,
    ...slackConfigShape,
    ...broadcastConfigShape,
    ...teamsConfigShape,
    /** Largest request body accepted, in bytes. */
    BODY_LIMIT_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .default(64 * 1024),
  })
  .superRefine(checkSmsConfig)
  .superRefine(checkSlackConfig)
  .superRefine(checkTeamsConfig)
  .superRefine((c, ctx) => {
    if (c.DIRECTORY === 'redis' && !c.REDIS_URL)
      ctx.addIssue({ code: 'custom', path: ['DIRECTORY'], message: 'DIRECTORY=redis needs REDIS_URL' });
  });

export type Config = z.infer<typeof configSchema> & { root: string };

export function loadConfig(env: NodeJS.ProcessEnv = process.env, root = process.cwd()): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`configuration error:\n${z.prettifyError(parsed.error)}`);
  }
  const c = parsed.data;
  return {
    ...c,
    root,
    SCHOOL_DATA_DIR: resolve(root, c.SCHOOL_DATA_DIR),
    LOCALES_DIR: resolve(root, c.LOCALES_DIR),
  };
}
