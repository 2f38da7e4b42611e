import type { OutboundJob } from '../../src/queue/jobs.ts';
import { splitText } from '../../src/text.ts';

/**
 * Teams messages built from outbound jobs: plain text, Adaptive Cards with Action.Submit
 * buttons for choices, and the staff notice card with the Norwegian text and the
 * original side by side. Pure.
 */

export const ADAPTIVE_CARD = 'application/vnd.microsoft.card.adaptive';
/** Adaptive Cards 1.5: Teams desktop, web and mobile render it (rtl on containers included). */
const CARD_VERSION = '1.5';
/**
 * Teams refuses a message of more than about 28 KB, envelope included; a card above this
 * many bytes of JSON is sent in parts instead.
 */
export const MAX_CARD_BYTES = 24_000;

/** Words the adapter shows around a job's own text. Staff read Norwegian; `showOriginal` speaks the parent's language. */
export interface TeamsLabels {
  /** Heading of the Norwegian column of a staff notice. Default "Norsk". */
  norwegian: string;
  /** Heading of the original's column. Default "Original (<lang>)". */
  original(lang: string): string;
  /** Title of the button that shows a translated staff reply's Norwegian original; undefined: no button. */
  showOriginal?(lang: string): string | undefined;
}

export const DEFAULT_LABELS: TeamsLabels = {
  norwegian: 'Norsk',
  original: (lang) => `Original (${lang})`,
};

export interface Attachment {
  contentType: string;
  content: Record<string, unknown>;
}

/** The part of a Bot Framework message activity that we fill in. */
export interface OutgoingMessage {
  type: 'message';
  text?: string;
  textFormat?: 'plain';
  attachments?: Attachment[];
  locale?: string;
  channelData?: Record<string, unknown>;
  /** Set from the conversation reference when sent. */
  from?: { id: string };
  recipient?: { id: string };
  conversation?: { id: string };
}

/** One element of an Adaptive Card's body or actions, as plain JSON. */
export type Element = Record<string, unknown>;

/** A wrapping TextBlock (plain text; Teams renders a little markdown in it). */
export const textBlock = (text: string, extra: Element = {}): Element => ({
  type: 'TextBlock',
  text,
  wrap: true,
  ...extra,
});

/** An Adaptive Card 1.5 at full width, with its body, actions and fallback text. */
export function adaptiveCard(
  body: Element[],
  opts: { rtl?: boolean; actions?: Element[]; fallbackText?: string; lang?: string },
) {
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: CARD_VERSION,
    ...(opts.lang ? { lang: opts.lang } : {}),
    ...(opts.rtl ? { rtl: true } : {}),
    ...(opts.fallbackText ? { fallbackText: opts.fallbackText } : {}),
    msteams: { width: 'Full' },
    body,
    ...(opts.actions && opts.actions.length > 0 ? { actions: opts.actions } : {}),
  };
}

/** A plain-text message. */
export const plainMessage = (text: string, locale?: string): OutgoingMessage => ({
  type: 'message',
  text,
  textFormat: 'plain',
  ...(locale ? { locale } : {}),
});

/** A message carrying one Adaptive Card. */
export const withCard = (content: Record<string, unknown>, locale?: string): OutgoingMessage => ({
  type: 'message',
  attachments: [{ contentType: ADAPTIVE_CARD, content }],
  ...(locale ? { locale } : {}),
});

/** The size of a card or message as JSON, in bytes (Teams limits a message to about 28 KB). */
export const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

/**
 * A reply to a parent (or anyone in a one-to-one chat): the text, split at `maxChars`;
 * the last part carries the choices as Action.Submit buttons, whose data comes back as
 * the message's `value` ({ choice, label }). A translated staff reply gets a button that
 * shows the Norwegian original, when `labels.showOriginal` names it.
 */
export function replyMessages(
  job: Pick<OutboundJob, 'text' | 'choices' | 'dir' | 'lang' | 'relay'>,
  opts: { maxChars: number; labels?: TeamsLabels },
): OutgoingMessage[] {
  const parts = splitText(job.text, opts.maxChars);
  if (parts.length === 0) parts.push('');
  const last = parts.pop() as string;
  const actions: Element[] = job.choices.map((c) => ({
    type: 'Action.Submit',
    title: c.label,
    data: { choice: c.value, label: c.label },
  }));
  const showOriginal = job.relay?.translated ? opts.labels?.showOriginal?.(job.lang) : undefined;
  if (showOriginal && job.relay) {
    actions.push({
      type: 'Action.ShowCard',
      title: showOriginal,
      card: adaptiveCard([textBlock(job.relay.original.text, { isSubtle: true })], {
        lang: job.relay.original.lang,
      }),
    });
  }
  const messages = parts.map((p) => plainMessage(p, job.lang));
  if (actions.length === 0) return [...messages, plainMessage(last, job.lang)];
  const content = adaptiveCard([textBlock(last)], {
    rtl: job.dir === 'rtl',
    actions,
    fallbackText: last,
    lang: job.lang,
  });
  return [...messages, withCard(content, job.lang)];
}

type StaffPayload = NonNullable<OutboundJob['staff']>;

/**
 * A staff notice: a card with the heading, the parent's words in Norwegian beside the
 * original (a ColumnSet; the original's column right-to-left where its script is), and
 * the notes in small print. When that card would be too big for one Teams message, the
 * card carries the Norwegian and the original follows in plain messages, in order.
 */
export function staffNoticeMessages(
  staff: StaffPayload,
  opts: { maxChars: number; labels?: TeamsLabels; maxCardBytes?: number },
): OutgoingMessage[] {
  const labels = opts.labels ?? DEFAULT_LABELS;
  const maxBytes = opts.maxCardBytes ?? MAX_CARD_BYTES;
  const heading = textBlock(staff.heading, { weight: 'Bolder', size: 'Medium', style: 'heading' });
  const notes = staff.notes.map((n) => textBlock(n, { size: 'Small', isSubtle: true, spacing: 'Small' }));
  const column = (title: string, text: string, rtl: boolean): Element => ({
    type: 'Column',
    width: 'stretch',
    ...(rtl ? { rtl: true } : {}),
    items: [textBlock(title, { size: 'Small', isSubtle: true, weight: 'Bolder' }), textBlock(text)],
  });
  const { norwegian, original } = staff;
  const alert = { notification: { alert: true } };

  if (norwegian && original) {
    const sideBySide = adaptiveCard(
      [
        heading,
        {
          type: 'ColumnSet',
          columns: [
            column(labels.norwegian, norwegian.text, false),
            column(labels.original(original.lang), original.text, original.dir === 'rtl'),
          ],
        },
        ...notes,
      ],
      { fallbackText: staff.heading, lang: 'nb' },
    );
    const fits =
      norwegian.text.length <= opts.maxChars &&
      original.text.length <= opts.maxChars &&
      bytes(sideBySide) <= maxBytes;
    if (fits) return [{ ...withCard(sideBySide, 'nb'), channelData: alert }];
  }
  const [first = '', ...rest] = norwegian ? splitText(norwegian.text, opts.maxChars) : [];
  const body = [heading, ...(first ? [textBlock(first)] : []), ...notes];
  const messages: OutgoingMessage[] = [
    {
      ...withCard(adaptiveCard(body, { fallbackText: staff.heading, lang: 'nb' }), 'nb'),
      channelData: alert,
    },
    ...rest.map((p) => plainMessage(p, 'nb')),
  ];
  if (original) {
    const parts = splitText(`${labels.original(original.lang)}\n${original.text}`, opts.maxChars);
    messages.push(...parts.map((p) => plainMessage(p, original.lang)));
  }
  return messages;
}
