import { choice, done, menu, say } from './shared.ts';
import type { Dialog, DialogInput, DialogOutput } from './types.ts';

/**
 * Linking a new channel account to a registered guardian: the parent gives the mobile
 * number the school has, the school texts a one-time code to it, and writing the code
 * here links this account. The shell checks the code (`turn.verification`); whether a
 * number is registered is never revealed.
 */
const NAME = 'verify';

export const verify: Dialog = {
  name: NAME,
  intents: [],
  start(input) {
    if (input.person.kind === 'guardian') return done([say('verify.already')], menu());
    return { say: [say('verify.askPhone')], next: { name: NAME, step: 'phone', data: {} } };
  },
  resume(input, active) {
    // A number instead of a code: the parent gave the wrong one first, or wants a new code.
    if (active.step === 'phone' || !input.turn.verification) {
      const phone = phoneIn(input.turn.text);
      if (!phone) return active.step === 'phone' ? null : checked(input);
      return {
        say: [say('verify.codeSent')],
        actions: [{ type: 'sendCode', phone }],
        next: { name: NAME, step: 'code', data: {} },
      };
    }
    return checked(input);
  },
  ask(_input, active) {
    return active.step === 'phone'
      ? { say: [say('verify.askPhone')], next: active }
      : { say: [say('verify.askCode')], next: active };
  },
};

function checked(input: DialogInput): DialogOutput | null {
  switch (input.turn.verification) {
    case 'linked':
      return done([say('verify.linked')], menu());
    case 'wrong':
      return { say: [say('verify.wrongCode')], next: { name: NAME, step: 'code', data: {} } };
    case 'expired':
      return done([say('verify.expired')], [choice('dialog:verify', 'verify.again')]);
    case 'locked':
      return done([say('verify.locked', { phone: input.directory.school.officePhone ?? '' })]);
    default:
      return null;
  }
}

/**
 * A Norwegian mobile number as E.164: "912 34 567", "+47 912 34 567", "0047...".
 * Other countries need their + prefix. Undefined when the text holds no number.
 */
export function phoneIn(text: string): string | undefined {
  const compact = text.replace(/[\s\-().]/g, '');
  const m = /(?:^|\D)((?:\+|00)\d{8,15}|\d{8})(?:\D|$)/.exec(compact);
  if (!m) return undefined;
  const raw = m[1] as string;
  if (raw.startsWith('+')) return raw;
  if (raw.startsWith('00')) return `+${raw.slice(2)}`;
  return `+47${raw}`;
}

/** The six digits of a one-time code in a message, if there are exactly six. */
export function codeIn(text: string): string | undefined {
  const m = /^\D*(\d{3})\s?(\d{3})\D*$/.exec(text.trim());
  return m ? `${m[1]}${m[2]}` : undefined;
}
