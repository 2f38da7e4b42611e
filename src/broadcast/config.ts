import { z } from 'zod';
import { parseQuietHours } from './schedule.ts';

/**
 * Broadcast settings, as fields to spread into `configSchema` in src/config.ts. Each
 * documents its default.
 */
export const broadcastConfigShape = {
  /**
   * Local time (Europe/Oslo) in which no broadcast SMS is sent; SMS due then wait for the
   * end. `HH:MM-HH:MM`, may wrap over midnight; `off` for none. Default 21:00-07:00.
   */
  BROADCAST_QUIET_HOURS: z
    .string()
    .default('21:00-07:00')
    .refine((v) => v === 'off' || parseQuietHours(v) !== undefined, 'HH:MM-HH:MM (e.g. 21:00-07:00) or off'),
  /**
   * Minutes a broadcast message on a channel with delivery receipts (SMS) may stay
   * unconfirmed before the guardian's next channel is tried. Default 30.
   */
  BROADCAST_RECEIPT_TIMEOUT_MINUTES: z.coerce.number().positive().default(30),
  /** Guardians per fan-out batch (one addBulk and one cursor step each). Default 1000. */
  BROADCAST_BATCH: z.coerce.number().int().min(1).max(10_000).default(1000),
};

const schema = z.object(broadcastConfigShape);
export type BroadcastConfig = z.infer<typeof schema>;

/** The defaults, for callers without the full config (CLI, tests). */
export const DEFAULT_BROADCAST_CONFIG: BroadcastConfig = schema.parse({});

/** Parses the broadcast part of an environment (the keys above); a bad value throws a readable error. */
export function broadcastConfig(env: Record<string, unknown>): BroadcastConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) throw new Error(`broadcast configuration:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
