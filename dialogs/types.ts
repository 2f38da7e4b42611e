import type { DateTime } from 'luxon';
import type {
  Action,
  ActiveDialog,
  Choice,
  ConversationState,
  DirectoryView,
  Intent,
  KeywordLookup,
  Person,
  Say,
  Turn,
} from '../src/engine/types.ts';

/** What a dialog sees of one turn. Dialogs are pure: no I/O, no clock but `now`. */
export interface DialogInput {
  turn: Turn;
  state: ConversationState;
  lang: string;
  person: Person;
  directory: DirectoryView;
  keywords: KeywordLookup;
  languages: Array<{ code: string; name: string }>;
  /** The turn's arrival time in Europe/Oslo. */
  now: DateTime;
}

export interface DialogOutput {
  say: Say[];
  choices?: Choice[];
  actions?: Action[];
  /** The step to wait in, or null when the conversation topic is finished. */
  next: ActiveDialog | null;
}

export interface Dialog {
  name: string;
  /** Intents that open this dialog. */
  intents: Intent[];
  start(input: DialogInput): DialogOutput;
  /**
   * Handles the answer to a question this dialog asked. Returns null when the
   * turn is not an answer, so the engine can treat it as a new question.
   */
  resume?(input: DialogInput, active: ActiveDialog): DialogOutput | null;
  /** Asks the waiting step's question again, after an answer the dialog could not use. */
  ask?(input: DialogInput, active: ActiveDialog): DialogOutput;
}
