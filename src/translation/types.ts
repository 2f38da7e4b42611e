/**
 * The Translator port. Language codes are Azure Translator's (nb, so, ar, ur, ku = Sorani, kmr, ...).
 * An implementation never puts message text into an error or a log line.
 */
export interface Translator {
  /** Language of each text, in input order. An empty text gets `und` with score 0. */
  detect(texts: readonly string[]): Promise<Detection[]>;
  /**
   * Each text into `to`, in input order. Without `from` the service detects it per text.
   * School terms are kept (and glossed) only when `from` is `nb`.
   */
  translate(texts: readonly string[], to: string, from?: string): Promise<Translation[]>;
  /**
   * Each text into every target (a broadcast): `result[i][j]` is `texts[i]` into `targets[j]`.
   * Cheaper than one `translate` per language: one request carries many targets.
   */
  translateMany(
    texts: readonly string[],
    targets: readonly string[],
    from?: string,
  ): Promise<Translation[][]>;
}

export interface Translation {
  text: string;
  /**
   * False when `text` is the original: no MT configured, or nothing to do (empty, or already
   * in `to`). Compare `from` with `to` to tell the two apart; the reader must be told either way.
   */
  translated: boolean;
  /** The source language, as given or detected; `und` when unknown. */
  from: string;
  to: string;
}

export interface Detection {
  /** `und` when unknown. */
  language: string;
  /** 0..1 */
  score: number;
  isTranslationSupported: boolean;
}

/** BCP 47 "undetermined". */
export const UNDETERMINED = 'und';
