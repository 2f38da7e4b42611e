import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp } from '../helpers/app.ts';
import { launchChromium } from '../helpers/browser.ts';
import { type FakeTranslator, startFakeTranslator } from '../helpers/fake-translator.ts';
import { locales } from '../helpers/world.ts';

/**
 * The relay in two browser windows: an Urdu-speaking parent in the web chat, the kontaktlærer
 * in the staff inbox, the fake Translator in between (its "translation" prefixes `[to] `).
 */

const QUESTION = 'السلام علیکم، میرے بیٹے علی کی kontaktlærer کون ہے؟';
const MESSAGE = 'السلام علیکم، کیا آپ مجھے علی کے ہوم ورک کے بارے میں بتا سکتی ہیں؟ شکریہ';
const REPLY = 'Hei Fatima! Ali har lekser i matte denne uka. Vi snakkes på foreldremøtet. Hilsen Ingrid';
/** Screenshots for a person to look at; outside the repository. */
const SHOTS = mkdtempSync(join(tmpdir(), 'skolebro-relay-'));

let mt: FakeTranslator;
let app: Awaited<ReturnType<typeof startApp>>;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  mt = await startFakeTranslator();
  app = await startApp({
    now: () => new Date('2026-11-23T07:00:00Z'),
    env: { TRANSLATOR_ENDPOINT: mt.url, TRANSLATOR_KEY: mt.key },
  });
});
afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
  await app?.close();
  await mt?.close();
  console.info(`relay screenshots: ${SHOTS}`);
});

async function window(width: number, height: number): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height } });
  contexts.push(context);
  return context.newPage();
}

/** Sends text or clicks a choice in the parent chat and waits for the bot's next message. */
async function botAnswers(page: Page, act: () => Promise<void>) {
  const before = await page.locator('.msg.bot').count();
  await act();
  const reply = page.locator('.msg.bot').nth(before);
  await reply.waitFor({ timeout: 10_000 });
  return reply;
}

async function type(page: Page, text: string) {
  await page.locator('#text').fill(text);
  await page.keyboard.press('Enter');
}

async function staffSignIn(page: Page, login: string) {
  await page.goto(`${app.url}/staff`);
  await page.locator(`#people button[data-login="${login}"]`).click();
  await page.locator('#inbox').waitFor();
}

describe('parent <-> kontaktlærer relay in two browser windows', () => {
  let parent: Page;

  it('an Urdu message reaches the kontaktlærer in Norwegian beside the original; the reply comes back in Urdu', async () => {
    parent = await window(390, 844);
    await parent.goto(app.url);
    await parent.locator('#people button[data-login="fatima"]').click();
    await parent.locator('#chat').waitFor();

    // Fatima has two children; the bot asks which one unless the question named him.
    const ali = parent.locator('#log button[data-value="child:p-ali"]');
    const relay = parent.locator('#log button[data-value="relay:start"]');
    await type(parent, QUESTION);
    await ali.or(relay).first().waitFor({ timeout: 10_000 });
    if (await ali.isVisible()) await ali.click();
    // The answer naming the kontaktlærer, with the offer to pass a message on.
    await relay.waitFor({ timeout: 10_000 });
    const prompt = await botAnswers(parent, () => relay.click());
    expect(await prompt.getAttribute('lang')).toBe('ur');
    const relayed = await botAnswers(parent, () => type(parent, MESSAGE));
    expect(await relayed.textContent()).toContain('Ingrid Berg');

    const teacher = await window(1280, 860);
    await staffSignIn(teacher, 'ingrid');
    const item = teacher.locator('#threads button').filter({ hasText: 'Fatima Khan' });
    await item.waitFor({ timeout: 10_000 });
    expect(await item.textContent()).toMatch(/Ali, 3A.*urdu/);
    await item.click();

    const entry = teacher.locator('#entries li[data-kind="message"]');
    await entry.waitFor();
    expect(await teacher.locator('#thread-title').textContent()).toBe('Fatima Khan');
    await expect.poll(() => teacher.evaluate(() => document.activeElement?.id)).toBe('thread-title');
    const norwegian = entry.locator('.text.norwegian');
    const original = entry.locator('.text.original');
    expect(await norwegian.textContent()).toBe(`[nb] ${MESSAGE}`);
    expect(await norwegian.getAttribute('lang')).toBe('nb');
    expect(await original.textContent()).toBe(MESSAGE);
    expect(await original.getAttribute('lang')).toBe('ur');
    expect(await original.getAttribute('dir')).toBe('rtl');
    expect(await entry.textContent()).toContain('Maskinoversatt fra urdu');
    // Side by side on a wide screen: the original to the right of the Norwegian, on the same row.
    const [nb, ur] = [await norwegian.boundingBox(), await original.boundingBox()];
    expect(nb && ur && ur.x >= nb.x + nb.width && Math.abs(ur.y - nb.y) < 2).toBe(true);
    expect(await teacher.locator('#reply-hint').textContent()).toContain('urdu');

    await teacher.locator('#reply-text').fill(REPLY);
    await teacher.keyboard.press('Control+Enter');
    const answered = teacher.locator('#entries li[data-kind="reply"]');
    await answered.waitFor({ timeout: 10_000 });
    expect(await answered.locator('.text.norwegian').textContent()).toBe(REPLY);
    const received = answered.locator('.text.received');
    expect(await received.getAttribute('dir')).toBe('rtl');
    expect(await received.textContent()).toMatch(/^\[ur\] Hei Fatima/i);
    expect(await teacher.locator('#reply-text').inputValue()).toBe('');

    const staff = parent.locator('.msg.staff');
    await staff.waitFor({ timeout: 10_000 });
    expect(await staff.getAttribute('lang')).toBe('ur');
    expect(await staff.getAttribute('dir')).toBe('rtl');
    const text = (await staff.locator('.staff-text').textContent()) ?? '';
    expect(text).toContain('Ingrid Berg');
    expect(text).toMatch(/\[ur\] Hei Fatima/i);
    expect(text).toContain('مشینی ترجمہ');
    const toggle = staff.locator('button.show-original');
    const quote = staff.locator('blockquote[lang="nb"][dir="ltr"]');
    expect(await quote.isVisible()).toBe(false);
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    await toggle.click();
    await quote.waitFor({ state: 'visible' });
    expect(await quote.textContent()).toBe(REPLY);
    expect(await toggle.getAttribute('aria-expanded')).toBe('true');

    await staff.scrollIntoViewIfNeeded();
    await parent.screenshot({ path: join(SHOTS, 'parent.png') });
    await teacher.screenshot({ path: join(SHOTS, 'teacher.png'), fullPage: true });

    await toggle.click();
    await quote.waitFor({ state: 'hidden' });
  });

  it('works from the keyboard alone, and a reply lost on the network is retried with the same id', async () => {
    const teacher = await window(1024, 800);
    const posted: string[] = [];
    let dropped = false;
    await teacher.route('**/replies', async (route) => {
      posted.push(JSON.parse(route.request().postData() ?? '{}').id);
      if (dropped) return route.continue();
      dropped = true;
      return route.abort('connectionreset');
    });
    await teacher.goto(`${app.url}/staff`);
    await teacher.locator('#people button').first().waitFor();
    // Tab to Ingrid and sign in with Enter.
    for (let i = 0; i < 8; i++) {
      const login = await teacher.evaluate(() => (document.activeElement as HTMLElement)?.dataset.login);
      if (login === 'ingrid') break;
      await teacher.keyboard.press('Tab');
    }
    await teacher.keyboard.press('Enter');
    await teacher.locator('#threads button').first().waitFor();
    await expect
      .poll(() => teacher.evaluate(() => document.activeElement?.classList.contains('thread-button')))
      .toBe(true);
    await teacher.keyboard.press('Enter');
    await expect.poll(() => teacher.evaluate(() => document.activeElement?.id)).toBe('thread-title');
    await teacher.keyboard.press('Tab');
    expect(await teacher.evaluate(() => document.activeElement?.id)).toBe('reply-text');
    await teacher.keyboard.type('Takk, vi ses.');
    await teacher.keyboard.press('Control+Enter');
    await expect
      .poll(() => teacher.locator('#reply-status').textContent(), { timeout: 10_000 })
      .toContain('Sendt');
    expect(posted).toHaveLength(2);
    expect(posted[1]).toBe(posted[0]);

    await expect.poll(() => parent.locator('.msg.staff').count(), { timeout: 10_000 }).toBe(2);
    await expect
      .poll(() => parent.locator('.msg.staff').nth(1).locator('blockquote').textContent())
      .toBe('Takk, vi ses.');
  });
});

describe('staff sign-in', () => {
  it('a demo login the server no longer knows gets its own Norwegian text, not the API’s English', async () => {
    const page = await window(1024, 800);
    // A sign-in list from before the demo staff changed: a name the server does not know.
    await page.route('**/api/staff/demo-people', (route) =>
      route.fulfill({ json: { people: [{ login: 'gone', name: 'Tidligere Ansatt', roles: ['rektor'] }] } }),
    );
    await page.goto(`${app.url}/staff`);
    const refused = page.waitForResponse((r) => r.url().endsWith('/api/staff/sessions'));
    await page.locator('#people button[data-login="gone"]').click();
    const response = await refused;
    expect(response.status()).toBe(403);
    expect(((await response.json()) as { error: string }).error).toBe('unknown_login');
    const text = locales.languages.find((l) => l.code === 'nb')?.staffPages?.staff['error.unknown_login'];
    expect(text).toBeTruthy();
    await expect.poll(() => page.locator('#status').textContent()).toBe(text);
    expect(await page.locator('#inbox').isVisible()).toBe(false);
    expect(await page.locator('#signin').isVisible()).toBe(true);
  });
});
