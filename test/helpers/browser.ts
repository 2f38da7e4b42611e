import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Debian's chromium: the browser tests never download one (playwright-core brings none). */
const CHROMIUM = '/usr/bin/chromium';

/**
 * Headless Debian chromium for the browser tests. Fails with how to install it when it is
 * missing, rather than with playwright's own message about downloaded browsers.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} not found: install Debian's chromium (apt-get install chromium); .ci/run does this`,
    );
  return chromium.launch({
    executablePath: CHROMIUM,
    // Containers give it no sandbox and no GPU; the rest keeps it from calling out on its own.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
