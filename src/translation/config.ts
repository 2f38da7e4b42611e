import { z } from 'zod';

/** An empty variable (`TRANSLATOR_KEY=` in .env) counts as unset, not as an empty key. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema.optional());

/**
 * Translator settings, to merge into src/config.ts (`configSchema.extend(translatorEnvShape)`).
 * No key means no machine translation: messages pass untouched and are marked as not translated.
 */
export const translatorEnvShape = {
  /** Azure Translator endpoint; the global one when unset. A `*.cognitiveservices.azure.com` custom domain works too. */
  TRANSLATOR_ENDPOINT: optional(z.url()),
  /** Azure region of the resource (required for regional and multi-service resources). */
  TRANSLATOR_REGION: optional(z.string().regex(/^[a-z0-9]+$/i, 'an Azure region name, e.g. norwayeast')),
  /** Subscription key; unset = no machine translation. */
  TRANSLATOR_KEY: optional(z.string().min(1)),
  /** Per-request timeout in ms (the service itself gives up at 15 s). */
  TRANSLATOR_TIMEOUT_MS: z.coerce.number().int().positive().max(120_000).default(15_000),
};

export const translatorEnvSchema = z.object(translatorEnvShape);
export type TranslatorEnv = z.infer<typeof translatorEnvSchema>;

export const DEFAULT_TRANSLATOR_ENDPOINT = 'https://api.cognitive.microsofttranslator.com';
