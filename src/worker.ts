import { codeIn } from '../dialogs/verify.ts';
import type { BroadcastHooks } from './broadcast/hooks.ts';
import type { ChannelAdapter } from './channels.ts';
import type { DirectoryReader } from './directory/directory.ts';
import type { OneTimeCodes } from './directory/verification.ts';
import { initialState, persist, restore } from './engine/state.ts';
import { step } from './engine/step.ts';
import type { Action, ConversationState, Person, StepContext, Turn } from './engine/types.ts';
import { isRetryable, SkolebroError } from './errors.ts';
import type { Renderer } from './i18n/render.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';
import type { Nlu } from './nlu/index.ts';
import type { JobBus, JobHandlers } from './queue/bus.ts';
import type { InboundJob, OutboundJob } from './queue/jobs.ts';
import { escalationDue, fromStaff, type RelayDeps, toStaff } from './relay.ts';
import type { Store } from './store/store.ts';

export interface WorkerDeps extends RelayDeps {
  bus: JobBus;
  store: Store;
  directory: DirectoryReader;
  nlu: Nlu;
  renderer: Renderer;
  context: Pick<StepContext, 'keywords' | 'languages' | 'clarifyBelow'>;
  adapters: Map<string, ChannelAdapter>;
  log: Logger;
  metrics?: Metrics;
  /** One-time codes that link a new channel account to a guardian. */
  codes: OneTimeCodes;
  /** Broadcasts (src/broadcast/): fan-out, timers and delivery tracking. Unset: none run here. */
  broadcasts?: BroadcastHooks;
  now?: () => Date;
}

/**
 * The imperative shell around the engine: identify the sender, analyse the text,
 * run one pure step, save the state, and carry out the actions. Every effect has an
 * id derived from the inbound message id, so a redelivered job repeats nothing.
 */
export function createHandlers(deps: WorkerDeps): JobHandlers {
  // Jobs come parsed: both buses hand handlers only what passed the job's schema.
  return {
    inbound: async (job) =>
      job.thread ? fromStaff(deps, { ...job, thread: job.thread }) : handleTurn(deps, job),
    outbound: async (job) => deliver(deps, job),
    timer: async (job) => {
      if (job.kind === 'escalation') return escalationDue(deps, job);
      // Looked up per job, not at start: the broadcast hooks may be attached after the handlers.
      if (!deps.broadcasts) throw new Error('a broadcast timer came, but broadcasts are not set up');
      return deps.broadcasts.timer(job);
    },
    broadcast: async (job) => {
      if (!deps.broadcasts) throw new Error('a broadcast came, but broadcasts are not set up');
      return deps.broadcasts.fanOut(job);
    },
    broadcastFailed: async (job, reason) => deps.broadcasts?.fanOutFailed(job, reason),
  };
}

/** Hands a reply to its channel and keeps the receipt; a refusal that cannot pass is kept as `failed`. */
async function deliver(deps: WorkerDeps, queued: OutboundJob): Promise<void> {
  let job = queued;
  const adapter = deps.adapters.get(job.channel);
  if (!adapter) throw new Error(`no adapter for channel ${job.channel}`);
  const at = () => (deps.now?.() ?? new Date()).toISOString();
  // A redelivered job whose send went through before the worker died: done already.
  // What remains is the crash between the platform accepting and this receipt being
  // written; there a send can repeat, and only the channel's own dedup can catch it.
  const earlier = await deps.store.receipt(job.replyId);
  if (earlier && earlier.status !== 'failed') {
    // Broadcast hook: catches the tracking up after a crash between the receipt and it.
    if (job.broadcast) await deps.broadcasts?.afterSend(job, { status: earlier.status });
    return;
  }
  // Broadcast hook: the text from the announcement; a cancelled announcement, or a try
  // already overtaken (fallback), is not sent.
  const tracked = job.broadcast ? deps.broadcasts : undefined;
  if (tracked) {
    const prepared = await tracked.prepare(job);
    if (!prepared) return;
    job = prepared;
  }
  let status: 'sent' | 'delivered' | 'failed';
  try {
    const receipt = await adapter.send(job);
    await deps.store.recordReceipt({ ...receipt, channel: job.channel, at: at() });
    deps.metrics?.sends.inc({ channel: job.channel, status: receipt.status });
    status = receipt.status;
  } catch (err) {
    if (isRetryable(err)) throw err;
    const error = err instanceof SkolebroError ? err.code : 'error';
    await deps.store.recordReceipt({
      replyId: job.replyId,
      channel: job.channel,
      status: 'failed',
      error,
      at: at(),
    });
    deps.metrics?.sends.inc({ channel: job.channel, status: 'failed' });
    // Broadcast hook: the guardian's next registered channel is tried.
    await tracked?.afterSend(job, { status: 'failed', error });
    throw err;
  }
  await tracked?.afterSend(job, { status });
}

export async function handleTurn(deps: WorkerDeps, job: InboundJob): Promise<void> {
  const { store, directory, nlu, log } = deps;
  const conversationKey = `${job.channel}:${job.conversationId}`;
  // A redelivery of a committed turn (worker killed after the commit, before the ack).
  const { done, state: stored } = await store.loadTurn(conversationKey, job.messageId);
  if (done) return;
  let person = await identify(deps, job);
  const state = stored ? restore(stored) : initialState(person.preferredLang ?? null);
  const analysis = nlu.analyze(job.text, state.lang ?? person.preferredLang);
  const verification = await checkCode(deps, job, state);
  if (verification === 'linked') person = await identify(deps, job);
  const turn: Turn = {
    id: job.messageId,
    at: job.at,
    text: job.text,
    analysis,
    ...(job.choice ? { choice: job.choice } : {}),
    ...(verification ? { verification } : {}),
  };
  const view = await directory.view(person);
  const ctx: StepContext = { ...deps.context, person, directory: view };
  const result = step(state, turn, ctx);

  // Effects first, each under an id derived from this message; then state and done mark
  // together. A crash in between replays the same step from the old state, and the ids
  // make the redone effects no-ops.
  let replyIndex = 0;
  for (const [i, action] of result.actions.entries()) {
    if (action.type === 'reply') await reply(deps, job, action, replyIndex++);
    else if (action.type === 'sendCode') await sendCode(deps, job, action.phone);
    else if (action.type !== 'setLanguage')
      await toStaff(deps, job, person, result.state.lang ?? analysis.lang, action, i);
  }
  await store.commitTurn(conversationKey, job.messageId, persist(result.state));
  const seconds = ((deps.now?.() ?? new Date()).getTime() - Date.parse(job.at)) / 1000;
  deps.metrics?.turnSeconds.observe({ channel: job.channel }, Math.max(0, seconds));
  log.info(
    {
      channel: job.channel,
      intent: analysis.intent,
      confidence: round(analysis.confidence),
      lang: analysis.lang,
      actions: result.actions.map((a) => a.type),
    },
    'turn',
  );
}

/** The person behind a channel account: a link made with a one-time code first, then the register. */
async function identify(deps: WorkerDeps, job: InboundJob): Promise<Person> {
  const linked = await deps.store.linkedPerson(job.channel, job.senderId);
  const guardian = linked ? await deps.directory.guardian(linked) : undefined;
  if (guardian)
    return { kind: 'guardian', id: guardian.id, name: guardian.name, preferredLang: guardian.preferredLang };
  return deps.directory.identify(job.channel, job.senderId);
}

/** A code written while the verify dialog waits for one: checked (once per message) and, if right, the account linked. */
async function checkCode(deps: WorkerDeps, job: InboundJob, state: ConversationState) {
  if (state.active?.name !== 'verify' || state.active.step !== 'code') return undefined;
  const code = codeIn(job.text);
  if (!code) return undefined;
  const checked = await deps.codes.check(`${job.channel}:${job.senderId}`, code, job.messageId);
  if (checked.result === 'linked') {
    await deps.store.linkIdentity(job.channel, job.senderId, checked.guardianId);
    deps.log.info({ channel: job.channel }, 'channel account linked to a guardian');
  }
  return checked.result;
}

/** Texts a one-time code to a registered guardian's phone; an unregistered number gets nothing, and nobody is told. */
async function sendCode(deps: WorkerDeps, job: InboundJob, phone: string) {
  const holder = await deps.directory.identify('sms', phone);
  if (holder.kind !== 'guardian') return;
  if (!deps.adapters.has('sms')) {
    deps.log.warn('a one-time code was asked for, but SMS is not configured');
    return;
  }
  const code = await deps.codes.issue(`${job.channel}:${job.senderId}`, phone, holder.id, job.messageId);
  if (!code) {
    deps.log.warn({ channel: job.channel }, 'one-time code refused: rate limit');
    return;
  }
  const lang = holder.preferredLang ?? 'nb';
  await deps.bus.enqueueOutbound({
    channel: 'sms',
    replyId: `${job.channel}:${job.messageId}:code`,
    conversationId: phone,
    lang,
    dir: deps.renderer.dir(lang),
    text: deps.renderer.reply(lang, [{ key: 'verify.smsCode', params: { code } }]),
    choices: [],
  });
}

async function reply(
  deps: WorkerDeps,
  job: InboundJob,
  action: Extract<Action, { type: 'reply' }>,
  index: number,
) {
  const { renderer } = deps;
  const out: OutboundJob = {
    channel: job.channel,
    replyId: `${job.channel}:${job.messageId}:r${index}`,
    conversationId: job.conversationId,
    lang: action.lang,
    dir: renderer.dir(action.lang),
    text: renderer.reply(action.lang, action.say),
    choices: (action.choices ?? []).map((c) => ({
      value: c.value,
      label: renderer.label(action.lang, c.label),
    })),
  };
  await deps.bus.enqueueOutbound(out);
}

const round = (n: number) => Math.round(n * 100) / 100;
