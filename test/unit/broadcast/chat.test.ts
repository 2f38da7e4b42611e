import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { CHAT_BROADCAST_KEYS, checkCommand } from '../../../src/broadcast/chat.ts';
import { parseBroadcastCommand } from '../../../src/broadcast/command.ts';
import {
  previewFacts,
  progressLine,
  progressNumbers,
  progressStatus,
  translationNote,
} from '../../../src/broadcast/display.ts';
import type { PreviewView } from '../../../src/broadcast/service.ts';
import type { Staff } from '../../../src/directory/model.ts';
import { MAX_TEXT } from '../../../src/queue/jobs.ts';
import { demoBroadcastService, markingTranslator, progressView } from '../../helpers/broadcast.ts';

/** Texts that show the key and its parameters, so a test sees which words were chosen. */
const t = (key: string, params?: Record<string, string | number>) =>
  params ? `${key} ${JSON.stringify(params)}` : key;

const { service } = demoBroadcastService(markingTranslator().translator);

async function staff(id: string): Promise<Staff> {
  const sender = await service.sender(id);
  if (!sender) throw new Error(`${id} is not staff`);
  return sender;
}

describe('the chat command, checked before drafting', () => {
  const check = async (sender: Staff, text: string, log?: pino.Logger) =>
    checkCommand(parseBroadcastCommand(text), sender, {
      service,
      lang: 'nb',
      t,
      name: 'test broadcast',
      log,
    });

  it('answers a mistake with its problem and the usage hint', async () => {
    const ingrid = await staff('t-ingrid');
    expect(await check(ingrid, 'kunngjøring foreldrene Hei')).toEqual({
      ok: false,
      answer: 'broadcast.noAudience\nbroadcast.usage',
    });
    expect(await check(ingrid, 'kunngjøring klasse 3A')).toEqual({
      ok: false,
      answer: 'broadcast.noText\nbroadcast.usage',
    });
    expect(await check(ingrid, `kunngjøring klasse 3A ${'x'.repeat(MAX_TEXT + 1)}`)).toEqual({
      ok: false,
      answer: `broadcast.tooLong {"max":${MAX_TEXT}}\nbroadcast.usage`,
    });
  });

  it('answers an audience the sender may not address with the service’s explanation, and logs the refusal', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const lars = await staff('t-lars');
    expect(await check(lars, 'kunngjøring skole Hei alle sammen', log)).toEqual({
      ok: false,
      answer: 'Som kontaktlærer kan du bare sende til din egen klasse.',
    });
    expect(lines).toMatchObject([
      { msg: 'test broadcast refused', staffId: 't-lars', audience: 'school', reason: expect.any(String) },
    ]);
  });

  it('gives the draft’s input and the audience as the sender named it', async () => {
    const ingrid = await staff('t-ingrid');
    expect(await check(ingrid, 'kunngjøring klasse 3a Husk foreldremøtet\ntorsdag')).toEqual({
      ok: true,
      input: {
        audience: { kind: 'class', id: 'bjerkedalen-3a', schoolId: 'bjerkedalen' },
        text: 'Husk foreldremøtet\ntorsdag',
      },
      audience: 'broadcast.audience.class {"name":"3A"}',
    });
  });

  it('shares the keys the adapters word alike, each once', () => {
    expect(new Set(CHAT_BROADCAST_KEYS).size).toBe(CHAT_BROADCAST_KEYS.length);
    expect(CHAT_BROADCAST_KEYS).toContain('broadcast.progress.done');
    expect(CHAT_BROADCAST_KEYS).not.toContain('broadcast.usage');
  });
});

const preview = (over: Partial<PreviewView['preview']> = {}): PreviewView => ({
  id: 'bc1',
  status: 'draft',
  audience: { kind: 'class', id: 'bjerkedalen-3a', schoolId: 'bjerkedalen', classes: [] },
  text: 'Husk foreldremøtet.',
  translation: { languages: ['so'], characters: 19 },
  preview: {
    guardians: 1234,
    families: 1000,
    languages: [],
    channels: [{ channel: 'sms', messages: 3, segments: 9, seconds: 600 }],
    sms: { messages: 3, segments: 9, nok: 5.4 },
    smsOptedOut: 0,
    optedOut: 0,
    unreachable: 0,
    ...over,
  },
});

describe('the words the chat adapters share', () => {
  const now = new Date('2026-03-02T10:00:00Z');

  it('states a preview’s facts, with quiet hours and parents not reachable only when there are some', () => {
    expect(previewFacts(preview(), 'nb', now, t)).toEqual([
      'broadcast.preview.summary {"families":"1\u00a0000","guardians":"1\u00a0234","languages":"0"}',
      'broadcast.preview.sms {"messages":"3","segments":"9","cost":"5,40\u00a0kr"}',
      'broadcast.preview.time {"time":"broadcast.time.minutes {\\"count\\":10}"}',
    ]);
    const held = preview({
      sms: { messages: 0, segments: 0, nok: 0 },
      smsDeferredUntil: '2026-03-02T16:30:00Z',
      optedOut: 1,
      unreachable: 2,
    });
    expect(previewFacts(held, 'en', now, t)).toEqual([
      'broadcast.preview.summary {"families":"1,000","guardians":"1,234","languages":"0"}',
      'broadcast.preview.noSms',
      'broadcast.preview.time {"time":"broadcast.time.minutes {\\"count\\":10}"}',
      'broadcast.preview.smsDeferred {"at":"17:30"}',
      'broadcast.preview.notReachable {"count":"3"}',
    ]);
  });

  it('says how each language’s text came about', () => {
    const lang = { text: 'x', guardians: 1, channels: {} };
    expect(translationNote({ ...lang, lang: 'so', translated: true, edited: true }, t)).toBe(
      'broadcast.preview.edited',
    );
    expect(translationNote({ ...lang, lang: 'so', translated: true, edited: false }, t)).toBe(
      'broadcast.preview.translated',
    );
    expect(translationNote({ ...lang, lang: 'so', translated: false, edited: false }, t)).toBe(
      'broadcast.preview.notTranslated',
    );
    expect(translationNote({ ...lang, lang: 'nb', translated: false, edited: false }, t)).toBe('');
  });

  it('words the progress: the percentage, and where the sending stands', () => {
    const sending = progressNumbers(progressView({ guardians: 4, byStatus: { queued: 3, sent: 1 } }));
    expect(progressLine(sending, 'nb', t)).toBe(
      'broadcast.progress.percent {"percent":25,"done":"1","total":"4"}',
    );
    expect(progressStatus(sending, 'nb', t)).toBe('broadcast.progress.sending');
    expect(progressStatus(progressNumbers(progressView({ status: 'cancelled' })), 'nb', t)).toBe(
      'broadcast.progress.cancelled',
    );
    const done = (notReached: number) =>
      progressStatus(
        progressNumbers(
          progressView({
            guardians: 2,
            fannedOut: true,
            settled: true,
            status: 'sent',
            byStatus: { delivered: 2 - notReached, failed: notReached },
            notReached: Array.from({ length: notReached }, () => ({
              guardianId: 'g',
              name: 'G',
              lang: 'ur',
              classIds: [],
              channel: 'sms' as const,
              status: 'failed' as const,
              reason: '30003',
            })),
          }),
        ),
        'nb',
        t,
      );
    expect(done(0)).toBe('broadcast.progress.done {"reached":"2","total":"2"}');
    expect(done(1)).toBe('broadcast.progress.done {"reached":"1","total":"2"} broadcast.progress.report');
  });
});
