import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { generateDemoData } from '../directory/demo-data.ts';
import { CliError } from './redis.ts';

export interface DemoDataArgs {
  guardians: number;
  schools?: number;
  seed: string;
  year: number;
  out: string;
  force: boolean;
}

export const DEMO_DATA_USAGE =
  'usage: skolebro demo-data --guardians N [--schools S] [--seed X] [--year YYYY] --out DIR [--force]';

const DATA_FILES = ['schools.csv', 'classes.csv', 'staff.csv', 'guardians.csv', 'pupils.csv'];

export function parseDemoDataArgs(argv: string[]): DemoDataArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        guardians: { type: 'string' },
        schools: { type: 'string' },
        seed: { type: 'string' },
        year: { type: 'string' },
        out: { type: 'string' },
        force: { type: 'boolean' },
      },
    }));
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n${DEMO_DATA_USAGE}`);
  }
  const count = (name: string, min: number) => {
    const raw = values[name];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min)
      throw new CliError(`--${name} must be a whole number of at least ${min}`);
    return n;
  };
  const guardians = count('guardians', 1);
  if (guardians === undefined || typeof values.out !== 'string') throw new CliError(DEMO_DATA_USAGE);
  const schools = count('schools', 1);
  return {
    guardians,
    ...(schools === undefined ? {} : { schools }),
    seed: typeof values.seed === 'string' ? values.seed : 'skolebro',
    year: count('year', 2000) ?? 2025,
    out: values.out,
    force: values.force === true,
  };
}

/** `skolebro demo-data`: writes a synthetic district that `skolebro import` can load. */
export async function demoDataCommand(args: DemoDataArgs, out: (line: string) => void = console.log) {
  const dir = resolve(args.out);
  if (existsSync(dir) && readdirSync(dir).length) {
    if (!args.force) throw new CliError(`${args.out} is not empty; pass --force to replace its school data`);
    // Stale class calendars of a bigger run would name classes that no longer exist.
    for (const file of DATA_FILES) rmSync(join(dir, file), { force: true });
    if (existsSync(join(dir, 'calendar')))
      for (const file of readdirSync(join(dir, 'calendar')).filter((f) => f.endsWith('.ics')))
        rmSync(join(dir, 'calendar', file));
  }
  const started = performance.now();
  const s = generateDemoData(dir, {
    guardians: args.guardians,
    ...(args.schools ? { schools: args.schools } : {}),
    seed: args.seed,
    schoolYear: args.year,
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  out(
    `wrote ${args.out}: ${s.schools} schools, ${s.classes} classes, ${s.staff} staff, ${s.guardians} guardians, ${s.pupils} pupils, ${s.calendarFiles} calendars in ${seconds} s`,
  );
  const mix = Object.entries(s.languages)
    .sort((a, b) => b[1] - a[1])
    .map(([lang, n]) => `${lang} ${((100 * n) / s.guardians).toFixed(1)}%`);
  out(`guardians' languages: ${mix.join(', ')}`);
}
