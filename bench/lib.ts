/**
 * What every bench needs around the thing it measures: free loopback ports, a private
 * redis-server (never the machine's own on 6379), child processes stopped on exit, CPU
 * readings from /proc, and cleanup on success and on error alike.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';

/** The machine's own Redis port: never started on, never touched. */
export const SYSTEM_PORT = 6379;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** A port the kernel just handed out on loopback, never the system Redis port. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((res, rej) => {
      const server = createServer();
      server.once('error', rej);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        const p = typeof address === 'object' && address ? address.port : 0;
        server.close(() => res(p));
      });
    });
    if (port !== SYSTEM_PORT && port !== 0) return port;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc; undefined where there is no /proc. */
export function cpuSecondsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat(5) (utime, stime), in clock ticks (USER_HZ = 100 on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Undone in reverse order by `cleanup()`, on success and on error alike. */
export const cleanups: Array<() => Promise<void> | void> = [];
/** Killed when the bench exits, whatever the reason. */
export const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export interface PrivateRedis {
  url: string;
  port: number;
  pid: number | undefined;
}

/** A redis-server of the bench's own on a free loopback port, stopped by `cleanup()`. */
export async function startRedis(log: (msg: string) => void = () => {}): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'skolebro-bench-redis-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  for (let tries = 3; ; tries--) {
    const port = await freePort();
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.add(child);
    let output = '';
    const keep = (d: Buffer) => {
      output = (output + d.toString()).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const died = new Promise<never>((_, rej) => {
      child.once('error', (err: NodeJS.ErrnoException) =>
        rej(
          err.code === 'ENOENT'
            ? new Error(
                'redis-server not found on PATH: the bench starts its own Redis; install Redis 7 (apt-get install redis-server)',
              )
            : err,
        ),
      );
      child.once('exit', (code, signal) =>
        rej(new Error(`redis-server on port ${port} exited (${code ?? signal}):\n${output}`)),
      );
    });
    died.catch(() => {});
    try {
      await Promise.race([waitForPing(port, 10_000), died]);
      cleanups.push(() => stopChild(child, 'SIGTERM', 5000));
      log(`redis-server on port ${port} (pid ${child.pid})`);
      return { url: `redis://127.0.0.1:${port}`, port, pid: child.pid };
    } catch (err) {
      child.kill('SIGKILL');
      if (tries <= 1 || !(err instanceof Error) || !err.message.includes('exited')) throw err;
    }
  }
}

export async function waitForPing(port: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((res) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      let reply = '';
      const done = (v: boolean) => {
        socket.destroy();
        res(v);
      };
      socket.setTimeout(1000, () => done(false));
      socket.once('error', () => done(false));
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.on('data', (chunk) => {
        reply += chunk.toString();
        if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
      });
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
}

export async function cleanup() {
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch {
      // keep going: the rest must still be stopped
    }
  }
  cleanups.length = 0;
}

export interface LoadRequest {
  method: 'POST' | 'GET';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface OpenLoopResult {
  sent: number;
  ok: number;
  non2xx: number;
  errors: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
}

/**
 * Open-loop load: requests leave at an even `rate` per second whether or not earlier
 * ones have been answered, as webhooks from a platform do, over a pool of keep-alive
 * connections. Each latency is measured from the moment its request was due, so a
 * stalled server cannot hide its backlog (no coordinated omission). autocannon's
 * `overallRate` instead fires all its connections in lock-step, which turns 500/s into
 * bursts of 50 requests ten times a second.
 */
export async function openLoop(opts: {
  url: string;
  rate: number;
  durationSeconds: number;
  make: () => LoadRequest;
  connections?: number;
}): Promise<OpenLoopResult> {
  const { request, Agent } = await import('node:http');
  const target = new URL(opts.url);
  const agent = new Agent({ keepAlive: true, maxSockets: opts.connections ?? 64 });
  const latencies: number[] = [];
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  const total = Math.round(opts.rate * opts.durationSeconds);
  const interval = 1000 / opts.rate;
  const start = performance.now();
  const inFlight = new Set<Promise<void>>();
  const fire = (due: number) => {
    const req = opts.make();
    const done = new Promise<void>((resolve) => {
      const r = request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.path,
          headers:
            req.body === undefined
              ? req.headers
              : { ...req.headers, 'content-length': Buffer.byteLength(req.body) },
          agent,
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - due);
            if (res.statusCode && res.statusCode < 300) ok++;
            else non2xx++;
            resolve();
          });
        },
      );
      r.on('error', () => {
        errors++;
        resolve();
      });
      r.end(req.body);
    });
    inFlight.add(done);
    void done.then(() => inFlight.delete(done));
  };
  let sent = 0;
  while (sent < total) {
    const now = performance.now();
    while (sent < total && start + sent * interval <= now) {
      fire(start + sent * interval);
      sent++;
    }
    await new Promise<void>((r) => setTimeout(r, 1));
  }
  await Promise.all(inFlight);
  agent.destroy();
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
  return {
    sent,
    ok,
    non2xx,
    errors,
    requestsPerSecond: Math.round(sent / elapsed),
    latencyMs: { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: round(latencies.at(-1) ?? 0) },
  };
}

/** A `--role web|worker` process of the app, started by `startRole`. */
export interface RoleProcess {
  role: string;
  url: string;
  port: number;
  child: ChildProcess;
  /** Log lines at error or fatal level so far. */
  errorLines(): number;
  /** The last 20 kB of its output. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `src/main.ts --role <role>` on a free port with exactly `env` (the caller decides
 * what of its own environment to pass) and waits until /readyz answers; stopped by `cleanup()`.
 */
export async function startRole(
  role: 'web' | 'worker',
  opts: { cwd: string; env: NodeJS.ProcessEnv; nodeArgs?: string[] },
): Promise<RoleProcess> {
  const port = await freePort();
  const args = [...(opts.nodeArgs ?? []), '--import', 'tsx', 'src/main.ts', '--role', role];
  const child = spawn(process.execPath, args, {
    cwd: opts.cwd,
    env: { ...opts.env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  let errors = 0;
  const keep = (d: Buffer) => {
    const text = d.toString();
    errors += text.match(/"level":(50|60)/g)?.length ?? 0;
    output = (output + text).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const proc: RoleProcess = {
    role,
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    errorLines: () => errors,
    output: () => output,
    stop: () => stopChild(child, 'SIGTERM', 30_000),
  };
  cleanups.push(proc.stop);
  // Start-up trains the NLU (seconds of CPU); on a busy 2-core machine that can take a while.
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`--role ${role} exited early (${child.exitCode}):\n${output}`);
    const ok = await fetch(`${proc.url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return proc;
    if (Date.now() > deadline) throw new Error(`--role ${role} not ready within 180 s:\n${output}`);
    await sleep(100);
  }
}

/** Node arguments that make a process write its V8 CPU profile to `<dir>/<name>/`; none without `dir`. */
export function cpuProfArgs(dir: string | undefined, name: string): string[] {
  if (!dir) return [];
  const into = join(dir, name);
  mkdirSync(into, { recursive: true });
  return ['--cpu-prof', '--cpu-prof-dir', into];
}

/** Counters of `INFO commandstats`, `INFO cpu` and memory, to diff around a phase. */
export async function redisCounters(redis: Redis) {
  const info = await redis.info('all');
  const calls = new Map<string, { calls: number; usec: number }>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    calls.set(m[1] as string, { calls: Number(m[2]), usec: Number(m[3]) });
  }
  const num = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return {
    calls,
    cpu: num('used_cpu_user') + num('used_cpu_sys'),
    usedMemoryMiB: round(num('used_memory') / 2 ** 20, 1),
    version: /^redis_version:(\S+)/m.exec(info)?.[1] ?? '',
  };
}
export type RedisCounters = Awaited<ReturnType<typeof redisCounters>>;

/** Calls and microseconds per command between two readings (Redis 7 counts commands run inside Lua too). */
export function commandDiff(before: RedisCounters, after: RedisCounters) {
  return [...after.calls].map(([cmd, a]) => {
    const b = before.calls.get(cmd) ?? { calls: 0, usec: 0 };
    return { cmd, calls: a.calls - b.calls, usec: a.usec - b.usec };
  });
}
