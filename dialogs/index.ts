import type { Intent } from '../src/engine/types.ts';
import { absence } from './absence.ts';
import { contactTeacher } from './contact-teacher.ts';
import { expectations } from './expectations.ts';
import { holidays } from './holidays.ts';
import { aks, fau, greeting, help, homework, language, unknown } from './info.ts';
import { leave } from './leave.ts';
import { meetings } from './meetings.ts';
import { handoff, safety } from './safety.ts';
import type { Dialog } from './types.ts';
import { verify } from './verify.ts';

/** Every dialog, one per conversation topic. */
export const DIALOGS: Dialog[] = [
  greeting,
  help,
  expectations,
  meetings,
  contactTeacher,
  absence,
  leave,
  holidays,
  safety,
  handoff,
  fau,
  homework,
  aks,
  language,
  verify,
  unknown,
];

const byIntent = new Map<Intent, Dialog>(DIALOGS.flatMap((d) => d.intents.map((i) => [i, d] as const)));
const byName = new Map(DIALOGS.map((d) => [d.name, d]));

export function dialogFor(intent: Intent): Dialog {
  return byIntent.get(intent) ?? unknown;
}

export function dialogNamed(name: string): Dialog | undefined {
  return byName.get(name);
}
