import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import createClient, {
  buildMultiCollection,
  type InputTextItem,
  isUnexpected,
  type TextTranslationClient,
} from '@azure-rest/ai-translation-text';
import { z } from 'zod';
import { ErrorCode, PermanentError, parseRetryAfter, TransientError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { DEFAULT_TRANSLATOR_ENDPOINT } from './config.ts';
import type { Glossary } from './glossary.ts';
import { type Detection, type Translation, type Translator, UNDETERMINED } from './types.ts';

/** Translator text v3 service limits (DOMAIN.md). Characters count across all targets of a request. */
export const LIMITS = { translateElements: 1_000, detectElements: 100, characters: 50_000 } as const;

export interface AzureTranslatorOptions {
  key: string;
  /** Default: the global endpoint. A `*.cognitiveservices.azure.com` custom domain gets the v3 path added. */
  endpoint?: string;
  region?: string;
  /** Per attempt. Default 15 000 ms. */
  timeoutMs?: number;
  /** Attempts per request, the first included. Default 5. */
  maxAttempts?: number;
  /** First backoff step; doubles per attempt, with jitter. Default 500 ms. */
  baseDelayMs?: number;
  /** Cap on one backoff step. Default 20 000 ms. */
  maxDelayMs?: number;
  /** A longer Retry-After is left to the caller's queue (TransientError with `retryAfterMs`). Default 60 000 ms. */
  maxRetryAfterMs?: number;
  /** Keeps school terms in Norwegian for nb -> X. Without it, text is sent as plain text. */
  glossary?: Glossary;
  metrics?: Metrics;
  log?: Logger;
  /** For tests: the jitter source. */
  random?: () => number;
}

type Op = 'translate' | 'detect';
type Facts = { op: Op; items: number; chars: number; targets?: number };

const translateResponse = z.array(
  z.object({
    detectedLanguage: z.object({ language: z.string(), score: z.number() }).optional(),
    translations: z.array(z.object({ text: z.string(), to: z.string() })),
  }),
);
const detectResponse = z.array(
  z.object({
    language: z.string(),
    score: z.number(),
    isTranslationSupported: z.boolean().optional(),
  }),
);
const errorResponse = z.object({ error: z.object({ code: z.union([z.number(), z.string()]) }) });

/** What one attempt got back: the SDK's response, or the status and headers of one whose body did not parse. */
interface Reply {
  ok: boolean;
  status: number;
  headers: Record<string, string | undefined>;
  body: unknown;
}

/** Sent as before (and as Translator's own docs write it); the service accepts any charset-less JSON type too. */
const JSON_UTF8 = 'application/json; charset=UTF-8';

/**
 * Azure AI Translator over the text v3 REST API (`/translate?api-version=3.0`, `/detect`), through
 * the REST-level client of `@azure-rest/ai-translation-text` 1.x (the 2.x line speaks only the
 * 2026-06-06 API). Batching, retries and timeouts stay ours, in one place.
 *
 * The SDK pipeline's own retry policy is off (`retryOptions: { maxRetries: 0 }`): it would retry
 * 429/5xx/network errors inside one `post()` with its own backoff, unseen by our attempt count,
 * `translatorRequests` metrics and Retry-After cap, and would multiply our attempts.
 *
 * Batches run one after another: a burst of parallel batches only meets 429 sooner.
 */
export class AzureTranslator implements Translator {
  private readonly client: TextTranslationClient;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly random: () => number;

  constructor(private readonly opts: AzureTranslatorOptions) {
    if (!opts.key) throw new PermanentError(ErrorCode.Config, 'translator: key is required');
    this.client = createTranslatorClient(opts.key, opts.region, opts.endpoint ?? DEFAULT_TRANSLATOR_ENDPOINT);
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 5);
    this.baseDelayMs = opts.baseDelayMs ?? 500;
    this.maxDelayMs = opts.maxDelayMs ?? 20_000;
    this.maxRetryAfterMs = opts.maxRetryAfterMs ?? 60_000;
    this.random = opts.random ?? Math.random;
  }

  async translate(texts: readonly string[], to: string, from?: string): Promise<Translation[]> {
    const all = await this.translateMany(texts, [to], from);
    return all.map((row, i) => row[0] ?? untouched(texts[i] ?? '', from, to));
  }

  async translateMany(
    texts: readonly string[],
    targets: readonly string[],
    from?: string,
  ): Promise<Translation[][]> {
    const results: Translation[][] = texts.map((text) => targets.map((to) => untouched(text, from, to)));
    const send = [...new Set(targets)].filter((to) => to !== from);
    const items = texts.flatMap((text, i) => (text.trim() === '' ? [] : [i]));
    if (send.length === 0 || items.length === 0) return results;

    const glossary = this.opts.glossary;
    const html =
      glossary !== undefined &&
      from === 'nb' &&
      send.some((to) => to !== 'nb') &&
      items.some((i) => glossary.hasTerms(texts[i] ?? ''));
    const payload = (i: number) => (html ? glossary.protect(texts[i] ?? '') : (texts[i] ?? ''));
    const payloads = new Map(items.map((i) => [i, payload(i)]));

    const batches = planBatches(
      items.map((i) => payloads.get(i)?.length ?? 0),
      send.length,
      LIMITS.translateElements,
      LIMITS.characters,
    );
    for (const batch of batches) {
      const batchItems = batch.items.map((k) => items[k] ?? -1);
      const batchTargets = batch.targets.map((t) => send[t] ?? '');
      const bodyTexts = batchItems.map((i) => payloads.get(i) ?? '');
      const chars = bodyTexts.reduce((n, t) => n + t.length, 0);
      const facts: Facts = { op: 'translate', items: bodyTexts.length, chars, targets: batchTargets.length };
      // `to` repeats (to=so&to=ar): the SDK's buildMultiCollection, sent with skipUrlEncoding, so
      // every value is encoded here.
      const queryParameters = {
        to: buildMultiCollection(batchTargets.map(encodeURIComponent), 'to'),
        ...(from ? { from: encodeURIComponent(from) } : {}),
        ...(html ? { textType: 'html' } : {}),
      };
      const body = inputItems(bodyTexts);
      const raw = await this.call(facts, async (headers, abortSignal) => {
        const res = await this.client.path('/translate').post({
          body,
          queryParameters,
          skipUrlEncoding: true,
          contentType: JSON_UTF8,
          headers,
          abortSignal,
        });
        return { ok: !isUnexpected(res), status: Number(res.status), headers: res.headers, body: res.body };
      });
      const parsed = translateResponse.safeParse(raw);
      if (!parsed.success || parsed.data.length !== bodyTexts.length) throw malformed(facts);

      parsed.data.forEach((item, k) => {
        const i = batchItems[k] ?? -1;
        const original = texts[i] ?? '';
        const source = from ?? normaliseCode(item.detectedLanguage?.language) ?? UNDETERMINED;
        batchTargets.forEach((to, j) => {
          const out =
            item.translations[j]?.to === to
              ? item.translations[j]
              : item.translations.find((t) => t.to === to);
          if (!out) throw malformed(facts);
          const translation: Translation =
            source === to
              ? { text: original, translated: false, from: source, to }
              : {
                  text: html ? glossary.unprotect(out.text, to) : out.text,
                  translated: true,
                  from: source,
                  to,
                };
          const row = results[i] ?? [];
          targets.forEach((t, col) => {
            if (t === to) row[col] = translation;
          });
        });
      });
    }
    return results;
  }

  async detect(texts: readonly string[]): Promise<Detection[]> {
    const results: Detection[] = texts.map(() => ({
      language: UNDETERMINED,
      score: 0,
      isTranslationSupported: false,
    }));
    const items = texts.flatMap((text, i) => (text.trim() === '' ? [] : [i]));
    const batches = planBatches(
      items.map((i) => texts[i]?.length ?? 0),
      1,
      LIMITS.detectElements,
      LIMITS.characters,
    );
    for (const batch of batches) {
      const batchItems = batch.items.map((k) => items[k] ?? -1);
      const bodyTexts = batchItems.map((i) => texts[i] ?? '');
      const facts: Facts = {
        op: 'detect',
        items: bodyTexts.length,
        chars: bodyTexts.reduce((n, t) => n + t.length, 0),
      };
      const body = inputItems(bodyTexts);
      // The 1.x client declares no /detect route (and isUnexpected does not know it): pathUnchecked,
      // and 200 is the one success.
      const raw = await this.call(facts, async (headers, abortSignal) => {
        const res = await this.client.pathUnchecked('/detect').post({
          body,
          contentType: JSON_UTF8,
          headers,
          abortSignal,
        });
        return { ok: res.status === '200', status: Number(res.status), headers: res.headers, body: res.body };
      });
      const parsed = detectResponse.safeParse(raw);
      if (!parsed.success || parsed.data.length !== bodyTexts.length) throw malformed(facts);
      parsed.data.forEach((d, k) => {
        results[batchItems[k] ?? -1] = {
          language: normaliseCode(d.language) ?? UNDETERMINED,
          score: d.score,
          isTranslationSupported: d.isTranslationSupported ?? true,
        };
      });
    }
    return results;
  }

  /**
   * One request with retries; returns the parsed JSON body of a 200. `send` makes one attempt
   * through the SDK (whose pipeline never retries) with the given headers and abort signal.
   */
  private async call(
    facts: Facts,
    send: (headers: { 'X-ClientTraceId': string }, signal: AbortSignal) => Promise<Reply>,
  ): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      const traceId = randomUUID();
      const context = { ...facts, attempt, traceId };
      const last = attempt >= this.maxAttempts;
      const signal = AbortSignal.timeout(this.timeoutMs);
      let res: Reply;
      try {
        res = await send({ 'X-ClientTraceId': traceId }, signal);
      } catch (err) {
        const answered = unparsedReply(err);
        if (answered === undefined) {
          this.count('error');
          const reason = signal.aborted ? 'timed out' : 'unreachable';
          if (last)
            throw new TransientError(ErrorCode.Unavailable, `translator: ${facts.op} ${reason}`, {
              context: { ...context, timeoutMs: this.timeoutMs },
              cause: transportCause(err),
            });
          await this.wait(attempt, undefined, { ...context, reason });
          continue;
        }
        res = answered;
      }

      const requestId = res.headers['x-requestid'];
      if (res.ok) {
        this.count('ok');
        const header = res.headers['x-metered-usage'];
        const metered = header === undefined ? Number.NaN : Number(header);
        // Without the header, a translation is billed as sent (chars x targets); detection as nothing.
        const billed = Number.isFinite(metered)
          ? metered
          : facts.op === 'translate'
            ? facts.chars * (facts.targets ?? 1)
            : 0;
        if (billed > 0) this.opts.metrics?.translatorCharacters.inc(billed);
        if (res.body === undefined) throw malformed(facts);
        return res.body;
      }

      const azureCode = errorResponse.safeParse(res.body).data?.error.code;
      const failure = { ...context, status: res.status, azureCode, requestId };
      if (res.status === 429) {
        this.count('throttled');
        const retryAfterMs = parseRetryAfter(res.headers['retry-after'] ?? null);
        if (last || (retryAfterMs ?? 0) > this.maxRetryAfterMs)
          throw new TransientError(ErrorCode.RateLimited, `translator: ${facts.op} throttled (429)`, {
            context: { ...failure, retryAfterMs },
          });
        await this.wait(attempt, retryAfterMs, failure);
        continue;
      }
      this.count('error');
      if (res.status >= 500 || res.status === 408) {
        if (last)
          throw new TransientError(ErrorCode.Unavailable, `translator: ${facts.op} failed (${res.status})`, {
            context: failure,
          });
        await this.wait(attempt, undefined, failure);
        continue;
      }
      // 400 (bad language, too long), 401/403 (key, region, quota): another attempt cannot help.
      throw new PermanentError(ErrorCode.Config, `translator: ${facts.op} refused (${res.status})`, {
        context: failure,
      });
    }
  }

  /** Exponential backoff with jitter, never shorter than the service's Retry-After. */
  private async wait(attempt: number, retryAfterMs: number | undefined, context: Record<string, unknown>) {
    const step = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
    const backoff = step / 2 + (this.random() * step) / 2;
    const delayMs = Math.round(Math.max(backoff, (retryAfterMs ?? 0) + this.random() * this.baseDelayMs));
    this.opts.log?.warn({ ...context, delayMs, retryAfterMs }, 'translator: retrying');
    await sleep(delayMs);
  }

  private count(outcome: 'ok' | 'throttled' | 'error') {
    this.opts.metrics?.translatorRequests.inc({ outcome });
  }
}

/**
 * Splits items into requests within the limits, counting characters across targets: the
 * targets go in groups small enough for the longest item, then items are packed in order.
 * Returns indices into `lengths` and into the target list.
 */
export function planBatches(
  lengths: readonly number[],
  targetCount: number,
  maxElements: number,
  maxChars: number,
): { items: number[]; targets: number[] }[] {
  if (lengths.length === 0 || targetCount === 0) return [];
  const longest = Math.max(...lengths);
  if (longest > maxChars)
    throw new PermanentError(ErrorCode.Config, 'translator: a text exceeds the per-request limit', {
      context: { chars: longest, maxChars },
    });
  const perGroup = Math.max(1, Math.min(targetCount, Math.floor(maxChars / Math.max(1, longest))));
  const batches: { items: number[]; targets: number[] }[] = [];
  for (let first = 0; first < targetCount; first += perGroup) {
    const targets = range(first, Math.min(targetCount, first + perGroup));
    let items: number[] = [];
    let chars = 0;
    lengths.forEach((length, i) => {
      const cost = length * targets.length;
      if (items.length > 0 && (items.length >= maxElements || chars + cost > maxChars)) {
        batches.push({ items, targets });
        items = [];
        chars = 0;
      }
      items.push(i);
      chars += cost;
    });
    batches.push({ items, targets });
  }
  return batches;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, k) => from + k);
}

function untouched(text: string, from: string | undefined, to: string): Translation {
  return { text, translated: false, from: from ?? UNDETERMINED, to };
}

/**
 * The base URL requests go to. A custom-domain resource (`https://<name>.cognitiveservices.azure.com`,
 * no path) serves v3 under /translator/text/v3.0. The SDK has a looser form of this rule (any
 * endpoint containing "cognitiveservices", path or not, trailing slash kept), so we pass the
 * result as `baseUrl`, which bypasses it.
 */
export function serviceBase(endpoint: string): string {
  const url = new URL(endpoint);
  let base = endpoint.replace(/\/+$/, '');
  if (url.hostname.includes('cognitiveservices') && (url.pathname === '/' || url.pathname === ''))
    base += '/translator/text/v3.0';
  return base;
}

const KEY_HEADER = 'Ocp-Apim-Subscription-Key';

function createTranslatorClient(key: string, region: string | undefined, endpoint: string) {
  const base = serviceBase(endpoint);
  // Options are only read when a credential is passed: createClient(endpoint, options) drops them.
  const client = createClient(
    base,
    { key, region: region ?? '' },
    {
      baseUrl: base,
      apiVersion: '3.0',
      // The SDK refuses http:// unless told; an http endpoint is configured on purpose (a local fake, a proxy).
      allowInsecureConnection: new URL(base).protocol === 'http:',
      retryOptions: { maxRetries: 0 }, // our retry loop only: see AzureTranslator
      // Our X-ClientTraceId then doubles as the SDK's request id instead of a second id header.
      telemetryOptions: { clientRequestIdHeaderName: 'X-ClientTraceId' },
    },
  );
  if (region === undefined || region === '') {
    // A { key, region } credential always sets the region header, as "" or "undefined" when
    // there is none; a global resource is addressed by its key alone.
    client.pipeline.removePolicy({ name: 'TranslatorAuthenticationPolicy' });
    client.pipeline.addPolicy({
      name: 'SkolebroTranslatorKeyPolicy',
      sendRequest: (request, next) => {
        request.headers.set(KEY_HEADER, key);
        return next(request);
      },
    });
  }
  return client;
}

/**
 * The body items. `Text` as Translator's docs write it (the service reads the name either way; the
 * 1.x SDK types it as `text`, and our fake Translator, like the v3 docs, reads `Text`).
 */
function inputItems(texts: readonly string[]): InputTextItem[] {
  return texts.map((Text) => ({ Text })) as unknown as InputTextItem[];
}

/**
 * A response whose body did not parse reaches us as a RestError (PARSE_ERROR) holding the response;
 * its status and headers still count, its body (and the error, whose message quotes it) are dropped.
 */
function unparsedReply(err: unknown): Reply | undefined {
  if (!(err instanceof Error) || err.name !== 'RestError') return undefined;
  const { code, response } = err as {
    code?: unknown;
    response?: { status?: unknown; headers?: { toJSON?: () => unknown } };
  };
  if (code !== 'PARSE_ERROR') return undefined;
  if (typeof response?.status !== 'number') return undefined;
  const headers = (response.headers?.toJSON?.() ?? {}) as Record<string, string | undefined>;
  return { ok: response.status === 200, status: response.status, headers, body: undefined };
}

/**
 * What a transport failure is kept as: its name, code and message. The SDK's RestError carries the
 * request, body and all, so it is not attached itself.
 */
function transportCause(err: unknown): Error {
  if (!(err instanceof Error)) return new Error('translator: transport failure');
  const cause = new Error(err.message);
  cause.name = err.name;
  const code = (err as { code?: unknown }).code;
  return code === undefined ? cause : Object.assign(cause, { code });
}

/** Translator has no Nynorsk; a Norwegian guess is Bokmål for us. */
function normaliseCode(code: string | undefined): string | undefined {
  if (!code) return undefined;
  return code === 'no' || code === 'nn' ? 'nb' : code;
}

/** No cause attached: a parse error quotes the body, which holds message text. */
function malformed(facts: Facts): TransientError {
  return new TransientError(ErrorCode.Unavailable, `translator: ${facts.op} response malformed`, {
    context: { ...facts },
  });
}
