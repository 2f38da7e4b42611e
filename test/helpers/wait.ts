import { sleep } from './processes.ts';

/**
 * Polls `check` every 30 ms until it gives a value (anything but undefined, null or false);
 * throws naming `what` after `ms` (default 20 s).
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(30);
  }
}
