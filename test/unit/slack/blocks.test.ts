import { describe, expect, it } from 'vitest';
import {
  buttons,
  escapeText,
  LIMITS,
  renderReply,
  renderStaffNotice,
  type SlackMessage,
  truncate,
} from '../../../adapters/slack/blocks.ts';
import { checkBlocks } from '../../../adapters/slack/fake-slack.ts';
import type { OutboundJob } from '../../../src/queue/jobs.ts';

const labels = { original: 'The Norwegian original:' };
const noticeLabels = { norwegian: 'Norsk', original: (lang: string) => `Original (${lang}):` };
type Staff = NonNullable<OutboundJob['staff']>;

/** Every message within Slack's limits, as the fake Slack checks them. */
function expectWithinLimits(messages: SlackMessage[]) {
  for (const m of messages) {
    expect(checkBlocks(m.blocks as unknown as Array<Record<string, unknown>>)).toBeUndefined();
    expect(m.text.length).toBeGreaterThan(0);
  }
}

const staff = (extra: Partial<Staff> = {}): Staff => ({
  threadId: 'sms:+4791000001',
  kind: 'message',
  heading: 'Melding fra Amina Hassan om Yusuf (3A)',
  norwegian: { text: 'Yusuf er syk i dag.', translated: true },
  original: { text: 'Yusuf wuu xanuunsan yahay maanta.', lang: 'so', dir: 'ltr' },
  notes: ['Maskinoversatt til norsk.', 'Svar i tråden på norsk.'],
  ...extra,
});

describe('escaping and cutting', () => {
  it('escapes exactly the three characters Slack reads as markup', () => {
    expect(escapeText('Fish & <chips> *bold* _it_ <!channel>')).toBe(
      'Fish &amp; &lt;chips&gt; *bold* _it_ &lt;!channel&gt;',
    );
  });

  it('cuts with an ellipsis, never inside a surrogate pair', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 4)).toBe('abc');
    const cut = truncate('ab😀cd', 4);
    expect(cut.length).toBeLessThanOrEqual(4);
    expect(cut).toBe('ab…');
  });
});

describe('renderReply', () => {
  it('is one section of plain text, escaped only in the fallback text', () => {
    const [m, ...rest] = renderReply({ text: 'Møtet er 12. september <kl. 18>.', choices: [] }, labels);
    expect(rest).toEqual([]);
    expect(m).toEqual({
      text: 'Møtet er 12. september &lt;kl. 18&gt;.',
      blocks: [
        {
          type: 'section',
          text: { type: 'plain_text', text: 'Møtet er 12. september <kl. 18>.', emoji: true },
        },
      ],
    });
  });

  it('renders choices as buttons with the choice value, 25 to a block, labels cut at 75', () => {
    const choices = Array.from({ length: 30 }, (_, i) => ({
      value: `v${i}`,
      label: `Option ${i} ${'x'.repeat(80)}`,
    }));
    const [m] = renderReply({ text: 'Pick one', choices }, labels);
    const actions = m?.blocks.filter((b) => b.type === 'actions') ?? [];
    expect(actions).toHaveLength(2);
    expect(actions.map((a) => (a as { elements: unknown[] }).elements.length)).toEqual([25, 5]);
    const first = (
      actions[0] as { elements: Array<{ action_id: string; value: string; text: { text: string } }> }
    ).elements[0];
    expect(first).toMatchObject({ action_id: 'choice:0', value: 'v0' });
    expect(first?.text.text.length).toBe(LIMITS.buttonText);
    expectWithinLimits(renderReply({ text: 'Pick one', choices }, labels));
  });

  it('splits a long text into messages of at most 4,000 characters and sections of at most 3,000', () => {
    const text = Array.from({ length: 12 }, (_, i) => `Avsnitt ${i}. ${'ord '.repeat(200).trim()}.`).join(
      '\n\n',
    );
    const messages = renderReply({ text, choices: [{ value: 'ok', label: 'OK' }] }, labels);
    expect(messages.length).toBeGreaterThan(2);
    for (const m of messages) {
      expect(m.text.length).toBeLessThanOrEqual(4000);
      for (const b of m.blocks)
        if (b.type === 'section') expect(b.text?.text.length).toBeLessThanOrEqual(3000);
    }
    // Buttons come last, on the last message only.
    expect(messages.at(-1)?.blocks.at(-1)?.type).toBe('actions');
    expect(
      messages
        .slice(0, -1)
        .flatMap((m) => m.blocks)
        .some((b) => b.type === 'actions'),
    ).toBe(false);
    // Nothing is lost: the sections hold every word.
    const words = messages
      .flatMap((m) => m.blocks)
      .map((b) => (b.type === 'section' ? b.text?.text : ''))
      .join(' ');
    expect(words.split(/\s+/).filter(Boolean).length).toBe(text.split(/\s+/).length);
    expectWithinLimits(messages);
  });

  it('cuts one unbroken 5,000-character word between graphemes', () => {
    const messages = renderReply({ text: 'x'.repeat(5000), choices: [] }, labels);
    expect(
      messages.map((m) => m.blocks.map((b) => (b.type === 'section' ? b.text?.text.length : 0))),
    ).toEqual([[3000, 1000], [1000]]);
    expectWithinLimits(messages);
  });

  it('spills blocks past 50 into another message', () => {
    const choices = Array.from({ length: 51 * 25 }, (_, i) => ({ value: `v${i}`, label: `${i}` }));
    const messages = renderReply({ text: 'Many', choices }, labels);
    expect(messages).toHaveLength(2);
    expect(messages[0]?.blocks).toHaveLength(50);
    expect(messages[1]?.blocks).toHaveLength(2);
    expectWithinLimits(messages);
  });

  it("adds the original under a staff member's translated words, not under untranslated ones", () => {
    const relay = {
      from: 'Ingrid Berg',
      original: { text: 'God bedring & lykke til!', lang: 'nb' },
      translated: true,
    };
    const [m] = renderReply({ text: '[en] Get well & good luck!', choices: [], relay }, labels);
    expect(m?.blocks.at(-1)).toEqual({
      type: 'context',
      elements: [
        { type: 'mrkdwn', text: '*The Norwegian original:*', verbatim: true },
        { type: 'plain_text', text: 'God bedring & lykke til!', emoji: true },
      ],
    });
    const [same] = renderReply(
      { text: 'God bedring!', choices: [], relay: { ...relay, translated: false } },
      labels,
    );
    expect(same?.blocks.map((b) => b.type)).toEqual(['section']);
  });
});

describe('renderStaffNotice', () => {
  it('puts the heading in a header and the Norwegian text beside the original, the notes under them', () => {
    const [m, ...rest] = renderStaffNotice({ text: 'fallback & text', staff: staff() }, noticeLabels);
    expect(rest).toEqual([]);
    expect(m?.text).toBe('fallback &amp; text');
    expect(m?.blocks).toEqual([
      {
        type: 'header',
        text: { type: 'plain_text', text: 'Melding fra Amina Hassan om Yusuf (3A)', emoji: true },
      },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: '*Norsk*', verbatim: true },
          { type: 'mrkdwn', text: '*Original (so):*', verbatim: true },
          { type: 'plain_text', text: 'Yusuf er syk i dag.', emoji: true },
          { type: 'plain_text', text: 'Yusuf wuu xanuunsan yahay maanta.', emoji: true },
        ],
      },
      {
        type: 'context',
        elements: [
          { type: 'plain_text', text: 'Maskinoversatt til norsk.', emoji: true },
          { type: 'plain_text', text: 'Svar i tråden på norsk.', emoji: true },
        ],
      },
    ]);
  });

  it('stacks the two texts when one is longer than a field holds', () => {
    const long = `${'Lang melding. '.repeat(300).trim()}`;
    const [m] = renderStaffNotice(
      { text: 'x', staff: staff({ norwegian: { text: long, translated: true } }) },
      noticeLabels,
    );
    expect(m?.blocks.map((b) => b.type)).toEqual([
      'header',
      'section',
      'section',
      'section',
      'section',
      'section',
      'context',
    ]);
    expect(m?.blocks.some((b) => b.type === 'section' && b.fields)).toBe(false);
    expectWithinLimits([m as SlackMessage]);
  });

  it('shows a notice without words (absence) as heading and notes only, and a long heading as a section', () => {
    const [bare] = renderStaffNotice(
      {
        text: 'Fravær',
        staff: { threadId: 't', kind: 'absence', heading: 'Fravær: Yusuf (3A) er borte i dag.', notes: [] },
      },
      noticeLabels,
    );
    expect(bare?.blocks).toEqual([
      {
        type: 'header',
        text: { type: 'plain_text', text: 'Fravær: Yusuf (3A) er borte i dag.', emoji: true },
      },
    ]);
    const [long] = renderStaffNotice({ text: 'x', staff: staff({ heading: 'H'.repeat(200) }) }, noticeLabels);
    expect(long?.blocks[0]?.type).toBe('section');
  });

  it('names the staff member first in a shared channel', () => {
    const [m] = renderStaffNotice({ text: 'Melding', staff: staff() }, noticeLabels, 'U07INGRID01');
    expect(m?.text).toBe('<@U07INGRID01> Melding');
    expect(m?.blocks[0]).toEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: '<@U07INGRID01>', verbatim: true }],
    });
  });

  it('keeps markup people wrote from acting as markup', () => {
    const [m] = renderStaffNotice(
      {
        text: 'Hei <!channel> *alle*',
        staff: staff({ original: { text: '<!channel> hei', lang: 'so', dir: 'ltr' } }),
      },
      noticeLabels,
    );
    expect(m?.text).toBe('Hei &lt;!channel&gt; *alle*');
    const fields =
      (m?.blocks[1] as unknown as { fields: Array<{ type: string; text: string }> } | undefined)?.fields ??
      [];
    expect(fields[3]).toEqual({ type: 'plain_text', text: '<!channel> hei', emoji: true });
  });
});

describe('buttons', () => {
  it('is empty without choices', () => {
    expect(buttons([])).toEqual([]);
  });
});
