import { randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp } from '../helpers/app.ts';
import { launchChromium } from '../helpers/browser.ts';
import { locales } from '../helpers/world.ts';

let app: Awaited<ReturnType<typeof startApp>>;
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
  app = await startApp({ now: () => new Date('2026-11-23T07:00:00Z') });
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
});

async function signIn(login: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 390, height: 800 } });
  await page.goto(app.url);
  await page.locator(`#people button[data-login="${login}"]`).click();
  await expect.poll(() => page.locator('#chat').isVisible()).toBe(true);
  return page;
}

async function send(page: Page, text: string) {
  const before = await page.locator('.msg.bot').count();
  await page.locator('#text').fill(text);
  await page.keyboard.press('Enter');
  await page.locator('.msg.bot').nth(before).waitFor({ timeout: 10_000 });
  return page.locator('.msg.bot').nth(before);
}

describe('web chat in headless Chromium', () => {
  it('a Somali parent asks who the kontaktlærer is and gets a Somali answer naming them', async () => {
    const page = await signIn('amina');
    const reply = await send(page, 'Salaan. Yaa ah macalinka fasalka ee wiilkayga Yusuf?');
    await expect.poll(() => reply.getAttribute('lang')).toBe('so');
    expect(await reply.textContent()).toContain('Ingrid Berg');
    await page.close();
  });

  it('an Arabic question lays the conversation out right to left', async () => {
    const page = await signIn('omar');
    const reply = await send(page, 'مرحبا، متى اجتماع أولياء الأمور القادم لابنتي؟');
    expect(await reply.getAttribute('lang')).toBe('ar');
    expect(await reply.getAttribute('dir')).toBe('rtl');
    await expect.poll(() => page.evaluate(() => document.documentElement.dir)).toBe('rtl');
    const box = await reply.boundingBox();
    expect(box && box.x + box.width).toBeGreaterThan(300);
    await page.close();
  });

  it('a Polish parent completes an absence report with the buttons', async () => {
    const page = await signIn('anna');
    const confirm = await send(page, 'Dzień dobry, Zofia jest chora i jutro nie przyjdzie do szkoły');
    expect(await confirm.getAttribute('lang')).toBe('pl');
    expect(await confirm.textContent()).toContain('Zofia');
    const before = await page.locator('.msg.bot').count();
    await confirm.locator('.choices button').first().click();
    const done = page.locator('.msg.bot').nth(before);
    await done.waitFor();
    expect(await done.textContent()).toContain('Lars Hansen');
    expect(await done.getAttribute('lang')).toBe('pl');
    await page.close();
  });

  it('with Somali chosen, an expired session is explained in Somali, not in the API’s English', async () => {
    const page = await signIn('kari');
    await page.locator('#language').selectOption('so');
    // The session expires: from now on the page's calls carry an id the server does not know.
    await page.route('**/api/sessions/*/messages*', (route) =>
      route.continue({
        url: route
          .request()
          .url()
          .replace(/sessions\/[^/]+\//, `sessions/${randomUUID()}/`),
      }),
    );
    await page.locator('#text').fill('Haye');
    await page.keyboard.press('Enter');
    const somali = locales.ui.get('so')?.webchat.unknown_session;
    expect(somali).toBeTruthy();
    await expect.poll(() => page.locator('#status').textContent()).toBe(somali);
    expect(await page.locator('#status').getAttribute('lang')).toBe('so');
    expect(await page.locator('#status').textContent()).not.toMatch(/Start a new chat session/);
    await page.close();
  });

  it('works from the keyboard alone', async () => {
    const page = await signIn('kari');
    await page.locator('#text').focus();
    await page.keyboard.type('hei');
    await page.keyboard.press('Enter');
    await page.locator('.msg.bot').first().waitFor();
    await page.keyboard.press('Shift+Tab');
    expect(await page.evaluate(() => document.activeElement?.tagName)).toMatch(/BUTTON|SELECT|TEXTAREA/);
    await page.close();
  });
});
