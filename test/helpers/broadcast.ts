import { join } from 'node:path';
import { MemoryAudience } from '../../src/broadcast/audience.ts';
import { BroadcastService, type ProgressView } from '../../src/broadcast/service.ts';
import { MemoryBroadcastStore } from '../../src/broadcast/store.ts';
import { loadBroadcastTexts } from '../../src/broadcast/texts.ts';
import { createLogger } from '../../src/log.ts';
import type { JobBus } from '../../src/queue/bus.ts';
import type { AnyTimerJob, OutboundJob } from '../../src/queue/jobs.ts';
import type { Translator } from '../../src/translation/types.ts';
import { data, ROOT } from './world.ts';

/**
 * The real broadcast service over the demo school, for the chat adapters' broadcast tests
 * (Slack, Teams): a bus that records, a Translator that marks each text with its language,
 * and a progress view to render.
 */

/** A bus that records the outbound jobs; the rest is accepted and dropped. */
export class RecordingBus implements JobBus {
  readonly outbound: OutboundJob[] = [];
  async enqueueInbound() {
    return { duplicate: false };
  }
  async enqueueOutbound(job: OutboundJob) {
    this.outbound.push(job);
  }
  async enqueueOutboundBulk(jobs: readonly OutboundJob[]) {
    this.outbound.push(...jobs);
  }
  async enqueueBroadcast() {}
  async schedule(_job: AnyTimerJob) {}
  start() {}
  async close() {}
}

/**
 * A Translator that writes `[<lang>] <text>`. With `gated`, the draft's translation waits
 * until `open()` is called, so a test can see what happens before it is back.
 */
export function markingTranslator(opts: { gated?: boolean } = {}): {
  translator: Translator;
  open: () => void;
} {
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  if (!opts.gated) open();
  const translator: Translator = {
    detect: async (t) => t.map(() => ({ language: 'nb', score: 1, isTranslationSupported: true })),
    translate: async (t, to) =>
      t.map((text) => ({ text: `[${to}] ${text}`, translated: true, from: 'nb', to })),
    translateMany: async (t, targets) => {
      await gate;
      return t.map((text) =>
        targets.map((to) => ({ text: `[${to}] ${text}`, translated: true, from: 'nb', to })),
      );
    },
  };
  return { translator, open };
}

/** The broadcast service over the demo school in memory: SMS (with receipts) and web, ids `bc1`, `bc2`, … */
export function demoBroadcastService(translator: Translator): {
  service: BroadcastService;
  bus: RecordingBus;
} {
  const bus = new RecordingBus();
  let n = 0;
  const service = new BroadcastService({
    store: new MemoryBroadcastStore(),
    source: new MemoryAudience(data),
    bus,
    translator,
    channels: () => [
      { name: 'sms', capabilities: { receipts: true } },
      { name: 'web', capabilities: { receipts: false } },
    ],
    settings: { receiptTimeoutMs: 60_000, smsSegmentsPerSecond: 10, batch: 100, pricePerSegmentNok: 0.6 },
    texts: loadBroadcastTexts(join(ROOT, 'locales')),
    log: createLogger('silent'),
    now: () => new Date(),
    newId: () => `bc${++n}`,
  });
  return { service, bus };
}

/** The demo school's staff member with account `id` on a platform, with their language: what `staffOf` gives. */
export const demoStaffOf =
  (account: 'slackId' | 'teamsId') =>
  async (id: string): Promise<{ id: string; lang?: string } | undefined> => {
    const s = data.staff.find((x) => x[account] === id);
    return s ? { id: s.id, lang: s.preferredLang } : undefined;
  };

/** A progress view: sending has begun, nothing tracked yet; `over` sets the rest. */
export const progressView = (over: Partial<ProgressView> = {}): ProgressView => ({
  id: 'bc123',
  status: 'sending',
  fannedOut: false,
  guardians: 0,
  byStatus: {},
  byChannel: {},
  byLang: {},
  smsOptedOut: 0,
  settled: false,
  notReached: [],
  ...over,
});

/** Past a flow's 10 ms interval, so a followed message is due again, then one round of checks. */
export async function nextCheck(flow: { tick(): Promise<void> }): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 20));
  await flow.tick();
}
