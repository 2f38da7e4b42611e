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
  /**
   * The job as it is to be sent, its text from the announcement (broadcast jobs are queued
   * without it: one copy per language, not one per guardian); null: do not send (the
   * announcement is gone or was cancelled, or this try was overtaken).
   */
  prepare(job: OutboundJob): Promise<OutboundJob | null>;
  /** The send's outcome; a failure moves the guardian on to their next channel. Idempotent. */
  afterSend(
    job: OutboundJob,
    outcome: { status: 'sent' | 'delivered' | 'read' | 'failed'; error?: string },
  ): Promise<void>;
}
