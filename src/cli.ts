import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createApp, loadAssets } from './app.ts';
import { loadConfig } from './config.ts';
import { DirectoryImportError, loadDirectoryFolder } from './directory/load.ts';
import { loadLocales } from './i18n/locales.ts';
import { createLogger } from './log.ts';
import { createNlu } from './nlu/index.ts';

const USAGE = `usage: skolebro <command>

  nlu                 read JSON lines {"text": "..."} on stdin, write {"text","lang","intent","confidence"} lines
  chat [--as LOGIN]   chat in the terminal as a demo parent (default: amina); --list shows them
  check-data [DIR]    validate a school-data folder (CSV + ICS) and print what it holds
  import DIR          load a school-data folder into Redis (REDIS_URL); --dry-run, --prune, --json
  queues              queue depths, failed jobs and dead letters (REDIS_URL); --json, --limit N
  demo-data           write a synthetic district: --guardians N [--schools S] [--seed X] --out DIR
  broadcast           send an announcement as a staff member (REDIS_URL): --as LOGIN (--class ID | --trinn N |
                      --school ID) --text "..." [--preview] [--send-at ISO] [--json]
`;

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  switch (command) {
    case 'nlu':
      return nluCommand();
    case 'chat':
      return chatCommand(rest);
    case 'check-data':
      return checkData(rest[0]);
    case 'import': {
      const { importCommand, parseImportArgs } = await import('./cli/import.ts');
      return importCommand(parseImportArgs(rest));
    }
    case 'queues': {
      const { queuesCommand, parseQueuesArgs } = await import('./cli/queues.ts');
      return queuesCommand(parseQueuesArgs(rest));
    }
    case 'demo-data': {
      const { demoDataCommand, parseDemoDataArgs } = await import('./cli/demo-data.ts');
      return demoDataCommand(parseDemoDataArgs(rest));
    }
    case 'broadcast': {
      const { broadcastCommand, parseBroadcastArgs } = await import('./cli/broadcast.ts');
      return broadcastCommand(parseBroadcastArgs(rest));
    }
    default:
      process.stderr.write(USAGE);
      process.exitCode = command ? 2 : 0;
  }
}

/**
 * The evaluation contract: one output line per input line, in order. A line that
 * is not JSON or has no "text" still gets an output line (intent unknown) plus an
 * "error" field, so line numbers never shift.
 */
async function nluCommand() {
  const config = loadConfig();
  const nlu = createNlu(loadLocales(config.LOCALES_DIR));
  const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    let text = '';
    let error: string | undefined;
    try {
      const parsed = JSON.parse(line) as { text?: unknown };
      if (typeof parsed?.text === 'string') text = parsed.text;
      else error = 'missing "text"';
    } catch {
      error = 'not JSON';
    }
    const a = nlu.analyze(text, null);
    const out = {
      text,
      lang: a.lang,
      intent: error ? 'unknown' : a.intent,
      confidence: error ? 0 : Math.round(a.confidence * 1000) / 1000,
    };
    process.stdout.write(`${JSON.stringify(error ? { ...out, error } : out)}\n`);
  }
}

async function chatCommand(args: string[]) {
  const { values } = parseArgs({
    args,
    options: { as: { type: 'string', default: 'amina' }, list: { type: 'boolean' } },
  });
  const config = { ...loadConfig(), LOG_LEVEL: 'silent' as const };
  const assets = loadAssets(config);
  if (values.list) {
    for (const g of assets.directory.guardians) console.log(`${g.webLogin}\t${g.name}\t${g.preferredLang}`);
    return;
  }
  const app = await createApp(config, assets, { log: createLogger('silent') });
  const session = randomUUID();
  await app.store.linkIdentity('web-session', session, values.as ?? 'amina');
  const person = assets.directory.guardians.find((g) => g.webLogin === values.as);
  console.log(
    `Skolebro — chatting as ${person?.name ?? 'an unknown parent'}. Empty line or Ctrl-D to quit; a number picks an option.`,
  );
  let seen = 0;
  let choices: Array<{ value: string; label: string }> = [];
  const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: '> ' });
  rl.prompt();
  for await (const line of rl) {
    if (!line.trim()) break;
    const picked = /^\d+$/.test(line.trim()) ? choices[Number(line.trim()) - 1] : undefined;
    await app.bus.enqueueInbound({
      channel: 'web',
      messageId: randomUUID(),
      conversationId: session,
      senderId: values.as ?? 'amina',
      text: picked ? picked.label : line,
      ...(picked ? { choice: picked.value } : {}),
      at: new Date().toISOString(),
    });
    await new Promise((r) => setTimeout(r, 30));
    for (const m of await app.store.messagesAfter(`web:${session}`, seen)) {
      seen = m.seq;
      if (m.from !== 'bot') continue;
      console.log(`\n${m.text}`);
      choices = m.choices;
      for (const [i, c] of choices.entries()) console.log(`  ${i + 1}. ${c.label}`);
    }
    rl.prompt();
  }
  await app.close();
}

function checkData(dir?: string) {
  const config = loadConfig();
  try {
    const data = loadDirectoryFolder(dir ?? config.SCHOOL_DATA_DIR);
    console.log(
      JSON.stringify({
        schools: data.schools.length,
        classes: data.classes.length,
        staff: data.staff.length,
        guardians: data.guardians.length,
        pupils: data.pupils.length,
        calendarEntries: Object.values({ ...data.schoolCalendars, ...data.classCalendars }).reduce(
          (n, l) => n + l.length,
          0,
        ),
      }),
    );
  } catch (err) {
    if (!(err instanceof DirectoryImportError)) throw err;
    console.error(err.message);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
