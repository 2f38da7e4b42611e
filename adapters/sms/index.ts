import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ChannelAdapter, DeliveryReceipt } from '../../src/channels.ts';
import { ErrorCode, PermanentError, TransientError } from '../../src/errors.ts';
import type { Logger } from '../../src/log.ts';
import type { JobBus } from '../../src/queue/bus.ts';
import type { OutboundJob } from '../../src/queue/jobs.ts';
import type { SmsSettings } from './config.ts';
import {
  E164,
  inboundPayload,
  receiptFromStatus,
  type SmsReceipt,
  statusPayload,
  statusQuery,
  twiml,
} from './inbound.ts';
import { matchKeyword, replyLanguage, type SmsKeyword, type SmsTexts, smsMessage } from './keywords.ts';
import type { OptOuts } from './opt-outs.ts';
import { createMessage, type MessagesApi } from './outbound.ts';
import type { SegmentPacer } from './pace.ts';
import { countSegments } from './segments.ts';
import { optionNumber, renderSms } from './split.ts';
import type { SmsState } from './state.ts';
import { signedUrl, verifyTwilioSignature } from './verify.ts';

export { type SmsSettings, smsConfigShape, smsSettings } from './config.ts';
export type { SmsReceipt } from './inbound.ts';
export { loadSmsTexts, type SmsTexts } from './keywords.ts';
export { MemoryOptOuts, type OptOuts, RedisOptOuts } from './opt-outs.ts';
export { MemorySegmentPacer, RedisSegmentPacer, type SegmentPacer } from './pace.ts';
export { type CostEstimate, countSegments, estimateCost, type SegmentCount } from './segments.ts';
export { MemorySmsState, RedisSmsState, type SmsState } from './state.ts';

export const INBOUND_PATH = '/webhooks/sms';
export const STATUS_PATH = '/webhooks/sms/status';
/** Twilio concatenates a message of up to 1600 characters on the handset. */
export const DEFAULT_MAX_CHARS = 1600;
const DEFAULT_TIMEOUT_MS = 10_000;

export interface SmsAdapterDeps {
  settings: SmsSettings;
  bus: Pick<JobBus, 'enqueueInbound'>;
  optOuts: OptOuts;
  /** Options offered per phone and parts already sent (Redis in production). */
  state: SmsState;
  /** Keywords and reply texts from the `sms` section of locales/<lang>/ui.json. */
  texts: SmsTexts;
  /**
   * The sender's segment budget, shared by every worker (Redis in production). Default:
   * none, sends are not paced (tests that call `send()` directly).
   */
  pace?: SegmentPacer;
  /** Receives status callbacks and permanent send failures. Default: dropped. */
  onReceipt?: (receipt: SmsReceipt) => void | Promise<void>;
  /** The language of the person behind a phone, for keyword replies (e.g. from the directory). */
  languageOf?: (phone: string) => Promise<string | undefined>;
  /** Language of keyword replies to an unknown number whose keyword several languages share. Default nb. */
  defaultLang?: string;
  now?: () => Date;
  fetch?: typeof fetch;
  log?: Logger;
}

/**
 * SMS over a Twilio-compatible Messages API. The webhook verifies the signature,
 * answers STOP/START/HELP itself, maps a numbered reply back to the choice offered,
 * enqueues everything else and answers with empty TwiML. `send()` refuses opted-out
 * numbers, renders choices as numbered options, splits long text, paces each part by
 * its segments and classifies errors.
 */
export function smsAdapter(deps: SmsAdapterDeps): ChannelAdapter {
  const { settings, texts, optOuts, state } = deps;
  const now = deps.now ?? (() => new Date());
  const maxChars = settings.maxChars ?? DEFAULT_MAX_CHARS;
  const defaultLang = deps.defaultLang ?? 'nb';
  const api: MessagesApi = {
    accountSid: settings.accountSid,
    authToken: settings.authToken,
    baseUrl: settings.apiBaseUrl,
    timeoutMs: settings.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    fetch: deps.fetch ?? fetch,
    now,
  };
  const onReceipt = async (receipt: SmsReceipt) => deps.onReceipt?.(receipt);

  /** Form params of a signed request from our account, or undefined once an error was sent. */
  function authentic(req: FastifyRequest, res: FastifyReply): Record<string, unknown> | undefined {
    const type = (req.headers['content-type'] ?? '').toLowerCase();
    if (!type.startsWith('application/x-www-form-urlencoded') || typeof req.body !== 'object' || !req.body) {
      res
        .code(400)
        .send({ error: 'invalid_request', message: 'Expected an application/x-www-form-urlencoded body.' });
      return undefined;
    }
    const params = { ...(req.body as Record<string, unknown>) };
    const url = signedUrl(settings.publicBaseUrl, req.url);
    if (!verifyTwilioSignature(settings.authToken, req.headers['x-twilio-signature'], url, params)) {
      deps.log?.warn({ path: req.routeOptions.url }, 'sms webhook with a bad or missing signature');
      res.code(401).send({ error: 'signature_invalid', message: 'Missing or invalid X-Twilio-Signature.' });
      return undefined;
    }
    if (params.AccountSid !== settings.accountSid) {
      res.code(400).send({ error: 'invalid_request', message: 'AccountSid is not this account.' });
      return undefined;
    }
    return params;
  }

  async function keywordReply(kind: SmsKeyword, phone: string, lang: string): Promise<string> {
    if (kind === 'stop') await optOuts.optOut(phone, now(), 'keyword');
    if (kind === 'start') await optOuts.optIn(phone);
    return smsMessage(texts, lang, kind === 'stop' ? 'stopped' : kind === 'start' ? 'started' : 'help');
  }

  /** Reports a permanent failure as a receipt, then throws it so the queue does not retry. */
  async function fail(job: OutboundJob, err: PermanentError): Promise<never> {
    const twilioCode = err.context.twilioCode;
    await onReceipt({
      replyId: job.replyId,
      status: 'failed',
      error: err.code,
      ...(twilioCode !== undefined ? { platformErrorCode: String(twilioCode) } : {}),
    }).catch((receiptErr: Error) =>
      // The send's own outcome decides the retry; a lost receipt must not turn it into a transient error.
      deps.log?.error(
        { err: { message: receiptErr.message }, replyId: job.replyId },
        'sms receipt not recorded',
      ),
    );
    throw err;
  }

  return {
    name: 'sms',
    capabilities: { maxChars, buttons: false, threads: false, edits: false, receipts: true },

    mount(app: FastifyInstance) {
      app.post(INBOUND_PATH, async (req, res) => {
        const params = authentic(req, res);
        const msg = params && parse(inboundPayload, params, res);
        if (!msg) return;
        const phone = msg.From;

        if (msg.OptOutType) {
          // Twilio's Advanced Opt-Out has answered the parent already; keep our registry in step, say nothing.
          if (msg.OptOutType === 'STOP') await optOuts.optOut(phone, now(), 'platform');
          if (msg.OptOutType === 'START') await optOuts.optIn(phone);
          return sendTwiml(res);
        }
        const keyword = matchKeyword(texts, msg.Body);
        if (keyword) {
          const preferred = await deps.languageOf?.(phone);
          const lang = replyLanguage(texts, keyword, preferred, defaultLang);
          deps.log?.info({ keyword: keyword.kind, lang }, 'sms keyword');
          return sendTwiml(res, await keywordReply(keyword.kind, phone, lang));
        }

        const n = optionNumber(msg.Body);
        const choice = n === undefined ? undefined : await state.choice(phone, n);
        await deps.bus.enqueueInbound({
          channel: 'sms',
          messageId: msg.MessageSid,
          conversationId: phone,
          senderId: phone,
          text: msg.Body,
          ...(choice !== undefined ? { choice } : {}),
          at: now().toISOString(),
        });
        return sendTwiml(res);
      });

      app.post(STATUS_PATH, async (req, res) => {
        const params = authentic(req, res);
        const payload = params && parse(statusPayload, params, res);
        const query = payload && parse(statusQuery, req.query, res);
        if (!payload || !query) return;
        await onReceipt(receiptFromStatus(payload, query));
        return res.code(204).send();
      });
    },

    async send(job: OutboundJob): Promise<DeliveryReceipt> {
      const to = job.conversationId;
      if (!E164.test(to)) {
        return fail(
          job,
          new PermanentError(ErrorCode.AddressInvalid, 'SMS conversation id is not an E.164 number'),
        );
      }
      if (await optOuts.isOptedOut(to)) {
        return fail(
          job,
          new PermanentError(ErrorCode.OptedOut, 'the recipient has opted out of SMS', {
            context: { replyId: job.replyId },
          }),
        );
      }
      const parts = renderSms(job, {
        maxChars,
        ...(job.choices.length > 0 ? { pickHint: smsMessage(texts, job.lang, 'pickNumber') } : {}),
      });
      // Before sending, so a quick "2" finds the options; the latest message's options win.
      await state.offerChoices(
        to,
        job.choices.map((c) => c.value),
      );
      const sids: string[] = [];
      for (const [part, body] of parts.entries()) {
        // A retried job skips the parts the platform already took.
        let sid = await state.sentPart(job.replyId, part);
        if (!sid) {
          const segments = countSegments(body).segments;
          const waitMs = (await deps.pace?.take(segments)) ?? 0;
          if (waitMs > 0) {
            // The queue puts the job back for that long without using an attempt; parts sent stay sent.
            throw new TransientError(ErrorCode.RateLimited, 'SMS sender at its segment pace', {
              retryAfterMs: waitMs,
              context: { replyId: job.replyId, part, segments },
            });
          }
          const callback = new URL(signedUrl(settings.publicBaseUrl, STATUS_PATH));
          callback.search = new URLSearchParams({ replyId: job.replyId, part: String(part) }).toString();
          try {
            sid = await createMessage(api, { to, from: settings.from, body, statusCallback: callback.href });
          } catch (err) {
            if (!(err instanceof PermanentError)) throw err;
            if (err.code === ErrorCode.OptedOut) await optOuts.optOut(to, now(), 'platform');
            return fail(job, err);
          }
          await state.markPartSent(job.replyId, part, sid);
        }
        sids.push(sid);
      }
      return { replyId: job.replyId, status: 'sent', ...(sids[0] ? { platformMessageId: sids[0] } : {}) };
    },
  };
}

function sendTwiml(res: FastifyReply, message?: string) {
  return res.code(200).header('content-type', 'text/xml; charset=utf-8').send(twiml(message));
}

function parse<T>(schema: z.ZodType<T>, value: unknown, res: FastifyReply): T | undefined {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  res.code(400).send({ error: 'invalid_request', message: z.prettifyError(result.error) });
  return undefined;
}
