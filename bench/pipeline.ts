/**
 * End-to-end pipeline throughput, as a district runs it: a private redis-server, one
 * `--role web` process and W `--role worker` processes. C web-chat conversations each
 * POST their messages one after another (waiting for the 202, never for the reply),
 * N messages in all; a message is done when the receipt of its first reply
 * (`<prefix>:receipt:web:<messageId>:r0`) is in Redis. In the same run and on the same
 * Redis, a bare BullMQ two-hop baseline with the same number of worker processes.
 * Prints one JSON object, with `capacity`: CPU per message by role (web, workers, Redis)
 * and the cores that 1,000 msg/s would take at that rate, for sizing a district.
 *
 * Usage: npx tsx bench/pipeline.ts [--messages 5000] [--conversations 200] [--workers 2]
 *   [--partitions 16] [--warmup 300] [--timeout 120] [--paced-rate 250] [--paced-messages 2500]
 *   [--skip-baseline] [--cpu-prof <dir>] [--verbose] [--app-root <dir>]
 *
 * After the saturating load, a paced phase (`paced` in the output) sends --paced-messages at
 * an even --paced-rate per second (open loop; 0 skips it): turn latency below saturation,
 * where the load phase's latency is mostly its own backlog.
 *
 * --cpu-prof <dir>: the web and worker processes write V8 CPU profiles there (one folder
 * per process). --verbose: progress and pids on stderr. --app-root <dir>: run the web and
 * worker processes from another copy of the tree (to compare a change; default this repo).
 *
 * Latency of a message: its r0 receipt `at` (written by the worker right after the
 * web channel's send) minus the client-side time just before its POST was written.
 * Throughput: messages / (first POST of the load phase -> last r0 receipt).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { partitionOf, safeJobId } from '../src/queue/bullmq.ts';
import {
  children,
  cleanup,
  cleanups,
  commandDiff,
  cpuProfArgs,
  cpuSecondsOf,
  type PrivateRedis,
  type RedisCounters,
  type RoleProcess,
  redisCounters,
  round,
  sleep,
  startRedis,
  startRole,
  stopChild,
} from './lib.ts';

const ROOT = join(import.meta.dirname, '..');
const SELF = import.meta.filename;
/** Outbound partitions per channel, as the app runs them (OUTBOUND_PARTITIONS's default in src/config.ts). */
const OUTBOUND_PARTITIONS = 16;
const TARGET_MPS = 1000;
const TARGET_RATIO = 0.5;

const DEMO_LOGINS = [
  'amina',
  'fatima',
  'omar',
  'anna',
  'tesfay',
  'kari',
  'mehmet',
  'olena',
  'linh',
  'arash',
  'priya',
  'john',
];

/** What parents write: questions about the contact teacher, meetings, absence and holidays, in several languages. */
const TEXTS = [
  'Hvem er kontaktlæreren til barnet mitt?',
  'Når er neste foreldremøte?',
  'Sønnen min er syk i dag og blir hjemme',
  'Når er høstferien?',
  'Når begynner vinterferien i år?',
  'Kan jeg få snakke med kontaktlærer?',
  'Hei! Jeg har et spørsmål om skolen',
  'Datteren min må til tannlegen i morgen klokka ti',
  'Yaa ah macalinka fasalka ee wiilkayga?',
  'Goorma ayuu yahay shirka waalidiinta?',
  'Gabadhaydu way xanuunsan tahay maanta',
  'Goorma ayuu bilaabmayaa fasaxa jiilaalka?',
  'من هو معلم الفصل لابني؟',
  'متى اجتماع أولياء الأمور القادم؟',
  'ابني مريض اليوم ولن يذهب إلى المدرسة',
  'متى تبدأ العطلة الشتوية؟',
  'Kto jest wychowawcą mojej córki?',
  'Kiedy jest następne zebranie rodziców?',
  'Mój syn jest dziś chory i zostanie w domu',
  'Kiedy są ferie zimowe?',
  "Who is my son's contact teacher?",
  'When is the next parent meeting?',
  'My daughter is sick today and will stay home',
  'When are the autumn holidays?',
  'Can I talk to the teacher about homework?',
  'میرا بیٹا آج بیمار ہے',
  'Oğlum bugün hasta, okula gelemeyecek',
  'Коли наступні батьківські збори?',
  'Con tôi bị ốm hôm nay',
  'hei',
  'takk',
  'avbryt',
];

// ---------------------------------------------------------------------------------------------
// Small helpers

let verbose = false;
/** Progress on stderr with --verbose; stdout carries only the JSON. */
const progress = (msg: string) => {
  if (verbose) process.stderr.write(`[pipeline ${new Date().toISOString().slice(11, 23)}] ${msg}\n`);
};
/** Smallest and largest of many numbers (Math.min(...xs) overflows the stack for large arrays). */
const minOf = (xs: Iterable<number>) => {
  let m = Number.POSITIVE_INFINITY;
  for (const x of xs) if (x < m) m = x;
  return m;
};
const maxOf = (xs: Iterable<number>) => {
  let m = Number.NEGATIVE_INFINITY;
  for (const x of xs) if (x > m) m = x;
  return m;
};

function percentiles(values: number[]) {
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) => round(s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? 0);
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: round(s[s.length - 1] ?? 0) };
}

/** Read and write system calls a process has made so far (/proc/<pid>/io); undefined where unavailable. */
function syscallsOf(pid: number | undefined): { r: number; w: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)`, 'm').exec(io)?.[1] ?? Number.NaN);
    return { r: field('syscr'), w: field('syscw') };
  } catch {
    return undefined;
  }
}

/** Everything started here, stopped in reverse order on the way out, error or not. */

// ---------------------------------------------------------------------------------------------
// Private redis-server

function redisDiff(before: RedisCounters, after: RedisCounters, messages: number) {
  const rows = commandDiff(before, after);
  const total = rows.reduce((s, r) => s + r.calls, 0);
  return {
    /** `INFO commandstats` calls per message, the commands run inside Lua scripts included (Redis 7 counts them). */
    commandsPerMessage: round(total / messages, 2),
    cpuMicrosecondsPerMessage: round(((after.cpu - before.cpu) * 1e6) / messages, 0),
    topByTime: rows
      .filter((r) => r.calls > 0)
      .sort((x, y) => y.usec - x.usec)
      .slice(0, 12)
      .map((r) => ({
        cmd: r.cmd,
        perMessage: round(r.calls / messages, 2),
        usecPerMessage: round(r.usec / messages, 1),
      })),
  };
}

/**
 * Where a stage's time goes, from the timestamps BullMQ keeps on completed jobs (the
 * newest 1000 per queue; jobs added before `since` are left out): queue wait
 * (timestamp -> processedOn), service time (processedOn -> finishedOn, which includes
 * the processor's own Redis round trips and the wait for CPU), and the mean number of
 * jobs in service per queue between its first and last job (1.0 for a partition that
 * was never idle: the stage is bound by partitions x service time). In the pipeline a
 * job is a mailbox drain and `messagesPerJob` says how many messages each carried; in
 * the baseline a job is a message.
 */
async function stageStats(redis: Redis, prefix: string, pattern: string, since: number) {
  const queues: string[] = [];
  for (let cursor = '0'; ; ) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:${pattern}:meta`, 'COUNT', 1000);
    for (const key of keys) queues.push(key.slice(prefix.length + 1, -':meta'.length));
    cursor = next;
    if (cursor === '0') break;
  }
  const wait: number[] = [];
  const service: number[] = [];
  const inFlight: number[] = [];
  const jobsPerQueue: number[] = [];
  const messagesPerJob: number[] = [];
  for (const queue of queues) {
    const ids = await redis.zrange(`${prefix}:${queue}:completed`, '0', '-1');
    const pipe = redis.pipeline();
    for (const id of ids)
      pipe.hmget(`${prefix}:${queue}:${id}`, 'timestamp', 'processedOn', 'finishedOn', 'returnvalue');
    const rows = ((await pipe.exec()) ?? [])
      .map(([, v]) => {
        const [t, p, f, returned] = v as Array<string | null>;
        const drained = (JSON.parse(returned ?? 'null') as { drained?: number } | null)?.drained;
        return [Number(t), Number(p), Number(f), drained] as [number, number, number, number | undefined];
      })
      .filter(([t, p, f]) => t >= since && p > 0 && f > 0)
      .sort((a, b) => a[1] - b[1]);
    for (const [, , , drained] of rows) if (drained !== undefined) messagesPerJob.push(drained);
    if (rows.length === 0) continue;
    jobsPerQueue.push(rows.length);
    let serviceSum = 0;
    for (const [t, p, f] of rows) {
      wait.push(p - t);
      service.push(f - p);
      serviceSum += f - p;
    }
    const span = Math.max(...rows.map((r) => r[2])) - (rows[0] as (typeof rows)[number])[1];
    if (span > 0) inFlight.push(serviceSum / span);
  }
  const mean = (xs: number[]) => (xs.length ? round(xs.reduce((a, b) => a + b, 0) / xs.length, 2) : null);
  return {
    queues: queues.length,
    jobsSampled: wait.length,
    jobsPerQueue: { min: Math.min(...jobsPerQueue), max: Math.max(...jobsPerQueue) },
    waitMs: percentiles(wait),
    serviceMs: { ...percentiles(service), mean: mean(service) },
    messagesPerJob: messagesPerJob.length
      ? { ...percentiles(messagesPerJob), mean: mean(messagesPerJob) }
      : null,
    inServicePerQueue: {
      mean: mean(inFlight),
      min: round(Math.min(...inFlight), 2),
      max: round(Math.max(...inFlight), 2),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Skolebro role processes

// ---------------------------------------------------------------------------------------------
// HTTP load: undici's Pool, one keep-alive connection per conversation. The bench process
// shares the 2 cores with what it measures, and undici spends less CPU per request than
// node:http's request() (two runs each, same app: 1.21 and 1.56 -> 1.10 and 0.77 s per 5,000).

type Post = (path: string, body: unknown) => Promise<{ status: number; body: string }>;

function httpClient(port: number, connections: number): { post: Post; close: () => Promise<void> } {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections });
  return {
    post: async (path, body) => {
      const res = await pool.request({
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.statusCode, body: await res.body.text() };
    },
    close: () => pool.close(),
  };
}

interface Sent {
  id: string;
  /** Epoch ms just before the POST was written. */
  sentAt: number;
  /** Epoch ms when its 202 arrived. */
  acceptedAt: number;
}

interface Conversation {
  session: string;
  login: string | null;
}

async function openConversations(post: Post, count: number): Promise<Conversation[]> {
  // Every other conversation is a signed-in demo parent, the rest anonymous.
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const login = i % 2 === 0 ? (DEMO_LOGINS[(i / 2) % DEMO_LOGINS.length] as string) : null;
      const res = await post('/api/sessions', login ? { login } : {});
      if (res.status !== 201) throw new Error(`POST /api/sessions: HTTP ${res.status} ${res.body}`);
      return { session: (JSON.parse(res.body) as { session: string }).session, login };
    }),
  );
}

/** Each conversation sends its share of `total` one after another; all conversations at once. */
async function drive(post: Post, conversations: Conversation[], total: number, seed: number) {
  const sent: Sent[] = [];
  let retries = 0;
  await Promise.all(
    conversations.map(async (conv, c) => {
      const share = Math.floor(total / conversations.length) + (c < total % conversations.length ? 1 : 0);
      for (let m = 0; m < share; m++) {
        const id = randomUUID();
        const text = TEXTS[(seed + c * 7 + m * 3) % TEXTS.length] as string;
        const sentAt = Date.now();
        for (let attempt = 0; ; attempt++) {
          const res = await post(`/api/sessions/${conv.session}/messages`, {
            id,
            text,
          }).catch((err: Error) => ({ status: 0, body: err.message }));
          if (res.status === 202) break;
          if ((res.status !== 0 && res.status < 500) || attempt >= 5) {
            throw new Error(`POST message: HTTP ${res.status} ${res.body}`);
          }
          retries++;
          await sleep(20);
        }
        sent.push({ id, sentAt, acceptedAt: Date.now() });
      }
    }),
  );
  return { sent, retries };
}

/**
 * Open loop at `rate` messages/s: message i is due at start + i/rate, whatever became of
 * the earlier ones, and goes to the conversations in turn. `sentAt` is the due time, so a
 * backlog anywhere shows in the latency instead of slowing the sender down.
 */
async function drivePaced(
  post: Post,
  conversations: Conversation[],
  total: number,
  rate: number,
  seed: number,
) {
  const sent: Sent[] = [];
  const posts: Array<Promise<void>> = [];
  const start = Date.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    const conv = conversations[i % conversations.length] as Conversation;
    const id = randomUUID();
    const text = TEXTS[(seed + i * 3) % TEXTS.length] as string;
    posts.push(
      post(`/api/sessions/${conv.session}/messages`, { id, text }).then((res) => {
        if (res.status !== 202) throw new Error(`POST message (paced): HTTP ${res.status} ${res.body}`);
        sent.push({ id, sentAt: due, acceptedAt: Date.now() });
      }),
    );
  }
  await Promise.all(posts);
  return { sent, postsPerSecond: Math.round(total / ((Date.now() - start) / 1000)) };
}

/**
 * Waits until every message has its r0 receipt and returns the receipt times (epoch ms).
 * Called once every POST is accepted; every 100 ms, MGETs the receipts still missing.
 */
async function collectReceipts(
  redis: Redis,
  prefix: string,
  ids: string[],
  timeoutMs: number,
  phase: string,
) {
  const key = (id: string) => `${prefix}:receipt:web:${id}:r0`;
  const at = new Map<string, number>();
  let pending = ids;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (let i = 0; i < pending.length; i += 1000) {
      const chunk = pending.slice(i, i + 1000);
      const rows = await redis.mget(chunk.map(key));
      rows.forEach((row, j) => {
        if (row) at.set(chunk[j] as string, Date.parse((JSON.parse(row) as { at: string }).at));
      });
    }
    pending = pending.filter((id) => !at.has(id));
    if (pending.length === 0) return at;
    if (Date.now() > deadline) {
      throw new Error(
        `${phase}: ${pending.length} of ${ids.length} messages have no r0 receipt after ${timeoutMs / 1000} s ` +
          `(e.g. ${pending.slice(0, 5).join(', ')})`,
      );
    }
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------------------------
// Bare BullMQ baseline

type BaselineMode = 'partitioned' | 'single';

interface BaselineChildConfig {
  url: string;
  prefix: string;
  mode: BaselineMode;
  partitions: number;
  concurrency: number;
}

const inNames = (c: BaselineChildConfig) =>
  c.mode === 'single' ? ['in'] : Array.from({ length: c.partitions }, (_, i) => `in-${i}`);
const outNames = (c: BaselineChildConfig) =>
  c.mode === 'single' ? ['out'] : Array.from({ length: OUTBOUND_PARTITIONS }, (_, i) => `out-${i}`);
/** The job options BullJobBus gives every job. */
const KEEP = {
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 7 * 86_400, count: 10_000 },
  attempts: 1,
};

interface BaselineJob {
  channel: 'web';
  messageId: string;
  conversationId: string;
  senderId: string;
  text: string;
  at: string;
  phase: string;
  t0: number;
}

/** A baseline worker process: stage 1 adds the outbound job, stage 2 completes it and reports the time. */
async function baselineChild() {
  const cfg = JSON.parse(process.env.BENCH_BASELINE ?? '{}') as BaselineChildConfig;
  const connection = new Redis(cfg.url);
  const template = connection.duplicate({ maxRetriesPerRequest: null, lazyConnect: true });
  const outQueues = outNames(cfg).map(
    (name) => new Queue(name, { connection, prefix: cfg.prefix, defaultJobOptions: KEEP }),
  );
  const common = {
    connection: template,
    prefix: cfg.prefix,
    autorun: false,
    lockDuration: 30_000,
    stalledInterval: 30_000,
  };
  const concurrency = cfg.mode === 'single' ? cfg.concurrency : 1;
  let batch: Array<[string, number, number]> = [];
  const workers = [
    ...inNames(cfg).map(
      (name) =>
        new Worker(
          name,
          async (job: Job<BaselineJob>) => {
            const d = job.data;
            const out = outQueues[
              cfg.mode === 'single' ? 0 : partitionOf('web', d.conversationId, OUTBOUND_PARTITIONS)
            ] as Queue;
            const replyId = `web:${d.messageId}:r0`;
            await out.add(
              'send',
              {
                channel: 'web',
                replyId,
                conversationId: d.conversationId,
                lang: 'nb',
                dir: 'ltr',
                text: `Svar på: ${d.text}`,
                choices: [],
                phase: d.phase,
                t0: d.t0,
              },
              { jobId: safeJobId(replyId) },
            );
          },
          { ...common, concurrency },
        ),
    ),
    ...outNames(cfg).map(
      (name) =>
        new Worker(
          name,
          async (job: Job<{ phase: string; t0: number }>) => {
            batch.push([job.data.phase, job.data.t0, Date.now()]);
          },
          { ...common, concurrency },
        ),
    ),
  ];
  for (const w of workers) {
    w.on('error', (err) => console.error(`worker ${w.name}: ${err.message}`));
    w.on('failed', (_j, err) => console.error(`job failed in ${w.name}: ${err.message}`));
  }
  for (const w of workers) w.run().catch((err) => console.error(err));
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  const flush = setInterval(() => {
    if (batch.length === 0) return;
    process.send?.({ type: 'done', items: batch });
    batch = [];
  }, 50);
  process.send?.({ type: 'ready' });
  const stop = async () => {
    await Promise.all(workers.map((w) => w.close()));
    clearInterval(flush);
    await Promise.all(outQueues.map((q) => q.close()));
    template.disconnect();
    await connection.quit();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.on('disconnect', () => void stop());
}

interface BaselineResult {
  messagesPerSecond: number;
  latencyMs: ReturnType<typeof percentiles>;
  durationMs: number;
  addsPerSecond: number;
  cpuSeconds: Record<string, number | undefined>;
  redis: ReturnType<typeof redisDiff>;
  stages: Record<'inbound' | 'outbound', Awaited<ReturnType<typeof stageStats>>>;
}

async function runBaseline(
  redisInfo: PrivateRedis,
  admin: Redis,
  o: Options,
  mode: BaselineMode,
): Promise<BaselineResult> {
  const cfg: BaselineChildConfig = {
    url: redisInfo.url,
    prefix: `{bench-baseline-${mode}-${process.pid}}`,
    mode,
    partitions: o.partitions,
    concurrency: o.partitions,
  };
  const done: Array<[string, number, number]> = [];
  const procs: ChildProcess[] = [];
  try {
    for (let w = 0; w < o.workers; w++) {
      const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--baseline-child'], {
        cwd: ROOT,
        env: { ...process.env, BENCH_BASELINE: JSON.stringify(cfg) },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      });
      children.add(child);
      procs.push(child);
      let output = '';
      const keep = (d: Buffer) => {
        output = (output + d.toString()).slice(-20_000);
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      await new Promise<void>((res, rej) => {
        const timer = setTimeout(
          () => rej(new Error(`baseline worker not ready in 180 s:\n${output}`)),
          180_000,
        );
        child.on('message', (msg: { type: string; items?: Array<[string, number, number]> }) => {
          if (msg.type === 'ready') {
            clearTimeout(timer);
            res();
          } else if (msg.type === 'done' && msg.items) done.push(...msg.items);
        });
        child.once('exit', (code) => rej(new Error(`baseline worker exited (${code}):\n${output}`)));
      });
    }

    const connection = new Redis(redisInfo.url);
    const inQueues = inNames(cfg).map(
      (name) => new Queue(name, { connection, prefix: cfg.prefix, defaultJobOptions: KEEP }),
    );
    // The bus sets a global concurrency on every queue; the single queue gets `partitions`, the same total.
    const outQueues = outNames(cfg).map((name) => new Queue(name, { connection, prefix: cfg.prefix }));
    await Promise.all(
      [...inQueues, ...outQueues].map((q) => q.setGlobalConcurrency(mode === 'single' ? cfg.concurrency : 1)),
    );

    const produce = async (phase: string, total: number) => {
      const starts: number[] = [];
      await Promise.all(
        Array.from({ length: o.conversations }, async (_, c) => {
          const conversationId = randomUUID();
          const queue = inQueues[
            mode === 'single' ? 0 : partitionOf('web', conversationId, o.partitions)
          ] as Queue;
          const share = Math.floor(total / o.conversations) + (c < total % o.conversations ? 1 : 0);
          for (let m = 0; m < share; m++) {
            const messageId = randomUUID();
            const t0 = Date.now();
            starts.push(t0);
            const data: BaselineJob = {
              channel: 'web',
              messageId,
              conversationId,
              senderId: DEMO_LOGINS[c % DEMO_LOGINS.length] as string,
              text: TEXTS[(c * 7 + m * 3) % TEXTS.length] as string,
              at: new Date(t0).toISOString(),
              phase,
              t0,
            };
            await queue.add('turn', data, { jobId: safeJobId(`web-${messageId}`) });
          }
        }),
      );
      return { firstAdd: minOf(starts), lastAdd: Date.now() };
    };
    const waitFor = async (phase: string, total: number) => {
      const deadline = Date.now() + o.timeoutMs;
      for (;;) {
        const n = done.filter((d) => d[0] === phase).length;
        if (n >= total) return;
        if (Date.now() > deadline)
          throw new Error(`baseline ${mode}: ${total - n} of ${total} jobs unfinished`);
        await sleep(20);
      }
    };

    progress(`baseline ${mode}: warm-up`);
    await produce('warmup', o.warmup);
    await waitFor('warmup', o.warmup);
    const cpuBefore = procs.map((p) => cpuSecondsOf(p.pid));
    const redisBefore = cpuSecondsOf(redisInfo.pid);
    const benchBefore = process.cpuUsage();
    const countersBefore = await redisCounters(admin);
    progress(`baseline ${mode}: load`);
    const { firstAdd, lastAdd } = await produce('load', o.messages);
    await waitFor('load', o.messages);
    const countersAfter = await redisCounters(admin);
    const load = done.filter((d) => d[0] === 'load');
    const last = maxOf(load.map((d) => d[2]));
    const durationMs = last - firstAdd;
    const benchCpu = process.cpuUsage(benchBefore);
    const result: BaselineResult = {
      messagesPerSecond: Math.round(o.messages / (durationMs / 1000)),
      latencyMs: percentiles(load.map((d) => d[2] - d[1])),
      durationMs,
      addsPerSecond: Math.round(o.messages / ((lastAdd - firstAdd) / 1000)),
      cpuSeconds: {
        workers: sumDiff(
          procs.map((p) => cpuSecondsOf(p.pid)),
          cpuBefore,
        ),
        redis: diff(cpuSecondsOf(redisInfo.pid), redisBefore),
        producers: round((benchCpu.user + benchCpu.system) / 1e6, 2),
      },
      redis: redisDiff(countersBefore, countersAfter, o.messages),
      stages: {
        inbound: await stageStats(admin, cfg.prefix, 'in*', firstAdd),
        outbound: await stageStats(admin, cfg.prefix, 'out*', firstAdd),
      },
    };
    await Promise.all([...inQueues, ...outQueues].map((q) => q.close()));
    await connection.quit();
    return result;
  } finally {
    await Promise.all(procs.map((p) => stopChild(p, 'SIGTERM', 10_000)));
  }
}

const diff = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? undefined : round(a - b, 2);
function sumDiff(after: Array<number | undefined>, before: Array<number | undefined>) {
  let s = 0;
  for (const [i, a] of after.entries()) {
    const d = diff(a, before[i]);
    if (d === undefined) return undefined;
    s += d;
  }
  return round(s, 2);
}

// ---------------------------------------------------------------------------------------------
// The run

interface Options {
  messages: number;
  conversations: number;
  workers: number;
  partitions: number;
  warmup: number;
  timeoutMs: number;
  /** Messages/s of the paced phase (0: none), and how many it sends. */
  pacedRate: number;
  pacedMessages: number;
  skipBaseline: boolean;
  cpuProf: string | undefined;
  /** Tree whose src/main.ts the web and worker processes run (A/B runs of a change); default this repo. */
  appRoot: string;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '5000' },
      conversations: { type: 'string', default: '200' },
      workers: { type: 'string', default: '2' },
      partitions: { type: 'string', default: '16' },
      warmup: { type: 'string', default: '300' },
      timeout: { type: 'string', default: '120' },
      'paced-rate': { type: 'string', default: '250' },
      'paced-messages': { type: 'string', default: '2500' },
      'skip-baseline': { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      'app-root': { type: 'string' },
    },
  });
  const int = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`--${name} must be an integer >= ${min} (got "${v}")`);
    return n;
  };
  const o: Options = {
    messages: int('messages', values.messages, 1),
    conversations: int('conversations', values.conversations, 1),
    workers: int('workers', values.workers, 1),
    partitions: int('partitions', values.partitions, 1),
    warmup: int('warmup', values.warmup, 1),
    timeoutMs: int('timeout', values.timeout, 1) * 1000,
    pacedRate: int('paced-rate', values['paced-rate'], 0),
    pacedMessages: int('paced-messages', values['paced-messages'], 1),
    skipBaseline: values['skip-baseline'],
    cpuProf: values['cpu-prof'] ? resolve(values['cpu-prof']) : undefined,
    appRoot: resolve(values['app-root'] ?? ROOT),
  };
  o.conversations = Math.min(o.conversations, o.messages);
  verbose = values.verbose;
  return o;
}

/**
 * Turn latency below saturation: `pacedMessages` at an even `pacedRate` (open loop), after
 * the saturating load has drained. What a parent waits for an answer on an ordinary day.
 */
async function runPaced(post: Post, conversations: Conversation[], admin: Redis, prefix: string, o: Options) {
  progress(`pipeline: paced, ${o.pacedMessages} messages at ${o.pacedRate}/s`);
  const { sent, postsPerSecond } = await drivePaced(post, conversations, o.pacedMessages, o.pacedRate, 3);
  const receipts = await collectReceipts(
    admin,
    prefix,
    sent.map((s) => s.id),
    o.timeoutMs,
    'paced',
  );
  return {
    rate: o.pacedRate,
    messages: o.pacedMessages,
    postsPerSecond,
    latencyMs: percentiles(sent.map((s) => (receipts.get(s.id) as number) - s.sentAt)),
    latencyFrom: 'the time the message was due (open loop) -> r0 receipt `at`',
  };
}

async function runPipeline(redisInfo: PrivateRedis, admin: Redis, o: Options) {
  const prefix = `bench-pipeline-${process.pid}-${Date.now().toString(36)}`;
  const env = {
    ...process.env,
    REDIS_URL: redisInfo.url,
    REDIS_KEY_PREFIX: prefix,
    INBOUND_PARTITIONS: String(o.partitions),
    LOG_LEVEL: 'warn',
  };
  // One folder per process: node writes one profile per thread (main and tsx's loader thread).
  const roles: RoleProcess[] = [];
  try {
    const [web, ...workers] = await Promise.all([
      startRole('web', { cwd: o.appRoot, env, nodeArgs: cpuProfArgs(o.cpuProf, 'web') }),
      ...Array.from({ length: o.workers }, (_, i) =>
        startRole('worker', { cwd: o.appRoot, env, nodeArgs: cpuProfArgs(o.cpuProf, `worker${i}`) }),
      ),
    ]);
    roles.push(web as RoleProcess, ...workers);
    const port = (web as RoleProcess).port;
    const http = httpClient(port, o.conversations);
    const { post } = http;
    const conversations = await openConversations(post, o.conversations);

    progress(
      `pipeline: web pid ${web?.child.pid}, worker pids ${workers.map((w) => w.child.pid).join(' ')}; warm-up`,
    );
    const warm = await drive(post, conversations, o.warmup, 1);
    await collectReceipts(
      admin,
      prefix,
      warm.sent.map((s) => s.id),
      o.timeoutMs,
      'warm-up',
    );

    const pids = { web: web?.child.pid, workers: workers.map((w) => w.child.pid), redis: redisInfo.pid };
    const cpuBefore = {
      web: cpuSecondsOf(pids.web),
      workers: pids.workers.map(cpuSecondsOf),
      redis: cpuSecondsOf(pids.redis),
    };
    const sysBefore = [pids.web, ...pids.workers].map(syscallsOf);
    const benchBefore = process.cpuUsage();
    const countersBefore = await redisCounters(admin);

    progress('pipeline: load');
    const ids: string[] = [];
    const loadStart = Date.now();
    const load = await drive(post, conversations, o.messages, 2);
    for (const s of load.sent) ids.push(s.id);
    const postsDone = Date.now();
    progress('pipeline: all POSTs accepted, waiting for receipts');
    const receipts = await collectReceipts(admin, prefix, ids, o.timeoutMs, 'load');
    const benchCpu = process.cpuUsage(benchBefore);
    const countersAfter = await redisCounters(admin);
    const sysAfter = [pids.web, ...pids.workers].map(syscallsOf);
    const perMessage = (from: number, to: number, key: 'r' | 'w') => {
      let sum = 0;
      for (let i = from; i < to; i++) {
        const a = sysAfter[i];
        const b = sysBefore[i];
        if (!a || !b) return undefined;
        sum += a[key] - b[key];
      }
      return round(sum / o.messages, 1);
    };
    const cpuAfter = {
      web: cpuSecondsOf(pids.web),
      workers: pids.workers.map(cpuSecondsOf),
      redis: cpuSecondsOf(pids.redis),
    };

    const firstPost = minOf(load.sent.map((s) => s.sentAt));
    const lastReceipt = maxOf(receipts.values());
    const durationMs = lastReceipt - firstPost;
    const e2e = load.sent.map((s) => (receipts.get(s.id) as number) - s.sentAt);
    const afterAccept = load.sent.map((s) => (receipts.get(s.id) as number) - s.acceptedAt);
    const accept = load.sent.map((s) => s.acceptedAt - s.sentAt);
    const result = {
      messagesPerSecond: Math.round(o.messages / (durationMs / 1000)),
      latencyMs: percentiles(e2e),
      latencyFrom:
        'client clock just before the POST is written -> r0 receipt `at` (worker clock, same host)',
      latencyFromAcceptMs: percentiles(afterAccept),
      postMs: percentiles(accept),
      postsPerSecond: Math.round(o.messages / ((postsDone - loadStart) / 1000)),
      durationMs,
      httpRetries: load.retries,
      cpuSeconds: {
        web: diff(cpuAfter.web, cpuBefore.web),
        workers: sumDiff(cpuAfter.workers, cpuBefore.workers),
        redis: diff(cpuAfter.redis, cpuBefore.redis),
        bench: round((benchCpu.user + benchCpu.system) / 1e6, 2),
      },
      /** read/write system calls per message (sockets: Redis and HTTP), from /proc/<pid>/io. */
      syscallsPerMessage: {
        web: { read: perMessage(0, 1, 'r'), write: perMessage(0, 1, 'w') },
        workers: { read: perMessage(1, sysAfter.length, 'r'), write: perMessage(1, sysAfter.length, 'w') },
      },
      redis: redisDiff(countersBefore, countersAfter, o.messages),
      stages: {
        inbound: await stageStats(admin, `{${prefix}}`, 'inbound-*', loadStart),
        outbound: await stageStats(admin, `{${prefix}}`, 'outbound-web-*', loadStart),
      },
    };
    const paced = o.pacedRate > 0 ? await runPaced(post, conversations, admin, prefix, o) : null;
    await http.close();
    return { ...result, paced };
  } catch (err) {
    const logs = roles
      .filter((r) => r.output().trim())
      .map((r) => `--- ${r.role} (pid ${r.child.pid}) ---\n${r.output().slice(-3000)}`)
      .join('\n');
    if (err instanceof Error && logs) err.message += `\n${logs}`;
    throw err;
  } finally {
    // SIGTERM: graceful, so that --cpu-prof profiles are written.
    await Promise.all(roles.map((r) => r.stop()));
  }
}

/**
 * What the target rate would take at this run's CPU per message: cores per role, and for
 * Redis (one thread) the share of its core. A projection for sizing a district, not a
 * measurement; CPU per message itself rises when the roles crowd too few cores.
 */
function capacityAt(cpuSeconds: Record<string, number | undefined>, messages: number, targetMps: number) {
  const msPer = (role: string) => round(((cpuSeconds[role] ?? 0) * 1000) / messages, 3);
  const cpuMsPerMessage = { web: msPer('web'), workers: msPer('workers'), redis: msPer('redis') };
  const cores = (ms: number) => round((ms * targetMps) / 1000, 2);
  return {
    cpuMsPerMessage,
    coresAt: {
      messagesPerSecond: targetMps,
      web: cores(cpuMsPerMessage.web),
      workers: cores(cpuMsPerMessage.workers),
      redis: cores(cpuMsPerMessage.redis),
    },
    redisCoreBoundMessagesPerSecond: cpuMsPerMessage.redis ? Math.round(1000 / cpuMsPerMessage.redis) : null,
  };
}

async function main() {
  const o = options();
  const redisInfo = await startRedis(progress);
  const admin = new Redis(redisInfo.url);
  cleanups.push(() => void admin.disconnect());
  const pipeline = await runPipeline(redisInfo, admin, o);
  let baseline: Record<string, unknown> | undefined;
  let best: number | undefined;
  if (!o.skipBaseline) {
    const partitioned = await runBaseline(redisInfo, admin, o, 'partitioned');
    const single = await runBaseline(redisInfo, admin, o, 'single');
    const chosen = partitioned.messagesPerSecond >= single.messagesPerSecond ? 'partitioned' : 'single';
    best = Math.max(partitioned.messagesPerSecond, single.messagesPerSecond);
    baseline = {
      description:
        `Bare BullMQ, same Redis, ${o.workers} worker process(es) (as many as the pipeline), no Skolebro code. ` +
        `The bench process runs ${o.conversations} producers (one per conversation, like the web chat's conversations), ` +
        `each adding its share of ${o.messages} jobs one at a time with Queue.add (awaited, no addBulk), ` +
        `jobId derived from a message id, the bus's job options (removeOnComplete age 3600/count 1000, attempts 1), ` +
        'a payload shaped like an InboundJob. Stage 1 (inbound) adds one outbound job (jobId from the reply id, ' +
        'payload shaped like an OutboundJob) and returns; stage 2 (outbound) notes Date.now() and returns: two hops, ' +
        'like inbound -> outbound, without dedup markers, state, NLU, zod or store writes. ' +
        `"partitioned": ${o.partitions} inbound queues + ${OUTBOUND_PARTITIONS} outbound queues, global concurrency 1 and ` +
        'worker concurrency 1 each, jobs routed by the same FNV hash of the conversation (the bus topology); ' +
        `"single": one inbound and one outbound queue, global concurrency ${o.partitions}, worker concurrency ` +
        `${o.partitions} per process. Latency: add() called -> stage-2 processor ran. messagesPerSecond is the faster variant.`,
      messagesPerSecond: best,
      chosen,
      partitioned,
      single,
    };
  }
  const ratio = best ? round(pipeline.messagesPerSecond / best, 3) : null;
  const out = {
    bench: 'pipeline',
    messages: o.messages,
    conversations: o.conversations,
    workers: o.workers,
    partitions: o.partitions,
    warmup: o.warmup,
    ...(o.appRoot !== ROOT ? { appRoot: o.appRoot } : {}),
    pipeline,
    capacity: capacityAt(pipeline.cpuSeconds, o.messages, TARGET_MPS),
    baseline: baseline ?? null,
    ratio,
    targets: {
      messagesPerSecond: TARGET_MPS,
      ratio: TARGET_RATIO,
      met: {
        messagesPerSecond: pipeline.messagesPerSecond >= TARGET_MPS,
        ratio: ratio === null ? null : ratio >= TARGET_RATIO,
      },
    },
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? '',
      node: process.version,
      redis: (await redisCounters(admin)).version,
      loadavg1m: round(loadavg()[0] ?? 0, 2),
      ...(o.cpuProf ? { cpuProfiles: o.cpuProf } : {}),
    },
  };
  console.log(JSON.stringify(out, null, 2));
}

if (process.argv.includes('--baseline-child')) {
  await baselineChild();
} else {
  process.once('SIGINT', () => {
    void cleanup().then(() => process.exit(130));
  });
  try {
    await main();
  } catch (err) {
    console.error(`bench/pipeline: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  } finally {
    await cleanup();
  }
}
