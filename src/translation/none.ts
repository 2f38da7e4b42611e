import { type Detection, type Translation, type Translator, UNDETERMINED } from './types.ts';

/**
 * No machine translation: every text comes back as written, marked `translated: false`, so
 * both the parent and the staff can be told the message was not translated.
 * Detection is left to the local language identification (src/nlu).
 */
export class NoTranslator implements Translator {
  async detect(texts: readonly string[]): Promise<Detection[]> {
    return texts.map(() => ({ language: UNDETERMINED, score: 0, isTranslationSupported: false }));
  }

  async translate(texts: readonly string[], to: string, from?: string): Promise<Translation[]> {
    return texts.map((text) => ({ text, translated: false, from: from ?? UNDETERMINED, to }));
  }

  async translateMany(
    texts: readonly string[],
    targets: readonly string[],
    from?: string,
  ): Promise<Translation[][]> {
    return texts.map((text) =>
      targets.map((to) => ({ text, translated: false, from: from ?? UNDETERMINED, to })),
    );
  }
}
