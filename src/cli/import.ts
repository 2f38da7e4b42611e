import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.ts';
import { type ApplyResult, applyImport, type ImportPlan, planImport } from '../directory/import.ts';
import { loadDirectoryFolder } from '../directory/load.ts';
import { RECORD_KINDS } from '../directory/redis.ts';
import { CliError, connectRedis, redactUrl } from './redis.ts';

export interface ImportArgs {
  dir: string;
  dryRun: boolean;
  prune: boolean;
  json: boolean;
}

export const IMPORT_USAGE = 'usage: skolebro import DIR [--dry-run] [--prune] [--json]';

export function parseImportArgs(argv: string[]): ImportArgs {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n${IMPORT_USAGE}`);
  }
  const [dir, ...extra] = parsed.positionals;
  if (!dir || extra.length) throw new CliError(IMPORT_USAGE);
  const { values } = parsed;
  return {
    dir,
    dryRun: values['dry-run'] ?? false,
    prune: values.prune ?? false,
    json: values.json ?? false,
  };
}

const parse = (args: string[]) =>
  parseArgs({
    args,
    allowPositionals: true,
    options: { 'dry-run': { type: 'boolean' }, prune: { type: 'boolean' }, json: { type: 'boolean' } },
  });

/**
 * `skolebro import DIR`: validates the whole folder first (nothing is written when any
 * file has a problem), then upserts it into the Redis directory. Records of the
 * folder's schools that the folder lacks are kept unless `--prune`.
 */
export async function importCommand(
  args: ImportArgs,
  out: (line: string) => void = console.log,
): Promise<void> {
  const config = loadConfig();
  const redisUrl = config.REDIS_URL;
  if (!redisUrl)
    throw new CliError(
      'REDIS_URL is not set: the import writes to Redis (e.g. REDIS_URL=redis://127.0.0.1:6379)',
    );
  const started = performance.now();
  const data = loadDirectoryFolder(resolve(args.dir)); // DirectoryImportError lists file:line problems
  const loaded = performance.now();
  const redis = await connectRedis(redisUrl);
  try {
    const plan = await planImport(redis, data, { prefix: config.REDIS_KEY_PREFIX, prune: args.prune });
    const planned = performance.now();
    const result: ApplyResult | undefined = args.dryRun ? undefined : await applyImport(redis, plan);
    const done = performance.now();
    const timing = {
      loadMs: ms(loaded - started),
      planMs: ms(planned - loaded),
      writeMs: ms(done - planned),
    };
    if (args.json) out(JSON.stringify(summary(plan, result, timing)));
    else report(plan, result, timing, `${redactUrl(redisUrl)} ${config.REDIS_KEY_PREFIX}:dir:`, out);
  } finally {
    redis.disconnect();
  }
}

const ms = (n: number) => Math.round(n);

function summary(plan: ImportPlan, result: ApplyResult | undefined, timing: Record<string, number>) {
  return {
    dryRun: result === undefined,
    prune: plan.prune,
    schools: plan.schools,
    changes: Object.fromEntries(
      RECORD_KINDS.map((kind) => {
        const c = plan.changes[kind];
        return [
          kind,
          {
            added: c.added.length,
            updated: c.updated.length,
            unchanged: c.unchanged.length,
            removed: c.removed.length,
            kept: c.kept.length,
            removedIds: c.removed,
          },
        ];
      }),
    ),
    writes: plan.writeCount,
    written: result?.written ?? 0,
    warnings: plan.warnings,
    ...timing,
  };
}

function report(
  plan: ImportPlan,
  result: ApplyResult | undefined,
  timing: { loadMs: number; planMs: number; writeMs: number },
  target: string,
  out: (line: string) => void,
) {
  const dry = result === undefined;
  out(
    `${dry ? 'dry run: ' : ''}${plan.schools.length} school(s) (${plan.schools.slice(0, 5).join(', ')}${plan.schools.length > 5 ? ', ...' : ''}) into ${target}`,
  );
  const columns = ['added', 'updated', 'unchanged', 'removed', 'kept'] as const;
  out(`  ${'kind'.padEnd(10)}${columns.map((c) => c.padStart(10)).join('')}`);
  for (const kind of RECORD_KINDS) {
    const c = plan.changes[kind];
    out(`  ${kind.padEnd(10)}${columns.map((col) => String(c[col].length).padStart(10)).join('')}`);
  }
  for (const kind of RECORD_KINDS) {
    const removed = plan.changes[kind].removed;
    if (removed.length) out(`${dry ? 'would remove' : 'removed'} ${kind}: ${removed.join(', ')}`);
  }
  const kept = RECORD_KINDS.reduce((n, k) => n + plan.changes[k].kept.length, 0);
  if (kept && !plan.prune)
    out(
      `${kept} record(s) of these schools are in Redis but not in the folder; they were kept (--prune removes them)`,
    );
  for (const warning of plan.warnings.slice(0, 10)) out(`warning: ${warning}`);
  if (plan.warnings.length > 10) out(`warning: ... and ${plan.warnings.length - 10} more`);
  const seconds = (n: number) => `${(n / 1000).toFixed(1)} s`;
  const times = `read ${seconds(timing.loadMs)}, planned ${seconds(timing.planMs)}`;
  if (dry) out(`nothing written (${plan.writeCount} field(s) would change; ${times})`);
  else out(`${result.written} field(s) written (${times}, written ${seconds(timing.writeMs)})`);
}
