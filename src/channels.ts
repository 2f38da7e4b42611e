import type { FastifyInstance } from 'fastify';
import type { OutboundJob } from './queue/jobs.ts';

/** What a channel can show; the renderer degrades from it (no silent no-ops). */
export interface Capabilities {
  /** Longest message the platform takes; longer replies are split. */
  maxChars: number;
  /** Quick-reply buttons; without them choices become a numbered list. */
  buttons: boolean;
  threads: boolean;
  edits: boolean;
  receipts: boolean;
}

export interface DeliveryReceipt {
  replyId: string;
  status: 'sent' | 'delivered' | 'failed';
  platformMessageId?: string;
  error?: string;
}

/** One per channel under adapters/: verify, normalise, enqueue on the way in; send on the way out. */
export interface ChannelAdapter {
  name: OutboundJob['channel'];
  capabilities: Capabilities;
  mount(app: FastifyInstance): void | Promise<void>;
  send(job: OutboundJob): Promise<DeliveryReceipt>;
}
