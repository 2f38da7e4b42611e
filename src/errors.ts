/**
 * Every failure Skolebro names, in one place. A code is stable (logs, metrics and
 * dashboards key on it); the message is for people. Add new codes here.
 */
export const ErrorCode = {
  /** A queue job did not match its zod schema: poison, dead-lettered, never retried. */
  JobSchema: 'job_schema',
  /** No adapter is mounted for the channel a job names. */
  ChannelUnknown: 'channel_unknown',
  /** The platform refused the address (unknown number, deleted user): retrying cannot help. */
  AddressInvalid: 'address_invalid',
  /** The recipient opted out (SMS STOP, blocked bot): never retried. */
  OptedOut: 'opted_out',
  /** The platform asked us to slow down (HTTP 429). */
  RateLimited: 'rate_limited',
  /** The platform or a dependency is briefly unavailable (5xx, timeout, connection reset). */
  Unavailable: 'unavailable',
  /** A bad setting or option, found at start-up. */
  Config: 'config',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface ErrorOptions {
  /** Facts for the log: ids, counts, statuses. Never message text or phone numbers. */
  context?: Record<string, unknown>;
  cause?: unknown;
}

/**
 * Base of every coded error. `retryable` tells a queue whether another attempt
 * may succeed; `context` carries ids for the log, never personal content.
 */
export class SkolebroError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly context: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, retryable: boolean, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SkolebroError';
    this.code = code;
    this.retryable = retryable;
    this.context = options.context ?? {};
  }
}

/** A failure another attempt cannot fix (bad address, opt-out, invalid job): not retried. */
export class PermanentError extends SkolebroError {
  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(code, message, false, options);
    this.name = 'PermanentError';
  }
}

/** A failure that may pass (timeout, 5xx, 429): retried with exponential backoff. */
export class TransientError extends SkolebroError {
  /** The platform's Retry-After, in ms: the queue pauses the channel that long instead of backing off. */
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options: ErrorOptions & { retryAfterMs?: number } = {}) {
    super(code, message, true, options);
    this.name = 'TransientError';
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** The Retry-After a failure asks for, if it carries one. */
export function retryAfterOf(err: unknown): number | undefined {
  return err instanceof TransientError && err.retryAfterMs !== undefined && err.retryAfterMs > 0
    ? err.retryAfterMs
    : undefined;
}

/**
 * Whether a failed job should be tried again. Uncoded errors count as retryable:
 * handlers are idempotent, so a wasted retry costs less than a dropped message.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof SkolebroError) return err.retryable;
  // bullmq's "don't retry" marker, matched by name so that it works across module copies.
  if (err instanceof Error && err.name === 'UnrecoverableError') return false;
  return true;
}

/**
 * A Retry-After header as ms from `now`: delta-seconds (as platforms send them, fractions
 * allowed) or an HTTP date. Undefined when absent or unreadable.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: Date | number = Date.now(),
): number | undefined {
  if (value == null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  const from = typeof now === 'number' ? now : now.getTime();
  return Number.isNaN(date) ? undefined : Math.max(0, date - from);
}
