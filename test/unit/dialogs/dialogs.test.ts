import { describe, expect, it } from 'vitest';
import { INTENTS } from '../../../src/engine/types.ts';
import { conversation } from '../../helpers/world.ts';

const LANGS = ['nb', 'en', 'so', 'pl'] as const;
/** Monday 23 November 2026, 08:00 in Oslo. */
const AT = '2026-11-23T08:00:00+01:00';

/** Nothing a parent sees may be a key name, a placeholder or raw term markup. */
function expectClean(text: string) {
  expect(text.trim()).not.toBe('');
  expect(text).not.toMatch(
    /\[\[|\]\]|\{\w+(:\w+)?\}|\b(common|menu|absence|leave|contact|meetings|standard)\.\w+/,
  );
}

describe.each(LANGS)('every dialog answers in %s', (lang) => {
  it.each(INTENTS.filter((i) => i !== 'language.change'))('%s', async (intent) => {
    const chat = await conversation('kari', { at: AT });
    chat.send('', `lang:${lang}`);
    const said = chat.send('', `intent:${intent}`);
    expect(said.lang).toBe(lang);
    expectClean(said.text);
    for (const c of said.choices) expectClean(c.label);
  });
});

describe('contact.teacher', () => {
  it.each([
    ['nb', 'Hvem er kontaktlæreren til Ola?'],
    ['en', "who is my son's teacher? I need her email"],
    ['so', 'Yaa ah kontaktlærer-ka wiilkayga?'],
    ['pl', 'Kto jest wychowawcą mojego syna? kontaktlærer'],
  ])('%s: names the kontaktlærer, glosses the term, offers to pass a message', async (lang, text) => {
    const chat = await conversation('kari', { at: AT });
    chat.send('', `lang:${lang}`);
    const said = chat.send(text);
    expect(said.lang).toBe(lang);
    expect(said.text).toContain('Sofie Haugen');
    expect(said.text).toContain('sofie.haugen@bjerkedalen.example');
    expect(said.text).toMatch(/kontaktlærer/i);
    expect(said.choices.map((c) => c.value)).toContain('relay:start');
  });

  it('passes a message on as relayToStaff, in the parent’s words and language', async () => {
    const chat = await conversation('amina', { at: AT });
    chat.send('', 'intent:contact.teacher');
    chat.send('', 'relay:start');
    const said = chat.send('Yusuf wuxuu u baahan yahay buug cusub');
    expect(said.actions).toEqual([
      {
        type: 'relayToStaff',
        to: { role: 'kontaktlaerer', childId: 'p-yusuf' },
        childId: 'p-yusuf',
        text: 'Yusuf wuxuu u baahan yahay buug cusub',
        lang: 'so',
      },
    ]);
    expect(said.text).toContain('Ingrid Berg');
  });
});

describe('meetings.next', () => {
  it('gives the next foreldremøte and utviklingssamtale of the child’s class (en)', async () => {
    const chat = await conversation('john', { at: AT });
    const said = chat.send('When is the next parent meeting?');
    expect(said.text).toContain('foreldremøte');
    // 6A: utviklingssamtaler from 23 Nov 2026; foreldremøte 12 Feb 2027.
    expect(said.text).toMatch(/23 November 2026/);
    expect(said.text).toMatch(/12 February 2027/);
  });

  it('asks which child when there are several, then answers for that one (nb)', async () => {
    const chat = await conversation('fatima', { at: AT });
    chat.send('', 'lang:nb');
    const ask = chat.send('Når er neste foreldremøte?');
    expect(ask.choices.map((c) => c.value)).toEqual(['child:p-ali', 'child:p-sara']);
    const said = chat.send('', 'child:p-sara');
    expect(said.text).toContain('6A');
  });

  it('says when nothing is scheduled yet', async () => {
    const chat = await conversation('john', { at: '2027-05-10T08:00:00+02:00' });
    const said = chat.send('', 'intent:meetings.next');
    expect(said.text).toContain('No [[foreldremøte]]'.replace(/\[\[|\]\]/g, ''));
  });

  it('gives an unverified sender no dates or names', async () => {
    const chat = await conversation(null, { at: AT });
    const said = chat.send('When is the next foreldremøte for my daughter?');
    expect(said.text).not.toMatch(/2026|2027|6A|Sofie/);
    expect(said.text).toMatch(/registered/);
  });
});

describe('absence.report', () => {
  it('nb: one child, today → confirm → notice to the kontaktlærer without a reason', async () => {
    const chat = await conversation('kari', { at: AT });
    const first = chat.send('Ola er syk i dag og har feber');
    expect(first.text).toMatch(/Melde Ola borte mandag 23\. november 2026\?/);
    const sent = chat.send('', 'yes');
    expect(sent.actions).toEqual([
      {
        type: 'notifyStaff',
        to: [{ role: 'kontaktlaerer', childId: 'p-ola' }],
        notice: {
          kind: 'absence',
          childId: 'p-ola',
          classId: 'bjerkedalen-6a',
          days: ['2026-11-23'],
          mode: 'absent',
        },
      },
    ]);
    expect(JSON.stringify(sent.actions)).not.toMatch(/feber|syk/);
    expect(sent.text).toContain('Sofie Haugen');
    expect(sent.text).toMatch(/grunn/);
    expect(sent.state.active).toBeNull();
  });

  it('en: two children → which child → which day → arriving late at a time', async () => {
    const chat = await conversation('fatima', { at: AT });
    chat.send('', 'lang:en');
    const which = chat.send('I need to report absence');
    expect(which.choices.map((c) => c.value)).toEqual(['child:p-ali', 'child:p-sara']);
    const day = chat.send('', 'child:p-ali');
    expect(day.choices.map((c) => c.value)).toContain('day:late');
    const time = chat.send('', 'day:late');
    expect(time.text).toMatch(/what time/i);
    const confirm = chat.send('10:30');
    expect(confirm.text).toMatch(/Ali will arrive late on Monday,? 23 November 2026, at about 10:30/);
    const sent = chat.send('yes');
    expect(sent.actions[0]).toMatchObject({
      type: 'notifyStaff',
      notice: { childId: 'p-ali', mode: 'late', time: '10:30' },
    });
  });

  it('pl: tomorrow, in Polish', async () => {
    const chat = await conversation('anna', { at: AT });
    const confirm = chat.send('Dzień dobry, Zofia jutro nie przyjdzie do szkoły');
    expect(confirm.lang).toBe('pl');
    expect(confirm.text).toContain('Zofia');
    expect(confirm.text).toMatch(/24 listopada 2026/);
    const sent = chat.send('tak');
    expect(sent.actions[0]).toMatchObject({ type: 'notifyStaff', notice: { days: ['2026-11-24'] } });
  });

  it('so: a date written 26.11', async () => {
    const chat = await conversation('amina', { at: AT });
    chat.send('', 'intent:absence.report');
    const confirm = chat.send('26.11');
    expect(confirm.lang).toBe('so');
    expect(confirm.text).toContain('Yusuf');
    const sent = chat.send('', 'yes');
    expect(sent.actions[0]).toMatchObject({ notice: { days: ['2026-11-26'] } });
  });

  it('can be cancelled in the middle', async () => {
    const chat = await conversation('fatima', { at: AT });
    chat.send('', 'lang:nb');
    chat.send('', 'intent:absence.report');
    const said = chat.send('avbryt');
    expect(said.actions).toEqual([]);
    expect(said.state.active).toBeNull();
    expect(said.text).toMatch(/avbrutt/);
  });

  it('re-asks when the answer is not understood, and keeps the flow', async () => {
    const chat = await conversation('kari', { at: AT });
    chat.send('', 'lang:en');
    chat.send('', 'intent:absence.report');
    const said = chat.send('hmm');
    expect(said.text).toMatch(/did not quite get that/);
    expect(said.state.active?.name).toBe('absence');
  });
});

describe('safety.concern', () => {
  it.each([
    ['nb', 'Datteren min blir mobbet hver dag i friminuttet'],
    ['en', 'my son is being bullied and beaten by older kids'],
    ['so', 'Wiilkayga waa la bahdilaa oo la garaacaa dugsiga'],
    ['pl', 'Mój syn jest prześladowany w szkole, boi się chodzić'],
  ])('%s: escalates to the kontaktlærer and the rektor, and says a person follows up', async (lang, text) => {
    const chat = await conversation('kari', { at: AT });
    chat.send('', `lang:${lang}`);
    const said = chat.send(text);
    expect(said.actions).toEqual([
      {
        type: 'escalate',
        reason: 'safety',
        to: [{ role: 'kontaktlaerer', childId: 'p-ola' }, { role: 'rektor' }],
        childId: 'p-ola',
        text,
        lang,
      },
    ]);
    expect(said.text).toMatch(/112/);
  });

  it('outranks an open flow', async () => {
    const chat = await conversation('kari', { at: AT });
    chat.send('', 'lang:en');
    chat.send('', 'intent:absence.report');
    const said = chat.send('he will not come because other kids bully him and hit him every day');
    expect(said.actions[0]).toMatchObject({ type: 'escalate', reason: 'safety' });
  });
});

describe('leave.request', () => {
  it('en: explains the rules, then sends a request to the rektor', async () => {
    const chat = await conversation('john', { at: AT });
    const rules = chat.send('Can I take my daughter out of school for a family trip?');
    expect(rules.text).toMatch(/before you book/);
    expect(rules.text).toMatch(/10 school days/);
    expect(rules.text).toMatch(/religious/);
    expect(rules.text).toMatch(/appeal/);
    chat.send('', 'leave:apply');
    const confirm = chat.send('8.3 - 12.3.2027');
    expect(confirm.text).toMatch(/8 March 2027/);
    const sent = chat.send('', 'yes');
    expect(sent.actions[0]).toMatchObject({
      type: 'notifyStaff',
      to: [{ role: 'rektor' }, { role: 'kontaktlaerer', childId: 'p-emma' }],
      notice: { kind: 'leave', from: '2027-03-08', to: '2027-03-12' },
    });
  });
});

describe('holidays.dates', () => {
  it('reads the coming holidays from the loaded calendar, glossed', async () => {
    const chat = await conversation('john', { at: AT });
    const said = chat.send('', 'intent:holidays.dates');
    expect(said.text).toMatch(
      /Juleferie \(Christmas holiday\): Monday,? 21 December 2026 – Friday,? 1 January 2027/,
    );
    expect(said.text).toMatch(/Vinterferie/);
  });

  it('uses the 2024/25 calendar in 2024', async () => {
    const chat = await conversation('kari', { at: '2025-02-01T10:00:00+01:00' });
    const said = chat.send('', 'intent:holidays.dates');
    expect(said.text).toMatch(/Vinterferie: mandag 17. februar 2025 – fredag 21. februar 2025/);
  });
});

describe('expectations', () => {
  it('answers the area asked about, then offers the others (en)', async () => {
    const chat = await conversation('john', { at: AT });
    const said = chat.send('What can I expect about homework and learning?', 'intent:expectations.school');
    expect(said.text).toMatch(/Teaching and learning/);
    expect(said.text).toMatch(/Oslo standard/);
    expect(said.choices.map((c) => c.value)).toEqual([
      'area:fag:home',
      'area:trygghet:school',
      'area:dialog:school',
    ]);
  });

  it('shows the three areas when no area is named, and follows a pick (nb)', async () => {
    const chat = await conversation('kari', { at: AT });
    const overview = chat.send('', 'intent:expectations.home');
    expect(overview.choices.map((c) => c.label)).toEqual([
      'Fag og læring',
      'Trygghet og trivsel',
      'Dialog og samarbeid',
    ]);
    const said = chat.send('', 'area:fag:home');
    expect(said.text).toMatch(/fast tid/);
  });
});

describe('clarify and fall-backs', () => {
  it('offers the top two intents and a person when unsure', async () => {
    const chat = await conversation('kari', { at: AT });
    chat.send('', 'lang:en');
    const said = chat.send('school thing', undefined);
    if (said.choices.length === 3 && said.choices[2]?.value === 'intent:human.handoff') {
      expect(said.text).toMatch(/not sure/);
    } else {
      expect(said.text.length).toBeGreaterThan(0);
    }
  });

  it('unknown shows what the bot can do and the human route', async () => {
    const chat = await conversation('john', { at: AT });
    const said = chat.send('who won the football match yesterday?');
    expect(said.text).toMatch(/cannot help/);
    expect(said.choices.map((c) => c.value)).toContain('intent:human.handoff');
  });

  it('language.change lists every language with its own name', async () => {
    const chat = await conversation('kari', { at: AT });
    const said = chat.send('', 'intent:language.change');
    expect(said.choices.map((c) => c.label)).toEqual(
      expect.arrayContaining(['Soomaali', 'English', 'Norsk (bokmål)']),
    );
  });
});
