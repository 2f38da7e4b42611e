import type { types } from '@slack/bolt';
import type { OutboundJob } from '../../src/queue/jobs.ts';
import { splitText } from '../../src/text.ts';

/**
 * Replies and staff notices as Slack messages: Block Kit within Slack's limits, with a
 * plain fallback `text` for notifications and screen readers. Words people wrote go in
 * `plain_text` objects (no markup at all); where mrkdwn is needed, they are escaped. Pure.
 */

export type Block = types.KnownBlock;

/** One chat.postMessage: its fallback text (sent with `mrkdwn: false`) and its blocks. */
export interface SlackMessage {
  text: string;
  blocks: Block[];
}

/** Slack's limits (DOMAIN.md, Block Kit reference). */
export const LIMITS = {
  /** Text of one message we send: Slack truncates at 40,000, and 4,000 reads well. */
  messageChars: 4000,
  blocksPerMessage: 50,
  sectionText: 3000,
  fieldText: 2000,
  fieldsPerSection: 10,
  contextElements: 10,
  contextText: 3000,
  headerText: 150,
  buttonText: 75,
  buttonValue: 2000,
  buttonsPerActions: 25,
} as const;

/** The three characters Slack reads as markup in `text` and mrkdwn: `&`, `<`, `>`. */
export function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Cuts to at most `max` characters with an ellipsis, never inside a surrogate pair. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = max - 1;
  if (/[\uD800-\uDBFF]/.test(text.charAt(cut - 1))) cut -= 1;
  return `${text.slice(0, cut)}…`;
}

const plain = (text: string): types.PlainTextElement => ({ type: 'plain_text', text, emoji: true });
const mrkdwn = (text: string): types.MrkdwnElement => ({ type: 'mrkdwn', text, verbatim: true });
const bold = (text: string) => mrkdwn(`*${escapeText(text)}*`);

/** Sections of at most 3,000 characters each, cut at paragraph, sentence or word breaks. */
export function sections(text: string): Block[] {
  return splitText(text, LIMITS.sectionText).map((part) => ({ type: 'section', text: plain(part) }));
}

/** A context block per ten elements. */
function context(elements: Array<types.PlainTextElement | types.MrkdwnElement>): Block[] {
  const blocks: Block[] = [];
  for (let i = 0; i < elements.length; i += LIMITS.contextElements) {
    blocks.push({ type: 'context', elements: elements.slice(i, i + LIMITS.contextElements) });
  }
  return blocks;
}

/** Choices as buttons (action ids `choice:<n>`, value the choice's value), 25 to an actions block. */
export function buttons(choices: ReadonlyArray<{ value: string; label: string }>): Block[] {
  const all: types.Button[] = choices.map((c, i) => ({
    type: 'button',
    action_id: `choice:${i}`,
    text: plain(truncate(c.label.trim() || c.value, LIMITS.buttonText)),
    value: c.value.slice(0, LIMITS.buttonValue),
  }));
  const blocks: Block[] = [];
  for (let i = 0; i < all.length; i += LIMITS.buttonsPerActions) {
    blocks.push({ type: 'actions', elements: all.slice(i, i + LIMITS.buttonsPerActions) });
  }
  return blocks;
}

/**
 * Packs text parts and trailing blocks into messages: one message per part, the trailing
 * blocks on the last one, spilling into further messages at 50 blocks. A message of
 * spilled blocks only has `spillText` as its fallback.
 */
function pack(parts: string[], trailing: Block[], spillText: string): SlackMessage[] {
  const messages: SlackMessage[] = parts.map((part) => ({ text: escapeText(part), blocks: sections(part) }));
  if (messages.length === 0) messages.push({ text: escapeText(spillText), blocks: [] });
  let rest = trailing;
  while (rest.length > 0) {
    let last = messages.at(-1) as SlackMessage;
    if (last.blocks.length >= LIMITS.blocksPerMessage) {
      last = { text: escapeText(spillText), blocks: [] };
      messages.push(last);
    }
    const room = LIMITS.blocksPerMessage - last.blocks.length;
    last.blocks.push(...rest.slice(0, room));
    rest = rest.slice(room);
  }
  return messages;
}

export interface ReplyLabels {
  /** Above a relayed message's original ("The Norwegian original:"), in the reader's language. */
  original: string;
}

/**
 * A reply to a parent: its text (split at `maxChars`, at most 4,000, per message and
 * 3,000 per section), choices as buttons on the last message and, for a staff member's
 * machine-translated words (`relay`), the Norwegian original as a context block under
 * them. The text itself already says that it was machine-translated.
 */
export function renderReply(
  job: Pick<OutboundJob, 'text' | 'choices' | 'relay'>,
  labels: ReplyLabels,
  maxChars: number = LIMITS.messageChars,
): SlackMessage[] {
  const parts = splitText(job.text, Math.min(maxChars, LIMITS.messageChars));
  const trailing: Block[] = [];
  const original = job.relay?.original;
  // Untranslated, the text is the original already.
  if (original?.text.trim() && job.relay?.translated) {
    const chunks = splitText(original.text, LIMITS.contextText);
    trailing.push(...context([bold(labels.original), ...chunks.map(plain)]));
  }
  trailing.push(...buttons(job.choices));
  return pack(parts, trailing, job.choices.map((c) => c.label).join(' · ') || labels.original);
}

export interface NoticeLabels {
  /** Title over the Norwegian text ("Norsk"). */
  norwegian: string;
  /** Title over the original, given its language code ("Original (so):"). */
  original(lang: string): string;
}

/**
 * A staff notice: the heading, the Norwegian text and the original side by side (a
 * two-column grid of section fields; stacked sections when either is longer than a field
 * holds), and the notes as context. `mention` (a user id) is named first, for notices in
 * a shared channel.
 */
export function renderStaffNotice(
  job: Pick<OutboundJob, 'text'> & { staff: NonNullable<OutboundJob['staff']> },
  labels: NoticeLabels,
  mention?: string,
): SlackMessage[] {
  const { staff } = job;
  const blocks: Block[] = [];
  if (mention) blocks.push({ type: 'context', elements: [mrkdwn(`<@${mention}>`)] });
  const heading = staff.heading.trim();
  if (heading.length <= LIMITS.headerText) blocks.push({ type: 'header', text: plain(heading) });
  else blocks.push(...sections(heading));

  const norwegian = staff.norwegian?.text.trim();
  const original = staff.original?.text.trim() ? staff.original : undefined;
  if (norwegian && original) {
    const titles = [labels.norwegian, labels.original(original.lang)] as const;
    const originalText = original.text.trim();
    if (norwegian.length <= LIMITS.fieldText && originalText.length <= LIMITS.fieldText) {
      // Fields fill a two-column grid row by row: the titles on the first row, the texts under them.
      blocks.push({
        type: 'section',
        fields: [bold(titles[0]), bold(titles[1]), plain(norwegian), plain(originalText)],
      });
    } else {
      blocks.push({ type: 'section', text: bold(titles[0]) }, ...sections(norwegian));
      blocks.push({ type: 'section', text: bold(titles[1]) }, ...sections(originalText));
    }
  } else if (norwegian) {
    blocks.push(...sections(norwegian));
  } else if (original) {
    blocks.push({ type: 'section', text: bold(labels.original(original.lang)) }, ...sections(original.text));
  }
  const notes = staff.notes.map((n) => n.trim()).filter(Boolean);
  blocks.push(...context(notes.map((n) => plain(truncate(n, LIMITS.contextText)))));

  // The mention is markup and stays as is; the rest is escaped after cutting, so no entity is cut.
  const body = escapeText(truncate(job.text.trim() || heading, LIMITS.messageChars));
  const fallback = mention ? `<@${mention}> ${body}` : body;
  const messages: SlackMessage[] = [];
  for (let i = 0; i < blocks.length; i += LIMITS.blocksPerMessage) {
    messages.push({
      text: i === 0 ? fallback : escapeText(truncate(heading, LIMITS.headerText)),
      blocks: blocks.slice(i, i + LIMITS.blocksPerMessage),
    });
  }
  return messages;
}
