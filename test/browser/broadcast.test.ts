import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audienceOptions, recordClasses } from '../../adapters/web/broadcast.ts';
import { type App, createApp } from '../../src/app.ts';
import type { ProgressView } from '../../src/broadcast/service.ts';
import { loadConfig } from '../../src/config.ts';
import type { DirectoryData, Staff } from '../../src/directory/model.ts';
import { createLogger } from '../../src/log.ts';
import { launchChromium } from '../helpers/browser.ts';
import { type FakeTranslator, startFakeTranslator } from '../helpers/fake-translator.ts';
import { data as demo, locales, nlu, ROOT } from '../helpers/world.ts';

/**
 * The broadcast admin page (/broadcast) in headless Chromium: the demo school with the fake
 * Translator (its "translation" prefixes `[to] `) and no SMS, so every family with a web
 * login is reached in their web inbox, which counts as delivered.
 */

/** Screenshots for a person to look at; outside the repository. */
const SHOTS = mkdtempSync(join(tmpdir(), 'skolebro-broadcast-'));
const SESSION_KEY = 'skolebro.staffSession';
const TEXT = 'Hei! Torsdag 4. desember er det juleverksted for 3A fra kl. 10 til 12. Ta gjerne med en saks.';
const URDU = 'السلام علیکم! جمعرات 4 دسمبر کو 3A کے لیے کرسمس ورکشاپ ہے، صبح 10 سے 12 بجے تک۔';

/**
 * The demo school, except that Arash (3A, Persian) has no web login: with no SMS in this
 * installation he has no channel, so the page has one family not reached to show.
 */
const data: DirectoryData = {
  ...demo,
  guardians: demo.guardians.map((g) => (g.id === 'g-arash' ? { ...g, webLogin: undefined } : g)),
};
/** Class 3A's guardians and their languages (examples/demo-school). */
const CLASS_3A = { amina: 'so', fatima: 'ur', olena: 'uk' } as const;

let mt: FakeTranslator;
let app: App;
let url: string;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  mt = await startFakeTranslator();
  // As test/helpers/app.ts startApp, with the register above.
  const config = loadConfig(
    { LOG_LEVEL: 'silent', PORT: '0', TRANSLATOR_ENDPOINT: mt.url, TRANSLATOR_KEY: mt.key },
    ROOT,
  );
  app = await createApp(
    { ...config, LOCALES_DIR: join(ROOT, 'locales') },
    { locales, nlu: nlu(), directory: data },
    { log: createLogger('silent') },
  );
  await app.server.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(app.server.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
  await app?.close();
  await mt?.close();
  console.info(`broadcast screenshots: ${SHOTS}`);
});

async function signIn(login: string): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    locale: 'nb-NO',
    timezoneId: 'Europe/Oslo',
    // No bar animation: the screenshot shows the bar where aria-valuenow says it is.
    reducedMotion: 'reduce',
  });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(`${url}/broadcast`);
  await page.locator(`#people button[data-login="${login}"]`).click();
  await page.locator('#compose').waitFor();
  return page;
}

/** What the web inboxes of 3A's families hold (a broadcast to a web login lands in `inbox:<login>`). */
async function inboxes() {
  const out: Record<string, string[]> = {};
  for (const login of [...Object.keys(CLASS_3A), 'arash'])
    out[login] = (await app.store.messagesAfter(`web:inbox:${login}`, 0)).map((m) => m.text);
  return out;
}

describe('the broadcast admin page', () => {
  it('an FAU member for 3A is refused the whole school with the API’s explanation, and nothing is sent', async () => {
    const page = await signIn('nina');
    const before = { translations: mt.requests.length, inboxes: await inboxes() };
    const select = page.locator('#audience');
    // Her own class is preselected; the whole school is offered, so a refusal can be explained.
    expect(await select.inputValue()).toBe('class:bjerkedalen-3a');
    expect(
      await select.locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value)),
    ).toEqual(['school:bjerkedalen', 'class:bjerkedalen-3a']);
    await select.selectOption('school:bjerkedalen');
    await page.locator('#text').fill('Hei alle! FAU inviterer til dugnad lørdag.');
    const refused = page.waitForResponse(
      (r) => r.request().method() === 'POST' && /\/broadcasts$/.test(r.url()),
    );
    await page.locator('#preview-button').click();
    const response = await refused;
    expect(response.status()).toBe(403);
    const { message, reason } = (await response.json()) as { message: string; reason: string };
    expect(reason).toBe('fauScope');
    await expect.poll(() => page.locator('#compose-error').textContent()).toContain(message);
    expect(message).toContain('Som FAU-medlem kan du bare sende til');
    expect(await page.locator('#compose-error').getAttribute('role')).toBe('alert');
    expect(await page.locator('#preview').isVisible()).toBe(false);
    expect(await page.locator('#send').isVisible()).toBe(false);
    // Refused before anything was translated or queued.
    expect(mt.requests.length).toBe(before.translations);
    expect(await inboxes()).toEqual(before.inboxes);
    await page.screenshot({ path: join(SHOTS, 'refused.png'), fullPage: true });
  });

  it('a kontaktlærer composes for 3A, previews the languages, corrects one, sends and sees 100 %', async () => {
    const page = await signIn('ingrid');
    const select = page.locator('#audience');
    expect(await select.inputValue()).toBe('class:bjerkedalen-3a');
    expect(await select.locator('option:checked').textContent()).toBe('Klasse 3A');
    await page.locator('#text').fill(TEXT);
    await page.locator('#preview-button').click();

    // The preview: one card per language in the audience, machine-translated.
    const cards = page.locator('#languages li[data-lang]');
    await expect.poll(() => cards.count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('preview-title');
    const langs = await cards.evaluateAll((ls) => ls.map((l) => (l as HTMLElement).dataset.lang).sort());
    expect(langs).toEqual(['fa', 'so', 'uk', 'ur']);
    for (const lang of langs) {
      const text = page.locator(`#languages li[data-lang="${lang}"] .text`);
      expect(await text.textContent()).toMatch(new RegExp(`^\\[${lang}\\] Hei!`));
      expect(await text.getAttribute('lang')).toBe(lang);
      expect(await text.getAttribute('dir')).toBe(lang === 'ur' || lang === 'fa' ? 'rtl' : 'ltr');
    }
    const ur = page.locator('#languages li[data-lang="ur"]');
    expect(await ur.locator('.tag').textContent()).toBe('Maskinoversatt');
    expect(await ur.locator('.meta').first().textContent()).toBe(
      '1 foresatt · Første kanal: Skolebro på nett: 1',
    );
    const fa = page.locator('#languages li[data-lang="fa"]');
    expect(await fa.locator('.meta').first().textContent()).toContain('Ingen kanal');
    const summary = (name: string) => page.locator(`#summary [data-summary="${name}"] dd`).textContent();
    expect(await summary('families')).toBe('4');
    expect(await summary('guardians')).toBe('4');
    expect(await summary('unreachable')).toBe('1');
    expect(await summary('sms')).toBe('Ingen SMS');
    expect(await page.locator('#times li[data-channel="web"]').textContent()).toMatch(
      /^Skolebro på nett: 3 meldinger, ca\. 1 sek$/,
    );
    expect(await page.locator('#quiet').isVisible()).toBe(false);

    // Correct the Urdu by hand: the form opens with the machine's text, focus in it.
    await ur.locator('button.correct').click();
    const field = ur.locator('textarea');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('fix-ur');
    expect(await field.inputValue()).toMatch(/^\[ur\] /);
    const put = page.waitForResponse((r) => r.request().method() === 'PUT' && r.url().endsWith('/texts/ur'));
    await field.fill(URDU);
    await ur.getByRole('button', { name: 'Lagre rettelsen' }).click();
    expect((await put).status()).toBe(200);
    const corrected = page.locator('#languages li[data-lang="ur"]');
    await expect.poll(() => corrected.locator('.tag').textContent()).toBe('Rettet for hånd');
    expect(await corrected.locator('.text').textContent()).toBe(URDU);
    expect(await page.locator('#languages li[data-lang="so"] .tag').textContent()).toBe('Maskinoversatt');
    await page.screenshot({ path: join(SHOTS, 'preview.png'), fullPage: true });

    // Send, and watch the bar reach 100 % (the page polls every second).
    await page.locator('#send').click();
    const bar = page.locator('#bar[role="progressbar"]');
    await bar.waitFor();
    await expect.poll(() => bar.getAttribute('aria-valuenow'), { timeout: 15_000 }).toBe('100');
    expect(await page.locator('#cancel').isVisible()).toBe(false);
    expect(await page.locator('#progress-state').textContent()).toBe(
      'Ferdig: ingenting er underveis lenger.',
    );
    expect(
      await page.locator('#by-channel tr[data-key="web"] td[data-status="delivered"]').textContent(),
    ).toBe('3');
    expect(await page.locator('#by-lang tr[data-key="fa"] td[data-status="unreachable"]').textContent()).toBe(
      '1',
    );

    // The families not reached, as the API counts them, and the CSV behind the link.
    const href = (await page.locator('#csv').getAttribute('href')) ?? '';
    const [, session, id] =
      /^\/api\/staff\/sessions\/([^/]+)\/broadcasts\/([^/]+)\/not-reached\.csv$/.exec(href) ?? [];
    expect(session).toBe(await page.evaluate((key) => sessionStorage.getItem(key), SESSION_KEY));
    const progress = (await (
      await fetch(`${url}/api/staff/sessions/${session}/broadcasts/${id}`)
    ).json()) as ProgressView;
    expect(progress.settled).toBe(true);
    expect(progress.notReached.map((r) => r.guardianId)).toEqual(['g-arash']);
    expect(await page.locator('#not-reached-title').getAttribute('data-count')).toBe(
      String(progress.notReached.length),
    );
    expect(await page.locator('#not-reached-title').textContent()).toBe('Ikke nådd (1)');
    expect(await page.locator('#not-reached tbody tr').count()).toBe(progress.notReached.length);
    expect(await page.locator('#not-reached tr[data-guardian="g-arash"]').textContent()).toContain(
      'har ingen kanal vi kan nå dem på',
    );
    const csv = await (await fetch(`${url}${href}`)).text();
    expect(csv.trim().split('\r\n')).toHaveLength(progress.notReached.length + 1);

    // Each family's inbox got its own language; the Urdu one the hand-corrected text.
    const got = await inboxes();
    expect(got.fatima).toEqual([URDU]);
    expect(got.amina).toEqual([expect.stringMatching(/^\[so\] Hei!/)]);
    expect(got.olena).toEqual([expect.stringMatching(/^\[uk\] Hei!/)]);
    expect(got.arash).toEqual([]);

    await page.screenshot({ path: join(SHOTS, 'progress.png'), fullPage: true });
  });

  it('a send time makes it a planned sending, which the sender can stop before it starts', async () => {
    const page = await signIn('ingrid');
    const before = await inboxes();
    // Two hours from now, as the datetime-local field takes it (Oslo time: the context's zone).
    const later = new Date(Date.now() + 2 * 3_600_000);
    const local = new Intl.DateTimeFormat('sv-SE', {
      timeZone: 'Europe/Oslo',
      dateStyle: 'short',
      timeStyle: 'short',
    })
      .format(later)
      .replace(' ', 'T');
    await page.locator('#text').fill('Husk gymtøy i morgen.');
    await page.locator('#send-at').fill(local);
    await page.locator('#text').press('Control+Enter');
    await page.locator('#preview').waitFor({ timeout: 10_000 });
    expect(await page.locator('#when').textContent()).toMatch(/^Sendes .+\.$/);
    expect(await page.locator('#send').textContent()).toBe('Planlegg sendingen');

    await page.locator('#send').click();
    const state = page.locator('#progress-state');
    await expect.poll(() => state.getAttribute('data-status')).toBe('scheduled');
    expect(await state.textContent()).toMatch(/^Planlagt til /);
    expect(await page.locator('#bar').getAttribute('aria-valuenow')).toBe('0');
    const cancel = page.locator('#cancel');
    expect(await cancel.isVisible()).toBe(true);
    page.once('dialog', (dialog) => dialog.accept());
    await cancel.click();
    await expect.poll(() => state.getAttribute('data-status')).toBe('cancelled');
    expect(await state.textContent()).toBe('Avlyst');
    expect(await cancel.isVisible()).toBe(false);
    expect(await page.locator('#bar').getAttribute('aria-valuenow')).toBe('0');
    expect(await inboxes()).toEqual(before);
  });
});

describe('the broadcast page’s sign-in (shared with the staff inbox)', () => {
  it('a demo login the server no longer knows gets its own Norwegian text', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    await page.route('**/api/staff/demo-people', (route) =>
      route.fulfill({ json: { people: [{ login: 'gone', name: 'Tidligere Ansatt', roles: ['fau'] }] } }),
    );
    await page.goto(`${url}/broadcast`);
    // The role's name from the shared words, not its code.
    expect(await page.locator('#people button[data-login="gone"] .roles').textContent()).toBe('FAU');
    await page.locator('#people button[data-login="gone"]').click();
    const text = locales.languages.find((l) => l.code === 'nb')?.staffPages?.broadcast['error.unknown_login'];
    expect(text).toBeTruthy();
    await expect.poll(() => page.locator('#status').textContent()).toBe(text);
    expect(await page.locator('#compose').isVisible()).toBe(false);
  });
});

describe('audienceOptions', () => {
  const staff = (id: string) => data.staff.find((s) => s.id === id) as Staff;
  const allowed = (sender: Staff) =>
    audienceOptions(sender, data.classes)
      .filter((o) => o.allowed)
      .map((o) => `${o.kind}:${o.id}`);

  it('offers what mayBroadcast allows, and always the whole school with its decision', () => {
    expect(allowed(staff('s-per'))).toEqual([
      'school:bjerkedalen',
      'trinn:3',
      'trinn:6',
      'class:bjerkedalen-3a',
      'class:bjerkedalen-3b',
      'class:bjerkedalen-6a',
    ]);
    expect(audienceOptions(staff('t-ingrid'), data.classes)).toEqual([
      { kind: 'school', id: 'bjerkedalen', name: 'bjerkedalen', allowed: false, reason: 'notYourClass' },
      { kind: 'class', id: 'bjerkedalen-3a', name: '3A', trinn: 3, allowed: true },
    ]);
    expect(allowed(staff('f-nina'))).toEqual(['class:bjerkedalen-3a']);
    expect(allowed(staff('s-mona'))).toEqual([]);
  });

  it('without the register, reads the classes off the sender’s own record', () => {
    expect(recordClasses(staff('t-ingrid'))).toEqual([
      { id: 'bjerkedalen-3a', schoolId: 'bjerkedalen', trinn: 3, name: '3A' },
    ]);
    expect(recordClasses(staff('f-nina'))).toEqual(recordClasses(staff('t-ingrid')));
    expect(recordClasses(staff('s-per'))).toEqual([]);
  });
});
