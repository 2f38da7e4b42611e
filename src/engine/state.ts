import { z } from 'zod';
import type { ConversationState } from './types.ts';

/** Schema of a persisted conversation; bump `v` and add a migration when it changes. */
export const conversationStateSchema = z.object({
  v: z.literal(1),
  lang: z.string().nullable(),
  langPicked: z.boolean(),
  active: z
    .object({ name: z.string(), step: z.string(), data: z.record(z.string(), z.unknown()) })
    .nullable(),
  turns: z.number().int().nonnegative(),
});

export function initialState(lang: string | null = null): ConversationState {
  return { v: 1, lang, langPicked: false, active: null, turns: 0 };
}

export function persist(state: ConversationState): string {
  return JSON.stringify(state);
}

/** Restores a stored state; a corrupt or foreign value starts a fresh conversation rather than failing the turn. */
export function restore(json: string | null | undefined): ConversationState {
  if (!json) return initialState();
  try {
    const parsed = conversationStateSchema.safeParse(JSON.parse(json));
    return parsed.success ? (parsed.data as ConversationState) : initialState();
  } catch {
    return initialState();
  }
}
