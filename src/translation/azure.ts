import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { ErrorCode, PermanentError, TransientError } from '../errors.ts';
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

/**
 * Azure AI Translator over the text v3 REST API (`/translate?api-version=3.0`, `/detect`).
 * @azure-rest/ai-translation-text v2 only speaks the 2026-06-06 API (different body shape, no
 * /detect), so this is a small fetch client: it also keeps batching, retries and timeouts in one place.
 * Batches run one after another: a burst of parallel batches only meets 429 sooner.
 */
export class AzureTranslator implements Translator {
  private readonly base: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly random: () => number;

  constructor(private readonly opts: AzureTranslatorOptions) {
    if (!opts.key) throw new PermanentError(ErrorCode.Config, 'translator: key is required');
    this.base = serviceBase(opts.endpoint ?? DEFAULT_TRANSLATOR_ENDPOINT);
    this.headers = {
      'Content-Type': 'application/json; charset=UTF-8',
      'Ocp-Apim-Subscription-Key': opts.key,
      ...(opts.region ? { 'Ocp-Apim-Subscription-Region': opts.region } : {}),
    };
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
      const query = new URLSearchParams({ 'api-version': '3.0' });
      for (const to of batchTargets) query.append('to', to);
      if (from) query.set('from', from);
      if (html) query.set('textType', 'html');
      const body = batchItems.map((i) => ({ Text: payloads.get(i) ?? '' }));
      const chars = body.reduce((n, b) => n + b.Text.length, 0);
      const facts: Facts = { op: 'translate', items: body.length, chars, targets: batchTargets.length };
      const parsed = translateResponse.safeParse(await this.call('/translate', query, body, facts));
      if (!parsed.success || parsed.data.length !== body.length) throw malformed(facts);

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
      const body = batchItems.map((i) => ({ Text: texts[i] ?? '' }));
      const facts: Facts = {
        op: 'detect',
        items: body.length,
        chars: body.reduce((n, b) => n + b.Text.length, 0),
      };
      const query = new URLSearchParams({ 'api-version': '3.0' });
      const parsed = detectResponse.safeParse(await this.call('/detect', query, body, facts));
      if (!parsed.success || parsed.data.length !== body.length) throw malformed(facts);
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

  /** One request with retries; returns the parsed JSON body of a 200. */
  private async call(path: string, query: URLSearchParams, body: unknown, facts: Facts): Promise<unknown> {
    const url = `${this.base}${path}?${query}`;
    const payload = JSON.stringify(body);
    for (let attempt = 1; ; attempt++) {
      const traceId = randomUUID();
      const context = { ...facts, attempt, traceId };
      const last = attempt >= this.maxAttempts;
      let res: Response;
      let text: string;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { ...this.headers, 'X-ClientTraceId': traceId },
          body: payload,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        text = await res.text();
      } catch (err) {
        this.count('error');
        const timedOut = err instanceof Error && err.name === 'TimeoutError';
        const reason = timedOut ? 'timed out' : 'unreachable';
        if (last)
          throw new TransientError(ErrorCode.Unavailable, `translator: ${facts.op} ${reason}`, {
            context: { ...context, timeoutMs: this.timeoutMs },
            cause: err,
          });
        await this.wait(attempt, undefined, { ...context, reason });
        continue;
      }

      const requestId = res.headers.get('x-requestid') ?? undefined;
      if (res.ok) {
        this.count('ok');
        const header = res.headers.get('x-metered-usage');
        const metered = header === null ? Number.NaN : Number(header);
        // Without the header, a translation is billed as sent (chars x targets); detection as nothing.
        const billed = Number.isFinite(metered)
          ? metered
          : facts.op === 'translate'
            ? facts.chars * (facts.targets ?? 1)
            : 0;
        if (billed > 0) this.opts.metrics?.translatorCharacters.inc(billed);
        const json = safeJson(text);
        if (json === undefined) throw malformed(facts);
        return json;
      }

      const azureCode = errorResponse.safeParse(safeJson(text)).data?.error.code;
      const failure = { ...context, status: res.status, azureCode, requestId };
      if (res.status === 429) {
        this.count('throttled');
        const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
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

/** The SDK's rule: a custom-domain resource serves v3 under /translator/text/v3.0. */
function serviceBase(endpoint: string): string {
  const url = new URL(endpoint);
  let base = endpoint.replace(/\/+$/, '');
  if (url.hostname.includes('cognitiveservices') && (url.pathname === '/' || url.pathname === ''))
    base += '/translator/text/v3.0';
  return base;
}

/** Translator has no Nynorsk; a Norwegian guess is Bokmål for us. */
function normaliseCode(code: string | undefined): string | undefined {
  if (!code) return undefined;
  return code === 'no' || code === 'nn' ? 'nb' : code;
}

/** Seconds (as Azure sends) or an HTTP date; undefined if absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** No cause attached: a JSON.parse error quotes the body, which holds message text. */
function malformed(facts: Facts): TransientError {
  return new TransientError(ErrorCode.Unavailable, `translator: ${facts.op} response malformed`, {
    context: { ...facts },
  });
}
