import type { BroadcastJob, BroadcastTimerJob, OutboundJob } from '../queue/jobs.ts';

/**
 * What the worker calls into for broadcasts (src/worker.ts): the fan-out job, the
 * broadcast timers, and two hooks around each broadcast send in `deliver()`.
 */
export interface BroadcastHooks {
  /** Runs (or resumes) one announcement's fan-out. */
  fanOut(job: BroadcastJob): Promise<void>;
  /** The fan-out gave up for good: the announcement is marked failed, with the reason. */
  fanOutFailed(job: BroadcastJob, reason: string): Promise<void>;
  timer(job: BroadcastTimerJob): Promise<void>;
  /** False: do not send (the announcement was cancelled, or this try was overtaken). */
  beforeSend(job: OutboundJob): Promise<boolean>;
  /** The send's outcome; a failure moves the guardian on to their next channel. Idempotent. */
  afterSend(
    job: OutboundJob,
    outcome: { status: 'sent' | 'delivered' | 'read' | 'failed'; error?: string },
  ): Promise<void>;
}
