import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { loadConfig } from '../config.ts';
import { type DeadLetter, deadLetters, type QueueStats, queueStats } from '../queue/bullmq.ts';
import { CliError, connectRedis } from './redis.ts';

export interface QueuesArgs {
  json: boolean;
  /** Dead letters and failed jobs per queue to list. */
  limit: number;
}

export const QUEUES_USAGE = 'usage: skolebro queues [--json] [--limit N]';

export function parseQueuesArgs(argv: string[]): QueuesArgs {
  try {
    const { values } = parseArgs({
      args: argv,
      options: { json: { type: 'boolean' }, limit: { type: 'string' } },
    });
    const limit = values.limit === undefined ? 10 : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 0) throw new Error('--limit must be a whole number');
    return { json: values.json ?? false, limit };
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n${QUEUES_USAGE}`);
  }
}

export interface FailedJob {
  queue: string;
  jobId: string;
  name: string;
  reason: string;
  attempts: number;
  at: string | null;
}

export interface QueuesReport extends QueueStats {
  deadLetters: DeadLetter[];
  failedJobs: FailedJob[];
}

/** `skolebro queues`: depth of every queue, the newest failed jobs and dead letters with their reasons. */
export async function queuesCommand(
  args: QueuesArgs,
  out: (line: string) => void = console.log,
): Promise<void> {
  const config = loadConfig();
  const redis = await connectRedis(config.REDIS_URL);
  const prefix = `{${config.REDIS_KEY_PREFIX}}`;
  try {
    const stats = await queueStats(redis, { prefix, partitions: config.INBOUND_PARTITIONS });
    const letters = args.limit ? await deadLetters(redis, { prefix }, args.limit) : [];
    const failedJobs: FailedJob[] = [];
    for (const depth of stats.queues) {
      if (!depth.failed || !args.limit) continue;
      const queue = new Queue(depth.queue, { connection: redis, prefix });
      try {
        for (const job of await queue.getFailed(0, args.limit - 1))
          failedJobs.push({
            queue: depth.queue,
            jobId: job.id ?? '',
            name: job.name,
            reason: job.failedReason ?? '',
            attempts: job.attemptsMade,
            at: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
          });
      } finally {
        await queue.close();
      }
    }
    failedJobs.sort((a, b) => (b.at ?? '').localeCompare(a.at ?? ''));
    const report: QueuesReport = { ...stats, deadLetters: letters, failedJobs };
    if (args.json) out(JSON.stringify(report));
    else print(report, prefix, out);
  } finally {
    redis.disconnect();
  }
}

function print(r: QueuesReport, prefix: string, out: (line: string) => void) {
  const cols = ['waiting', 'active', 'delayed', 'failed'] as const;
  const width = Math.max(14, ...r.queues.map((q) => q.queue.length + 2));
  out(`queues under ${prefix}`);
  out(`  ${'queue'.padEnd(width)}${cols.map((c) => c.padStart(9)).join('')}`);
  for (const q of r.queues)
    out(`  ${q.queue.padEnd(width)}${cols.map((c) => String(q[c]).padStart(9)).join('')}`);
  const total = (c: (typeof cols)[number]) => r.queues.reduce((n, q) => n + q[c], 0);
  out(`  ${'total'.padEnd(width)}${cols.map((c) => String(total(c)).padStart(9)).join('')}`);
  out(`dead letters: ${r.deadLetter}${r.deadLetters.length ? ' (newest first)' : ''}`);
  for (const d of r.deadLetters)
    out(`  ${d.at}  ${d.queue}  job ${d.jobId} (${d.name}): ${oneLine(d.reason)}`);
  if (r.failedJobs.length) out('failed jobs (newest first):');
  for (const f of r.failedJobs)
    out(
      `  ${f.at ?? '-'}  ${f.queue}  job ${f.jobId} (${f.name}, ${f.attempts} tries): ${oneLine(f.reason)}`,
    );
}

const oneLine = (text: string) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 160 ? `${flat.slice(0, 157)}...` : flat;
};
