import { describe, expect, it } from 'vitest';
import {
  ADAPTIVE_CARD,
  type OutgoingMessage,
  replyMessages,
  staffNoticeMessages,
} from '../../../adapters/teams/cards.ts';

type Card = {
  version: string;
  rtl?: boolean;
  body: Array<Record<string, unknown>>;
  actions?: Array<Record<string, unknown>>;
};
const cardOf = (m: OutgoingMessage | undefined) => {
  expect(m?.attachments?.[0]?.contentType).toBe(ADAPTIVE_CARD);
  return m?.attachments?.[0]?.content as unknown as Card;
};
const reply = { text: 'Neste foreldremøte er 12. februar.', choices: [], dir: 'ltr' as const, lang: 'nb' };

describe('replies to a parent', () => {
  it('sends a reply without choices as one plain-text message', () => {
    expect(replyMessages(reply, { maxChars: 7000 })).toEqual([
      { type: 'message', text: reply.text, textFormat: 'plain', locale: 'nb' },
    ]);
  });

  it('puts choices on an Adaptive Card as Action.Submit buttons whose data names the choice', () => {
    const [message, ...rest] = replyMessages(
      {
        ...reply,
        choices: [
          { value: 'intent:contact.teacher', label: 'Kontakt læreren' },
          { value: 'no', label: 'Nei takk' },
        ],
      },
      { maxChars: 7000 },
    );
    expect(rest).toEqual([]);
    const card = cardOf(message);
    expect(card.version).toBe('1.5');
    expect(card.body).toEqual([{ type: 'TextBlock', text: reply.text, wrap: true }]);
    expect(card.actions).toEqual([
      {
        type: 'Action.Submit',
        title: 'Kontakt læreren',
        data: { choice: 'intent:contact.teacher', label: 'Kontakt læreren' },
      },
      { type: 'Action.Submit', title: 'Nei takk', data: { choice: 'no', label: 'Nei takk' } },
    ]);
    expect(card.rtl).toBeUndefined();
  });

  it('marks the card right-to-left for Urdu, Arabic and the like', () => {
    const [message] = replyMessages(
      {
        text: 'کیا میں آپ کا پیغام بھیج دوں؟',
        lang: 'ur',
        dir: 'rtl',
        choices: [{ value: 'yes', label: 'ہاں' }],
      },
      { maxChars: 7000 },
    );
    expect(cardOf(message).rtl).toBe(true);
    expect(message?.locale).toBe('ur');
  });

  it('splits a long text; the buttons come with the last part', () => {
    const text = `${'Første avsnitt. '.repeat(30).trim()}\n\n${'Andre avsnitt. '.repeat(30).trim()}`;
    const messages = replyMessages(
      { ...reply, text, choices: [{ value: 'ok', label: 'OK' }] },
      { maxChars: 500 },
    );
    expect(messages).toHaveLength(2);
    expect(messages[0]?.text).toMatch(/^Første avsnitt\./);
    expect(messages[0]?.attachments).toBeUndefined();
    expect((cardOf(messages[1]).body[0] as { text: string }).text).toMatch(/^Andre avsnitt\./);
    expect(messages.map((m) => m.text ?? (cardOf(m).body[0] as { text: string }).text).join('\n\n')).toBe(
      text,
    );
  });

  it('offers the Norwegian original of a translated staff reply, when a label is given', () => {
    const job = {
      text: '[ur] Sofie Haugen لکھتی ہیں: ...',
      lang: 'ur',
      dir: 'rtl' as const,
      choices: [],
      relay: {
        from: 'Sofie Haugen',
        original: { text: 'Takk for beskjeden!', lang: 'nb' },
        translated: true,
      },
    };
    const labels = {
      norwegian: 'Norsk',
      original: (l: string) => l,
      showOriginal: (lang: string) => (lang === 'ur' ? 'نارویجین میں اصل دیکھیں' : undefined),
    };
    const card = cardOf(replyMessages(job, { maxChars: 7000, labels })[0]);
    expect(card.actions).toEqual([
      expect.objectContaining({
        type: 'Action.ShowCard',
        title: 'نارویجین میں اصل دیکھیں',
        card: expect.objectContaining({
          lang: 'nb',
          body: [expect.objectContaining({ text: 'Takk for beskjeden!' })],
        }),
      }),
    ]);
    // Without a label, or for an untranslated reply, it is plain text.
    expect(replyMessages(job, { maxChars: 7000 })[0]?.textFormat).toBe('plain');
    expect(
      replyMessages({ ...job, relay: { ...job.relay, translated: false } }, { maxChars: 7000, labels })[0]
        ?.textFormat,
    ).toBe('plain');
  });
});

describe('staff notices', () => {
  const staff = {
    threadId: 'sms:+4791000002',
    kind: 'message',
    heading: 'Melding fra Fatima Khan om Sara (6A)',
    norwegian: { text: '[nb] Saras mattebok er borte.', translated: true },
    original: { text: 'سارہ کی ریاضی کی کتاب گم ہو گئی ہے۔', lang: 'ur', dir: 'rtl' as const },
    notes: [
      'Maskinoversatt til norsk.',
      'Svar i tråden på norsk; svaret blir oversatt til foresattes språk.',
    ],
  };

  it('shows the heading, the Norwegian and the original side by side, and the notes in small print', () => {
    const [message, ...rest] = staffNoticeMessages(staff, { maxChars: 7000 });
    expect(rest).toEqual([]);
    expect(message?.channelData).toEqual({ notification: { alert: true } });
    const card = cardOf(message);
    expect(card.body[0]).toMatchObject({ type: 'TextBlock', text: staff.heading, weight: 'Bolder' });
    expect(card.body[1]).toEqual({
      type: 'ColumnSet',
      columns: [
        {
          type: 'Column',
          width: 'stretch',
          items: [
            expect.objectContaining({ text: 'Norsk', isSubtle: true }),
            expect.objectContaining({ text: staff.norwegian.text, wrap: true }),
          ],
        },
        {
          type: 'Column',
          width: 'stretch',
          rtl: true,
          items: [
            expect.objectContaining({ text: 'Original (ur)', isSubtle: true }),
            expect.objectContaining({ text: staff.original.text, wrap: true }),
          ],
        },
      ],
    });
    expect(card.body.slice(2)).toEqual(
      staff.notes.map((n) => expect.objectContaining({ text: n, size: 'Small', isSubtle: true })),
    );
  });

  it('takes its column headings from the labels', () => {
    const card = cardOf(
      staffNoticeMessages(staff, {
        maxChars: 7000,
        labels: {
          norwegian: 'Norsk oversettelse',
          original: (lang) => `Original (${lang}):`.replace(/:$/, ''),
        },
      })[0],
    );
    const columns = (card.body[1] as { columns: Array<{ items: Array<{ text: string }> }> }).columns;
    expect(columns.map((c) => c.items[0]?.text)).toEqual(['Norsk oversettelse', 'Original (ur)']);
  });

  it('shows a Norwegian parent’s words on their own, and an absence notice as its heading', () => {
    const nb = cardOf(
      staffNoticeMessages(
        { ...staff, norwegian: { text: 'Ola trenger ny bok.', translated: false }, original: undefined },
        { maxChars: 7000 },
      )[0],
    );
    expect(nb.body[1]).toEqual({ type: 'TextBlock', text: 'Ola trenger ny bok.', wrap: true });
    const absence = cardOf(
      staffNoticeMessages(
        {
          ...staff,
          heading: 'Fravær: Sara (6A) er borte i dag.',
          norwegian: undefined,
          original: undefined,
          notes: [],
        },
        { maxChars: 7000 },
      )[0],
    );
    expect(absence.body).toEqual([expect.objectContaining({ text: 'Fravær: Sara (6A) er borte i dag.' })]);
  });

  it('sends a notice too big for one Teams message in parts: the card, then the original', () => {
    const long = { ...staff, original: { ...staff.original, text: 'گم '.repeat(4000).trim() } };
    const messages = staffNoticeMessages(long, { maxChars: 7000 });
    expect(messages.length).toBeGreaterThan(2);
    const card = cardOf(messages[0]);
    expect(card.body[1]).toEqual(expect.objectContaining({ type: 'TextBlock', text: staff.norwegian.text }));
    expect(messages[1]?.text).toMatch(/^Original \(ur\)\nگم/);
    for (const m of messages.slice(1)) expect((m.text ?? '').length).toBeLessThanOrEqual(7000);
    expect(
      messages
        .slice(1)
        .map((m) => m.text)
        .join(' ')
        .replace('Original (ur)\n', ''),
    ).toBe(long.original.text);
    // A card over the byte budget is split the same way, even when each text is short enough.
    expect(staffNoticeMessages(staff, { maxChars: 7000, maxCardBytes: 500 })).toHaveLength(2);
  });
});
