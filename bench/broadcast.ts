import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { FakeTwilio } from '../adapters/sms/fake-twilio.ts';
import { RedisOptOuts } from '../adapters/sms/opt-outs.ts';
import type { Announcement, Channel, TrackEntry } from '../src/broadcast/model.ts';
import { progressOf } from '../src/broadcast/progress.ts';
import { RedisBroadcastStore } from '../src/broadcast/store.ts';
import { generateDemoData } from '../src/directory/demo-data.ts';
import { applyImport, planImport } from '../src/directory/import.ts';
import { loadDirectoryFolder } from '../src/directory/load.ts';
import { BROADCAST_QUEUE, outboundQueueName, safeJobId } from '../src/queue/bullmq.ts';
import { RedisStore } from '../src/store/redis.ts';
import {
  cleanup,
  cleanups,
  commandDiff,
  cpuProfArgs,
  cpuSecondsOf,
  type RedisCounters,
  redisCounters,
  round,
  sleep,
  startRedis,
  startRole,
} from './lib.ts';

const ROOT = join(import.meta.dirname, '..');
const TARGET_FANOUT_SECONDS = 10;
/** An SMS segment pace no run comes near: the pacer still runs, it never makes a send wait. */
const SMS_PACE_OFF = 1_000_000;
const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
const SMS_TOKEN = 'bench-broadcast-token';
const TRANSLATOR_KEY = 'bench-translator-key';
const PUBLIC = 'https://skolebro.example';
/** The staff inbox's session link (adapters/web/staff.ts, adapters/web/broadcast.ts). */
const STAFF_SESSION_LINK = 'web-staff-session';
/** No glossary term in it (so it goes as plain text, and the billed length is its length). */
const TEXT =
  'Skolen holder stengt fredag på grunn av en vannlekkasje i hovedbygget. Elevene møter som vanlig mandag klokka 08.30.';
/** Environment the processes must not inherit: Slack/Teams stay off, the rest is set here. */
const SCRUB = /^(SLACK_|TEAMS_|MICROSOFT_|SMS_|TRANSLATOR_|BROADCAST_|REDIS_|DIRECTORY$|SCHOOL_DATA_DIR$)/;

// ---------------------------------------------------------------------------------------------
// Small helpers (as in bench/pipeline.ts)

let verbose = false;
const t00 = Date.now();
const progress = (msg: string) => {
  if (verbose) process.stderr.write(`[broadcast +${((Date.now() - t00) / 1000).toFixed(1)}s] ${msg}\n`);
};
const seconds = (ms: number) => round(ms / 1000, 2);

function percentiles(values: number[]) {
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) => round(s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? 0);
  return { p50: at(0.5), p90: at(0.9), max: round(s[s.length - 1] ?? 0) };
}

/** FNV-1a of a string, as a number in [0, 1): a deterministic pick of guardians. */
function share(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return hash / 2 ** 32;
}

/** VmRSS and VmHWM of a process in MiB, from /proc/<pid>/status. */
function memoryOf(pid: number | undefined): { rss: number; hwm: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

const diff = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? null : round(a - b, 2);
function sumDiff(after: Array<number | undefined>, before: Array<number | undefined>) {
  let s = 0;
  for (const [i, a] of after.entries()) s += diff(a, before[i]) ?? 0;
  return round(s, 2);
}

/** Everything started here, stopped in reverse order on the way out, error or not. */

// ---------------------------------------------------------------------------------------------
// Private redis-server

/** Commands per recipient over a phase (`INFO commandstats`; Redis 7 counts commands run inside Lua too). */
function redisDiff(before: RedisCounters, after: RedisCounters, per: number) {
  const rows = commandDiff(before, after);
  const total = rows.reduce((s, r) => s + r.calls, 0);
  const usec = rows.reduce((s, r) => s + r.usec, 0);
  return {
    commandsPerRecipient: round(total / per, 2),
    commandMicrosecondsPerRecipient: round(usec / per, 1),
    redisCpuSeconds: round(after.cpu - before.cpu, 2),
    topByTime: rows
      .filter((r) => r.calls > 0)
      .sort((x, y) => y.usec - x.usec)
      .slice(0, 10)
      .map((r) => ({ cmd: r.cmd, perRecipient: round(r.calls / per, 2), seconds: round(r.usec / 1e6, 2) })),
  };
}

// ---------------------------------------------------------------------------------------------
// A minimal fake Azure Translator (text v3 /translate): "[to] text", billing counted as Azure does.

interface FakeTranslator {
  url: string;
  stats: { requests: number; billedCharacters: number; targets: Record<string, number>; texts: Set<string> };
  close(): Promise<void>;
}

async function startFakeTranslator(key: string): Promise<FakeTranslator> {
  const stats = {
    requests: 0,
    billedCharacters: 0,
    targets: {} as Record<string, number>,
    texts: new Set<string>(),
  };
  const readBody = (req: IncomingMessage) =>
    new Promise<string>((res, rej) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => res(Buffer.concat(chunks).toString('utf8')));
      req.on('error', rej);
    });
  const server = createHttpServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const url = new URL(req.url ?? '/', 'http://fake');
      const reply = (status: number, payload: unknown) => {
        res.writeHead(status, {
          'content-type': 'application/json; charset=utf-8',
          'x-requestid': randomUUID(),
        });
        res.end(JSON.stringify(payload));
      };
      stats.requests++;
      if (req.headers['ocp-apim-subscription-key'] !== key)
        return reply(401, { error: { code: 401000, message: 'bad key' } });
      if (
        req.method !== 'POST' ||
        url.pathname !== '/translate' ||
        url.searchParams.get('api-version') !== '3.0'
      )
        return reply(404, { error: { code: 404001, message: 'not found' } });
      const to = url.searchParams.getAll('to');
      const items = JSON.parse(body) as Array<{ Text: string }>;
      const chars = items.reduce((n, t) => n + [...t.Text].length, 0);
      stats.billedCharacters += chars * to.length;
      for (const t of to) stats.targets[t] = (stats.targets[t] ?? 0) + chars;
      for (const t of items) stats.texts.add(t.Text);
      return reply(
        200,
        items.map((t) => ({ translations: to.map((lang) => ({ text: `[${lang}] ${t.Text}`, to: lang })) })),
      );
    })().catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500).end(err.message);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stats,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// Skolebro role processes (src/main.ts, as bench/pipeline.ts runs them)

async function postJson(
  url: string,
  body: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { raw: text.slice(0, 500) };
  }
  return { status: res.status, body: parsed };
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>) {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i] as T, i);
    }),
  );
  return out;
}

// ---------------------------------------------------------------------------------------------
// The run

interface Options {
  guardians: number;
  schools: number;
  workers: number;
  maxSeconds: number;
  seed: string;
  optOutShare: number;
  rejectShare: number;
  draftConcurrency: number;
  batch: number | undefined;
  isolate: boolean;
  cpuProf: string | undefined;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      guardians: { type: 'string', default: '125000' },
      schools: { type: 'string', default: '143' },
      workers: { type: 'string', default: '2' },
      'max-seconds': { type: 'string', default: '120' },
      seed: { type: 'string', default: 'oslo' },
      'opt-out-share': { type: 'string', default: '0.1' },
      'sms-reject-share': { type: 'string', default: '0.01' },
      'draft-concurrency': { type: 'string' },
      batch: { type: 'string' },
      concurrent: { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      verbose: { type: 'boolean', default: false },
    },
  });
  const int = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`--${name} must be an integer >= ${min} (got "${v}")`);
    return n;
  };
  const fraction = (name: string, v: string) => {
    const n = Number(v);
    if (!(n >= 0 && n <= 1)) throw new Error(`--${name} must be between 0 and 1 (got "${v}")`);
    return n;
  };
  verbose = values.verbose;
  const schools = int('schools', values.schools, 1);
  return {
    guardians: int('guardians', values.guardians, 1),
    schools,
    workers: int('workers', values.workers, 1),
    maxSeconds: int('max-seconds', values['max-seconds'], 1),
    seed: values.seed,
    optOutShare: fraction('opt-out-share', values['opt-out-share']),
    rejectShare: fraction('sms-reject-share', values['sms-reject-share']),
    draftConcurrency: int('draft-concurrency', values['draft-concurrency'] ?? String(schools), 1),
    batch: values.batch === undefined ? undefined : int('batch', values.batch, 1),
    // The fan-out's time is measured with delivery held (as the SMS pace holds it in a
    // district: 10 segments/s is next to no CPU), then delivery with rate limits off;
    // --concurrent runs both at once on the same cores, a stress figure.
    isolate: !values.concurrent,
    cpuProf: values['cpu-prof'] ? resolve(values['cpu-prof']) : undefined,
  };
}

interface School {
  id: string;
  login: string;
  session: string;
  broadcastId: string;
  guardians: number;
  languages: string[];
  characters: number;
  /** Epoch ms just before its send request was written, and when its 202 came. */
  sendAt: number;
  acceptedAt: number;
}

async function main() {
  const o = options();
  const loadStart = loadavg();
  const prefix = `bench-bc-${process.pid}`;
  const setup: Record<string, number> = {};

  // --- the district
  let t = Date.now();
  const dataDir = mkdtempSync(join(tmpdir(), 'skolebro-bench-district-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const summary = generateDemoData(dataDir, { guardians: o.guardians, schools: o.schools, seed: o.seed });
  setup.generateSeconds = seconds(Date.now() - t);
  t = Date.now();
  const data = loadDirectoryFolder(dataDir);
  // Each rektor signs in with their staff id as web login (the generator gives staff none).
  const rektors = new Map<string, string>();
  for (const s of data.staff)
    if (s.roles.includes('rektor') && !rektors.has(s.schoolId)) {
      s.webLogin = s.id;
      rektors.set(s.schoolId, s.id);
    }
  setup.loadSeconds = seconds(Date.now() - t);
  progress(`district: ${summary.guardians} guardians, ${summary.schools} schools, ${summary.pupils} pupils`);

  const redisInfo = await startRedis(progress);
  const admin = new Redis(redisInfo.url);
  cleanups.push(() => void admin.disconnect());
  t = Date.now();
  await applyImport(admin, await planImport(admin, data, { prefix, prune: false }));
  setup.importSeconds = seconds(Date.now() - t);
  progress(`imported in ${setup.importSeconds} s`);

  // SMS opt-outs (the registry the fan-out checks) and numbers the fake Twilio refuses.
  const optOuts = new RedisOptOuts(admin, `${prefix}:`);
  const optedOut = data.guardians.filter((g) => g.phone && share(`opt-out:${g.id}`) < o.optOutShare);
  for (let i = 0; i < optedOut.length; i += 1000)
    await Promise.all(
      optedOut.slice(i, i + 1000).map((g) => optOuts.optOut(g.phone as string, new Date(), 'keyword')),
    );
  const twilio = await FakeTwilio.start({ accountSid: ACCOUNT_SID, authToken: SMS_TOKEN });
  cleanups.push(() => twilio.close());
  const rejected = data.guardians.filter(
    (g) => g.phone && share(`opt-out:${g.id}`) >= o.optOutShare && share(`reject:${g.id}`) < o.rejectShare,
  );
  for (const g of rejected) twilio.rejectNumber(g.phone as string, 21614);
  const translator = await startFakeTranslator(TRANSLATOR_KEY);
  cleanups.push(() => translator.close());

  // --- the processes
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !SCRUB.test(k)) env[k] = v;
  Object.assign(env, {
    LOG_LEVEL: 'warn',
    REDIS_URL: redisInfo.url,
    REDIS_KEY_PREFIX: prefix,
    DIRECTORY: 'redis',
    SMS_ACCOUNT_SID: ACCOUNT_SID,
    SMS_AUTH_TOKEN: SMS_TOKEN,
    SMS_FROM: '+4759440000',
    SMS_API_BASE_URL: twilio.url,
    PUBLIC_BASE_URL: PUBLIC,
    TRANSLATOR_KEY,
    TRANSLATOR_ENDPOINT: translator.url,
    BROADCAST_QUIET_HOURS: 'off',
    // Delivery is measured with rate limits off: the segment pace (adapters/sms/pace.ts) far above what a run sends.
    SMS_SEGMENTS_PER_SECOND: String(SMS_PACE_OFF),
    ...(o.batch ? { BROADCAST_BATCH: String(o.batch) } : {}),
  });
  t = Date.now();
  const [web, ...workers] = await Promise.all([
    startRole('web', { cwd: ROOT, env, nodeArgs: cpuProfArgs(o.cpuProf, 'web') }),
    ...Array.from({ length: o.workers }, (_, i) =>
      startRole('worker', { cwd: ROOT, env, nodeArgs: cpuProfArgs(o.cpuProf, `worker${i}`) }),
    ),
  ]);
  if (!web) throw new Error('no web process');
  setup.startProcessesSeconds = seconds(Date.now() - t);
  const workerPids = workers.map((w) => w.child.pid);
  progress(`web pid ${web.child.pid}, workers ${workerPids.join(' ')}`);
  const store = new RedisStore(admin, { prefix: `${prefix}:`, retentionDays: 180 });
  const broadcasts = new RedisBroadcastStore(admin, { prefix: `${prefix}:`, retentionDays: 180 });

  // Is there an SMS rate limit? BullMQ keeps a global one in each queue's meta hash.
  const bull = `{${prefix}}`;
  const partitions = Number(env.OUTBOUND_PARTITIONS ?? 16);
  const outQueues = (['sms', 'web'] as const).flatMap((c) =>
    Array.from(
      { length: partitions },
      (_, i) => new Queue(outboundQueueName(c, i), { connection: admin, prefix: bull }),
    ),
  );
  cleanups.push(async () => {
    await Promise.all(outQueues.map((q) => q.close()));
  });
  const smsMeta = await admin.hgetall(`${bull}:${outboundQueueName('sms', 0)}:meta`);
  const smsLimiter = smsMeta.max ? { max: Number(smsMeta.max), duration: Number(smsMeta.duration) } : null;
  if (smsLimiter)
    throw new Error(`the SMS queues have a rate limit (${JSON.stringify(smsLimiter)}); the bench needs none`);

  // --- drafts (setup): every rektor, the same text, the whole school
  t = Date.now();
  const schoolIds = data.schools.map((s) => s.id);
  const schools: School[] = await pool(schoolIds, o.draftConcurrency, async (id) => {
    const login = rektors.get(id);
    if (!login) throw new Error(`school ${id} has no rektor`);
    const session = randomUUID();
    await store.linkIdentity(STAFF_SESSION_LINK, session, login);
    const draft = await postJson(`${web.url}/api/staff/sessions/${session}/broadcasts`, {
      audience: { kind: 'school', id },
      text: TEXT,
    });
    if (draft.status !== 201)
      throw new Error(`draft for ${id}: HTTP ${draft.status} ${JSON.stringify(draft.body)}`);
    const preview = draft.body.preview as { guardians: number };
    const translation = draft.body.translation as { languages: string[]; characters: number };
    return {
      id,
      login,
      session,
      broadcastId: draft.body.id as string,
      guardians: preview.guardians,
      languages: translation.languages,
      characters: translation.characters,
      sendAt: 0,
      acceptedAt: 0,
    };
  });
  setup.draftSeconds = seconds(Date.now() - t);
  const billedAfterDrafts = translator.stats.billedCharacters;
  const requestsAfterDrafts = translator.stats.requests;
  progress(`${schools.length} drafts in ${setup.draftSeconds} s; ${billedAfterDrafts} characters billed`);

  // --- the run: send all at once, sample memory, wait for the fan-out, then for delivery
  const pids = { web: web.child.pid, workers: workerPids, redis: redisInfo.pid };
  const rss = workers.map((w) => ({
    pid: w.child.pid,
    startMiB: memoryOf(w.child.pid)?.rss ?? 0,
    maxMiB: 0,
  }));
  let webMaxMiB = 0;
  const sampler = setInterval(() => {
    for (const r of rss) r.maxMiB = Math.max(r.maxMiB, memoryOf(r.pid)?.rss ?? 0);
    webMaxMiB = Math.max(webMaxMiB, memoryOf(pids.web)?.rss ?? 0);
  }, 200);
  cleanups.push(() => clearInterval(sampler));
  const cpuBefore = {
    web: cpuSecondsOf(pids.web),
    workers: pids.workers.map(cpuSecondsOf),
    redis: cpuSecondsOf(pids.redis),
  };
  const benchBefore = process.cpuUsage();
  const countersBefore = await redisCounters(admin);
  if (o.isolate) await Promise.all(outQueues.map((q) => q.pause()));

  progress('sending');
  const t0 = Date.now();
  await Promise.all(
    schools.map(async (s) => {
      s.sendAt = Date.now();
      const res = await postJson(
        `${web.url}/api/staff/sessions/${s.session}/broadcasts/${s.broadcastId}/send`,
        {},
      );
      s.acceptedAt = Date.now();
      if (res.status !== 202)
        throw new Error(`send for ${s.id}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
    }),
  );
  const sendsAccepted = Date.now();
  const deadline = t0 + o.maxSeconds * 1000;
  /** The fan-out is waited for even past --max-seconds (its time is the headline), up to 10 minutes. */
  const fanoutDeadline = t0 + Math.max(o.maxSeconds, 600) * 1000;

  const metas = new Map<string, Announcement>();
  let fanoutDetected = 0;
  for (;;) {
    const pending = schools.filter((s) => !metas.get(s.broadcastId)?.fannedOutAt);
    if (pending.length === 0) break;
    if (Date.now() > fanoutDeadline) break;
    const rows = await admin.mget(pending.map((s) => `${prefix}:bc:{${s.broadcastId}}:meta`));
    rows.forEach((row, i) => {
      if (row) metas.set((pending[i] as School).broadcastId, JSON.parse(row) as Announcement);
    });
    await sleep(200);
  }
  fanoutDetected = Date.now();
  const fanoutComplete = schools.every((s) => metas.get(s.broadcastId)?.fannedOutAt);
  progress(`fan-out ${fanoutComplete ? 'done' : 'NOT done'} after ${seconds(fanoutDetected - t0)} s`);
  let isolated: Record<string, unknown> | undefined;
  /** When delivery could start: the resume of the outbound queues, or with --concurrent the first send request. */
  let deliveryStart = t0;
  if (o.isolate) {
    const c = await redisCounters(admin);
    isolated = {
      cpuSeconds: {
        web: diff(cpuSecondsOf(pids.web), cpuBefore.web),
        workers: sumDiff(pids.workers.map(cpuSecondsOf), cpuBefore.workers),
        redis: diff(cpuSecondsOf(pids.redis), cpuBefore.redis),
      },
      redis: redisDiff(countersBefore, c, Math.max(1, summary.guardians)),
    };
    await Promise.all(outQueues.map((q) => q.resume()));
    deliveryStart = Date.now();
  }

  // Delivery: done when every fan-out is done and the outbound queues are empty, twice in a row.
  let idle = 0;
  let deliveryComplete = false;
  while (Date.now() < deadline) {
    const counts = await Promise.all(
      outQueues.map((q) => q.getJobCounts('wait', 'active', 'delayed', 'prioritized')),
    );
    const open = counts.reduce((n, c) => n + Object.values(c).reduce((a, b) => a + b, 0), 0);
    const allFanned =
      fanoutComplete ||
      (await admin.mget(schools.map((s) => `${prefix}:bc:{${s.broadcastId}}:meta`))).every(
        (row) => row && (JSON.parse(row) as Announcement).fannedOutAt,
      );
    idle = open === 0 && allFanned ? idle + 1 : 0;
    if (idle >= 2) {
      deliveryComplete = true;
      break;
    }
    await sleep(500);
  }
  const tEnd = Date.now();
  clearInterval(sampler);
  const benchCpu = process.cpuUsage(benchBefore);
  const countersAfter = await redisCounters(admin);
  const cpuAfter = {
    web: cpuSecondsOf(pids.web),
    workers: pids.workers.map(cpuSecondsOf),
    redis: cpuSecondsOf(pids.redis),
  };
  const hwm = workers.map((w) => memoryOf(w.child.pid)?.hwm ?? 0);
  progress(`delivery ${deliveryComplete ? 'done' : 'capped'} after ${seconds(tEnd - t0)} s; collecting`);

  // --- what happened, from the store (not timed)
  const fanout: number[] = [];
  const jobStats: Array<{ wait: number; service: number }> = [];
  let recipients = 0;
  let firstJobs = 0;
  let unreachable = 0;
  let optedOutEntries = 0;
  const channelEvents = new Map<string, number[]>();
  const byStatus: Record<string, number> = {};
  let announcementBilled = 0;
  const languages = new Set<string>();
  for (const s of schools) {
    const a = (await broadcasts.get(s.broadcastId)) as Announcement;
    announcementBilled += a.billedCharacters;
    for (const l of s.languages) languages.add(l);
    if (a.fannedOutAt) fanout.push(Date.parse(a.fannedOutAt) - s.sendAt);
    const [processedOn, finishedOn, timestamp] = await admin.hmget(
      `${bull}:${BROADCAST_QUEUE}:${safeJobId(`broadcast-${s.broadcastId}`)}`,
      'processedOn',
      'finishedOn',
      'timestamp',
    );
    if (processedOn && finishedOn && timestamp)
      jobStats.push({
        wait: Number(processedOn) - Number(timestamp),
        service: Number(finishedOn) - Number(processedOn),
      });
    const members = (await broadcasts.members(s.broadcastId)) ?? [];
    recipients += members.length;
    const entries: TrackEntry[] = await broadcasts.entries(
      s.broadcastId,
      members.map((m) => m.guardianId),
    );
    const p = progressOf(entries, {
      now: new Date(),
      receiptTimeoutMs: 30 * 60_000,
      receiptChannels: new Set<Channel>(['sms']),
    });
    for (const [status, n] of Object.entries(p.byStatus))
      byStatus[status] = (byStatus[status] ?? 0) + (n ?? 0);
    for (const e of entries) {
      if (e.history[0]?.status === 'queued') firstJobs++;
      if (e.status === 'unreachable') unreachable++;
      if (e.status === 'opted-out') optedOutEntries++;
      for (const h of e.history) {
        if (!h.channel || h.status === 'queued') continue;
        const key = `${h.channel}:${h.status === 'failed' ? 'failed' : h.attempt === 0 ? 'first' : 'fallback'}`;
        const list = channelEvents.get(key) ?? [];
        list.push(Date.parse(h.at));
        channelEvents.set(key, list);
      }
    }
  }

  /**
   * A channel's messages from the tracking history (worker clock): those on the guardian's
   * first channel and those after a fallback, failures; rates over the whole run and per
   * one-second bin while the channel was sending.
   */
  const channel = (name: 'sms' | 'web') => {
    const first = channelEvents.get(`${name}:first`) ?? [];
    const fallback = channelEvents.get(`${name}:fallback`) ?? [];
    const done = [...first, ...fallback];
    let lo = Number.POSITIVE_INFINITY;
    let hi = 0;
    for (const x of done) {
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    const bins = new Map<number, number>();
    for (const x of done)
      bins.set(Math.floor((x - t0) / 1000), (bins.get(Math.floor((x - t0) / 1000)) ?? 0) + 1);
    const busy: number[] = [];
    for (let b = Math.floor((lo - t0) / 1000); b <= Math.floor((hi - t0) / 1000); b++)
      busy.push(bins.get(b) ?? 0);
    const sorted = [...busy].sort((a, b) => a - b);
    return {
      messages: done.length,
      onFirstChannel: first.length,
      afterFallback: fallback.length,
      failed: (channelEvents.get(`${name}:failed`) ?? []).length,
      /** From the resume of the queues (--concurrent: the first send request) to the last message on this channel. */
      messagesPerSecond:
        done.length && hi > deliveryStart ? Math.round(done.length / ((hi - deliveryStart) / 1000)) : 0,
      /** Median and best one-second bin between this channel's first and last message. */
      perSecondBins: done.length
        ? { median: sorted[Math.floor(sorted.length / 2)] ?? 0, max: sorted[sorted.length - 1] ?? 0 }
        : null,
      firstAfterSeconds: done.length ? seconds(lo - t0) : null,
      lastAfterSeconds: done.length ? seconds(hi - t0) : null,
    };
  };
  const fanoutSeconds =
    fanout.length === schools.length
      ? seconds(
          Math.max(...schools.map((s) => Date.parse(metas.get(s.broadcastId)?.fannedOutAt ?? '0'))) - t0,
        )
      : null;
  const distinctLanguages = [...languages].sort();
  const expectedBilled = TEXT.length * distinctLanguages.length;
  const sumDiffWorkers = sumDiff(cpuAfter.workers, cpuBefore.workers);

  const out = {
    bench: 'broadcast',
    options: {
      guardians: o.guardians,
      schools: o.schools,
      workers: o.workers,
      maxSeconds: o.maxSeconds,
      seed: o.seed,
      optOutShare: o.optOutShare,
      smsRejectShare: o.rejectShare,
      draftConcurrency: o.draftConcurrency,
      broadcastBatch: o.batch ?? 'default (1000)',
      mode: o.isolate
        ? 'fan-out with the outbound queues paused, then delivery (default)'
        : 'fan-out and delivery at once (--concurrent)',
    },
    district: {
      guardians: summary.guardians,
      schools: summary.schools,
      classes: summary.classes,
      pupils: summary.pupils,
      languages: Object.keys(summary.languages).length,
      smsOptedOut: optedOut.length,
      smsRejectedNumbers: rejected.length,
    },
    setup: {
      ...setup,
      smsRateLimit:
        smsLimiter ??
        `none (no global rate limit in the outbound-sms queues meta; SMS_SEGMENTS_PER_SECOND=${SMS_PACE_OFF})`,
      channels: 'sms (fake Twilio) + web inbox; Slack/Teams not configured',
      translator: 'minimal fake Azure Translator v3 in this bench (not test/helpers)',
    },
    fanout: {
      description:
        'first send request -> the last announcement fannedOutAt (written after its last addBulk); per school: its own send request -> its fannedOutAt',
      fanoutSeconds,
      target: TARGET_FANOUT_SECONDS,
      met: fanoutSeconds !== null && fanoutSeconds < TARGET_FANOUT_SECONDS,
      complete: fanoutComplete,
      sendRequestsSeconds: seconds(sendsAccepted - t0),
      sendRequestMs: percentiles(schools.map((s) => s.acceptedAt - s.sendAt)),
      recipients,
      previewGuardians: schools.reduce((n, s) => n + s.guardians, 0),
      recipientsPerSecond: fanoutSeconds ? Math.round(recipients / fanoutSeconds) : null,
      jobsEnqueued: firstJobs,
      perSchoolSeconds: percentiles(fanout.map((ms) => ms / 1000)),
      perFanOutJobMs: {
        queueWait: percentiles(jobStats.map((j) => j.wait)),
        service: percentiles(jobStats.map((j) => j.service)),
        serviceSumSeconds: seconds(jobStats.reduce((n, j) => n + j.service, 0)),
      },
      ...(isolated ? { isolated } : {}),
    },
    delivery: {
      complete: deliveryComplete,
      seconds: seconds(tEnd - deliveryStart),
      from: o.isolate ? 'the resume of the outbound queues (after the fan-out)' : 'the first send request',
      sms: {
        ...channel('sms'),
        fakeTwilioAccepted: twilio.sent.length,
        fakeTwilioCalls: twilio.calls.length,
      },
      web: channel('web'),
      byStatus,
      optedOut: optedOutEntries,
      unreachable,
    },
    translation: {
      description:
        'characters the fake Translator billed (characters x target languages of every 200), against text length x distinct target languages over the district (what the Redis cache should bring it to)',
      billedCharacters: translator.stats.billedCharacters,
      billedDuringDrafts: billedAfterDrafts,
      requests: translator.stats.requests,
      requestsDuringDrafts: requestsAfterDrafts,
      expectedBilledCharacters: expectedBilled,
      textLength: TEXT.length,
      distinctTargetLanguages: distinctLanguages.length,
      timesBilledPerLanguage: round(translator.stats.billedCharacters / Math.max(1, expectedBilled), 2),
      matchesExpected: translator.stats.billedCharacters === expectedBilled,
      announcementsBilledCharactersSum: announcementBilled,
    },
    memory: {
      workerPeakRssMiB: round(Math.max(...rss.map((r) => r.maxMiB)), 1),
      workers: rss.map((r, i) => ({
        pid: r.pid,
        rssBeforeMiB: round(r.startMiB, 1),
        peakRssDuringRunMiB: round(r.maxMiB, 1),
        vmHwmMiB: round(hwm[i] ?? 0, 1),
      })),
      webPeakRssMiB: round(webMaxMiB, 1),
      redisUsedMemoryMiB: countersAfter.usedMemoryMiB,
      sampledEveryMs: 200,
    },
    cpuSeconds: {
      web: diff(cpuAfter.web, cpuBefore.web),
      workers: sumDiffWorkers,
      redis: diff(cpuAfter.redis, cpuBefore.redis),
      bench: round((benchCpu.user + benchCpu.system) / 1e6, 2),
      note: 'first send request -> end of delivery; the bench process runs the fake Twilio and the fake Translator',
    },
    redis: redisDiff(countersBefore, countersAfter, Math.max(1, recipients)),
    workerErrorLogLines: workers.reduce((n, w) => n + w.errorLines(), 0),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? '',
      memoryGiB: round(totalmem() / 2 ** 30, 1),
      node: process.version,
      redis: countersAfter.version,
      loadavgAtStart: loadStart.map((x) => round(x, 2)),
      loadavgAtEnd: loadavg().map((x) => round(x, 2)),
      ...(o.cpuProf ? { cpuProfiles: o.cpuProf } : {}),
    },
  };
  console.log(JSON.stringify(out, null, 2));
}

process.once('SIGINT', () => {
  void cleanup().then(() => process.exit(130));
});
try {
  await main();
} catch (err) {
  console.error(`bench/broadcast: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
