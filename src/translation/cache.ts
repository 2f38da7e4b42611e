import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Detection, Translation, Translator } from './types.ts';

export interface CachedTranslatorOptions {
  redis: Redis;
  /** Key prefix, e.g. `skolebro:mt:`. */
  prefix: string;
  /** Part of every key: a new glossary never serves translations made under the old one. */
  glossaryVersion: string;
  /** Default 30 days. Entries hold message text: keep this under the message retention period. */
  ttlSeconds?: number;
  metrics?: Metrics;
  log?: Logger;
}

const entry = z.object({ text: z.string(), translated: z.boolean(), from: z.string() });

/**
 * A Redis cache in front of a Translator, so the same text is never billed twice: one MGET
 * per call, and only the misses (each distinct text once) go to the inner translator.
 * Redis trouble degrades to no cache, never to a failed translation. Detection is passed through.
 */
export class CachedTranslator implements Translator {
  private readonly inflight = new Map<string, Promise<Translation>>();

  private readonly ttlSeconds: number;

  constructor(
    private readonly inner: Translator,
    private readonly opts: CachedTranslatorOptions,
  ) {
    this.ttlSeconds = opts.ttlSeconds ?? 30 * 24 * 3600;
  }

  detect(texts: readonly string[]): Promise<Detection[]> {
    return this.inner.detect(texts);
  }

  async translate(texts: readonly string[], to: string, from?: string): Promise<Translation[]> {
    const all = await this.translateMany(texts, [to], from);
    return all.map((row) => row[0] as Translation);
  }

  async translateMany(
    texts: readonly string[],
    targets: readonly string[],
    from?: string,
  ): Promise<Translation[][]> {
    const uniqueTexts = [...new Set(texts)];
    const uniqueTargets = [...new Set(targets)];
    const found = new Map<string, Translation>();
    // Empty texts and to === from cost nothing: the inner translator answers them without a request.
    const cacheable = (text: string, to: string) => text.trim() !== '' && to !== from;

    const lookups = uniqueTexts.flatMap((text) =>
      uniqueTargets
        .filter((to) => cacheable(text, to))
        .map((to) => ({ text, to, key: this.key(text, to, from) })),
    );
    const values = await this.read(lookups.map((l) => l.key));
    lookups.forEach(({ text, to }, k) => {
      const hit = parse(values[k]);
      if (hit) found.set(pair(text, to), { ...hit, to });
    });
    if (found.size > 0) this.opts.metrics?.translatorRequests.inc({ outcome: 'cache_hit' }, found.size);

    // A pair another call is already translating is waited for, not billed again
    // (many drafts of the same announcement at once).
    const waits: Promise<void>[] = [];
    const todo = new Map<string, string[]>();
    for (const text of uniqueTexts) {
      for (const to of uniqueTargets) {
        if (found.has(pair(text, to))) continue;
        const pending = cacheable(text, to) ? this.inflight.get(this.key(text, to, from)) : undefined;
        if (pending) waits.push(pending.then((t) => void found.set(pair(text, to), t)));
        else todo.set(text, [...(todo.get(text) ?? []), to]);
      }
    }
    // Texts missing the same set of targets share one inner call.
    const groups = new Map<string, { texts: string[]; targets: string[] }>();
    for (const [text, missing] of todo) {
      const signature = JSON.stringify(missing);
      const group = groups.get(signature) ?? { texts: [], targets: missing };
      group.texts.push(text);
      groups.set(signature, group);
    }
    const fresh: { key: string; value: string }[] = [];
    // Pairs this call translates stay in flight until they are in the cache, so that a
    // call arriving between the answer and the cache write waits instead of paying again.
    const mine: string[] = [];
    try {
      await this.translateGroups(groups, from, cacheable, found, fresh, mine);
      await Promise.all(waits);
      await this.write(fresh);
    } finally {
      for (const key of mine) this.inflight.delete(key);
    }

    return texts.map((text) =>
      targets.map((to) => found.get(pair(text, to)) ?? { text, translated: false, from: from ?? 'und', to }),
    );
  }

  private async translateGroups(
    groups: Map<string, { texts: string[]; targets: string[] }>,
    from: string | undefined,
    cacheable: (text: string, to: string) => boolean,
    found: Map<string, Translation>,
    fresh: { key: string; value: string }[],
    mine: string[],
  ) {
    for (const group of groups.values()) {
      const call = this.inner.translateMany(group.texts, group.targets, from);
      group.texts.forEach((text, i) => {
        group.targets.forEach((to, j) => {
          if (!cacheable(text, to)) return;
          const key = this.key(text, to, from);
          mine.push(key);
          const one = call.then(
            (rows) => rows[i]?.[j] ?? { text, translated: false, from: from ?? 'und', to },
          );
          // Handled here too: a failure reaches the waiters, never the process as unhandled.
          one.catch(() => {});
          this.inflight.set(key, one);
        });
      });
      const translated = await call;
      group.texts.forEach((text, i) => {
        group.targets.forEach((to, j) => {
          const t = translated[i]?.[j];
          if (!t) return;
          found.set(pair(text, to), t);
          if (cacheable(text, to))
            fresh.push({
              key: this.key(text, to, from),
              value: JSON.stringify({ text: t.text, translated: t.translated, from: t.from }),
            });
        });
      });
    }
  }

  /** A hash, so keys carry no message text; the glossary version and both languages are part of it. */
  private key(text: string, to: string, from: string | undefined): string {
    const hash = createHash('sha256')
      .update(JSON.stringify([this.opts.glossaryVersion, from ?? '', to, text]))
      .digest('base64url');
    return `${this.opts.prefix}${hash}`;
  }

  private async read(keys: string[]): Promise<(string | null)[]> {
    if (keys.length === 0) return [];
    try {
      return await this.opts.redis.mget(keys);
    } catch (err) {
      this.opts.log?.warn(
        { err: errorName(err), keys: keys.length },
        'translator cache: read failed, translating',
      );
      return keys.map(() => null);
    }
  }

  private async write(entries: { key: string; value: string }[]): Promise<void> {
    if (entries.length === 0) return;
    const pipeline = this.opts.redis.pipeline();
    for (const { key, value } of entries) pipeline.set(key, value, 'EX', this.ttlSeconds);
    try {
      const replies = (await pipeline.exec()) ?? [];
      const failed = replies.filter(([err]) => err).length;
      if (failed > 0)
        this.opts.log?.warn({ failed, entries: entries.length }, 'translator cache: write failed');
    } catch (err) {
      this.opts.log?.warn({ err: errorName(err), entries: entries.length }, 'translator cache: write failed');
    }
  }
}

/** A map key for one text into one language. */
const pair = (text: string, to: string) => JSON.stringify([text, to]);

function parse(value: string | null | undefined): Omit<Translation, 'to'> | undefined {
  if (!value) return undefined;
  try {
    return entry.parse(JSON.parse(value));
  } catch {
    return undefined;
  }
}

/** Only the error's name and code: a Redis error message may echo a command's arguments. */
function errorName(err: unknown): string {
  if (!(err instanceof Error)) return 'unknown';
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? `${err.name}:${code}` : err.name;
}
