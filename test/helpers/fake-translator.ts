import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Azure Translator text v3 limits, enforced the way the service does. */
const MAX_TRANSLATE_ELEMENTS = 1_000;
const MAX_DETECT_ELEMENTS = 100;
const MAX_CHARS = 50_000;
const LANGUAGES = new Set('nb en so ar ur pl ta tr vi fa prs ps ku kmr ti sq ru uk lt th fil'.split(' '));

/**
 * What an unprotected school term turns into: the mistranslations DOMAIN.md warns about, so a
 * glossary test fails when the notranslate markup is missing.
 */
export const MISTRANSLATIONS: Record<string, string> = {
  kontaktlærer: 'contact teacher',
  foreldremøte: 'parents meeting',
  utviklingssamtale: 'development conversation',
  permisjon: 'permission',
  leksehjelp: 'lexical help',
  trinn: 'step',
};

export interface RecordedRequest {
  path: string;
  query: { apiVersion: string | null; to: string[]; from: string | null; textType: string | null };
  headers: IncomingMessage['headers'];
  /** The raw JSON body as sent. */
  raw: string;
  texts: string[];
  status: number;
}

export interface FakeTranslator {
  url: string;
  key: string;
  region: string | undefined;
  requests: RecordedRequest[];
  /** Requests received (any outcome) and characters billed (200s only, across targets). */
  stats: { requests: number; ok: number; billedCharacters: number; translatedItems: number };
  /** The next `n` requests (after `after` more successful ones) get 429 with Retry-After. */
  throttle(n: number, opts?: { retryAfterSeconds?: number; after?: number }): void;
  /** The next `n` requests get `status` (default 500). */
  fail(n: number, status?: number): void;
  /** The next `n` requests are answered only after `ms` (0, the default: never; status 0 in `requests`). */
  stall(n: number, ms?: number): void;
  reset(): void;
  close(): Promise<void>;
}

/**
 * A fake Azure Translator (text v3) over real HTTP on loopback. Its "translation" prefixes
 * `[to] `, keeps `<span class="notranslate">` content as is, and mistranslates school terms
 * everywhere else. Detection is a script and keyword heuristic.
 */
export async function startFakeTranslator(
  opts: { key?: string; region?: string } = {},
): Promise<FakeTranslator> {
  const key = opts.key ?? 'test-key';
  const region = opts.region;
  const requests: RecordedRequest[] = [];
  const stats = { requests: 0, ok: 0, billedCharacters: 0, translatedItems: 0 };
  let throttles: { left: number; after: number; retryAfter: number } = { left: 0, after: 0, retryAfter: 1 };
  let failures = { left: 0, status: 500 };
  let stalls = { left: 0, ms: 0 };

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) send(res, 500, { error: { code: 500000, message: String(err) } });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const raw = await readBody(req);
    stats.requests += 1;
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = {
      apiVersion: url.searchParams.get('api-version'),
      to: url.searchParams.getAll('to'),
      from: url.searchParams.get('from'),
      textType: url.searchParams.get('textType'),
    };
    let texts: string[] = [];
    const record = (status: number) =>
      requests.push({ path: url.pathname, query, headers: req.headers, raw, texts, status });
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      record(status);
      send(res, status, body, headers);
    };

    if (stalls.left > 0) {
      stalls.left -= 1;
      if (stalls.ms === 0) {
        record(0);
        return; // never answered; close() drops the socket
      }
      await new Promise((resolve) => setTimeout(resolve, stalls.ms));
    }
    if (req.method !== 'POST') return reply(405, azureError(405000, 'The request method is not supported.'));
    if (req.headers['ocp-apim-subscription-key'] !== key)
      return reply(
        401,
        azureError(401000, 'The request is not authorized because credentials are missing or invalid.'),
      );
    if (region !== undefined && req.headers['ocp-apim-subscription-region'] !== region)
      return reply(
        401,
        azureError(401000, 'The request is not authorized because credentials are missing or invalid.'),
      );
    if (query.apiVersion !== '3.0')
      return reply(400, azureError(400021, 'The API version parameter is missing or invalid.'));

    if (throttles.left > 0 && throttles.after === 0) {
      throttles.left -= 1;
      return reply(
        429,
        azureError(429001, 'The server rejected the request because the client has exceeded request limits.'),
        {
          'Retry-After': String(throttles.retryAfter),
        },
      );
    }
    if (failures.left > 0) {
      failures.left -= 1;
      return reply(failures.status, azureError(failures.status * 1000, 'Internal error.'));
    }

    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return reply(400, azureError(400074, 'The body of the request is not valid JSON.'));
    }
    if (!Array.isArray(body) || !body.every((b) => typeof b?.Text === 'string'))
      return reply(400, azureError(400074, 'The body of the request is not valid JSON.'));
    texts = body.map((b: { Text: string }) => b.Text);
    const chars = texts.reduce((n, t) => n + [...t].length, 0);

    if (url.pathname === '/detect') {
      if (texts.length > MAX_DETECT_ELEMENTS || chars > MAX_CHARS)
        return reply(400, azureError(400077, 'The maximum request size has been exceeded.'));
      succeeded();
      stats.billedCharacters += chars;
      return reply(
        200,
        texts.map((t) => ({ ...detect(t), isTranslationSupported: true, isTransliterationSupported: false })),
        { 'X-metered-usage': String(chars) },
      );
    }
    if (url.pathname !== '/translate')
      return reply(404, azureError(404001, 'The requested resource was not found.'));
    if (query.to.length === 0 || !query.to.every((to) => LANGUAGES.has(to)))
      return reply(400, azureError(400036, 'The target language is not valid.'));
    if (query.from !== null && !LANGUAGES.has(query.from))
      return reply(400, azureError(400035, 'The source language is not valid.'));
    if (texts.length > MAX_TRANSLATE_ELEMENTS || chars * query.to.length > MAX_CHARS)
      return reply(400, azureError(400077, 'The maximum request size has been exceeded.'));

    succeeded();
    const billed = chars * query.to.length;
    stats.billedCharacters += billed;
    stats.translatedItems += texts.length;
    const html = query.textType === 'html';
    return reply(
      200,
      texts.map((t) => ({
        ...(query.from === null ? { detectedLanguage: detect(t) } : {}),
        translations: query.to.map((to) => ({ text: `[${to}] ${translate(t, html)}`, to })),
      })),
      { 'X-metered-usage': String(billed) },
    );
  }

  function succeeded() {
    stats.ok += 1;
    if (throttles.after > 0) throttles.after -= 1;
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    key,
    region,
    requests,
    stats,
    throttle(n, o = {}) {
      throttles = { left: n, after: o.after ?? 0, retryAfter: o.retryAfterSeconds ?? 1 };
    },
    fail(n, status = 500) {
      failures = { left: n, status };
    },
    stall(n, ms = 0) {
      stalls = { left: n, ms };
    },
    reset() {
      requests.length = 0;
      Object.assign(stats, { requests: 0, ok: 0, billedCharacters: 0, translatedItems: 0 });
      throttles = { left: 0, after: 0, retryAfter: 1 };
      failures = { left: 0, status: 500 };
      stalls = { left: 0, ms: 0 };
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'X-RequestId': randomUUID(),
    ...headers,
  });
  res.end(JSON.stringify(body));
}

function azureError(code: number, message: string) {
  return { error: { code, message } };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const SPAN = /(<span class="notranslate">[\s\S]*?<\/span>)/;
const TERMS = new RegExp(`(${Object.keys(MISTRANSLATIONS).join('|')})`, 'gi');

/** Everything outside notranslate spans gets its school terms "mistranslated"; spans pass as sent. */
function translate(text: string, html: boolean): string {
  const parts = html ? text.split(SPAN) : [text];
  return parts
    .map((part) =>
      html && SPAN.test(part)
        ? part
        : part.replace(TERMS, (term) => MISTRANSLATIONS[term.toLowerCase()] ?? term),
    )
    .join('');
}

/** Script first, then a few telltale words. Good enough for tests. */
function detect(text: string): { language: string; score: number } {
  if (/[\u0600-\u06ff]/.test(text)) return { language: /[ٹڈڑںےھ]/.test(text) ? 'ur' : 'ar', score: 1 };
  if (/[\u0400-\u04ff]/.test(text)) return { language: /[іїєґ]/i.test(text) ? 'uk' : 'ru', score: 1 };
  if (/[\u1200-\u137f]/.test(text)) return { language: 'ti', score: 1 };
  if (/[ąęłśżźć]/i.test(text)) return { language: 'pl', score: 0.9 };
  if (/[æøå]|\b(og|ikke|jeg|er|på|hei)\b/i.test(text)) return { language: 'nb', score: 0.9 };
  if (/\b(waa|iyo|maanta|ilmahayga|macallin)\b/i.test(text)) return { language: 'so', score: 0.9 };
  return { language: 'en', score: 0.5 };
}
