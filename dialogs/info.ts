import type { Intent } from '../src/engine/types.ts';
import { done, menu, say, topicChoices } from './shared.ts';
import type { Dialog } from './types.ts';

/** Short factual answers: the words are in locales/, under `<name>.*`. */
function info(name: string, intent: Intent, keys: string[], next: string[]): Dialog {
  return {
    name,
    intents: [intent],
    start: (input) =>
      done(
        keys.map((k) =>
          say(`${name}.${k}`, {
            school: input.directory.school.name,
            phone: input.directory.school.officePhone ?? '',
            baseleder: input.directory.school.aksBaseleder?.name ?? '',
          }),
        ),
        topicChoices(...next),
      ),
  };
}

export const fau = info('fau', 'fau.info', ['what', 'who', 'join'], ['expectations.home', 'meetings.next']);
export const homework = info(
  'homework',
  'homework.help',
  ['leksehjelp', 'home', 'teacher'],
  ['contact.teacher', 'aks.info'],
);
export const aks = info(
  'aks',
  'aks.info',
  ['what', 'free', 'holidays', 'contact'],
  ['homework.help', 'holidays.dates'],
);

export const greeting: Dialog = {
  name: 'greeting',
  intents: ['greeting'],
  start: (input) =>
    done(
      [
        say(input.person.kind === 'anonymous' ? 'greeting.hello' : 'greeting.helloName', {
          name: firstName(input.person),
        }),
        say('greeting.offer'),
      ],
      menu(),
    ),
};

export const help: Dialog = {
  name: 'help',
  intents: ['help'],
  start: () => done([say('help.what'), say('help.language'), say('help.cancel')], menu()),
};

export const unknown: Dialog = {
  name: 'unknown',
  intents: ['unknown'],
  start: () => done([say('unknown.sorry'), say('help.what')], [...menu(), ...topicChoices('human.handoff')]),
};

export const language: Dialog = {
  name: 'language',
  intents: ['language.change'],
  start: (input) =>
    done(
      [say('language.pick')],
      input.languages.map((l) => ({ value: `lang:${l.code}`, label: say('common.raw', { text: l.name }) })),
    ),
};

function firstName(person: { kind: string; name?: string }): string {
  return person.name?.split(' ')[0] ?? '';
}
