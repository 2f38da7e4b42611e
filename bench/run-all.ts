/** `npm run bench`: every benchmark in turn, each printing its own JSON. Never part of `npm test`. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

for (const name of ['nlu', 'engine', 'pipeline', 'webhooks', 'broadcast']) {
  process.stdout.write(`${JSON.stringify({ bench: name })}\n`);
  execFileSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, `${name}.ts`)], {
    stdio: 'inherit',
  });
}
