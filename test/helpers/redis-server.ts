import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A Redis for one test file: private (ours to stop and restart) or the one named by REDIS_URL. */
export interface TestRedis {
  url: string;
  port: number;
  /** True when REDIS_URL was used: never flush it, keep to a unique prefix per test. */
  external: boolean;
  /** Stops the server and removes its data folder. No-op for an external Redis. */
  stop(): Promise<void>;
  /**
   * Stops the server (SIGTERM by default, which writes the AOF; SIGKILL to crash it)
   * and starts it again on the same port and folder. Throws for an external Redis.
   */
  restart(opts?: { signal?: 'SIGTERM' | 'SIGKILL' }): Promise<void>;
}

export interface StartOptions {
  /** Append-only file on (needed to survive a restart). Default false. */
  appendonly?: boolean;
  /** How long to wait for PING, in ms. Default 10000. */
  readyTimeoutMs?: number;
}

/** The port of a machine's own Redis: never started on, never touched. */
const SYSTEM_PORT = 6379;

/**
 * Starts a private `redis-server` on a free loopback port with no RDB snapshots and
 * its data in a fresh temp folder, and waits until it answers PING. With REDIS_URL
 * set, returns that Redis instead.
 */
export async function startRedis(opts: StartOptions = {}): Promise<TestRedis> {
  const external = process.env.REDIS_URL;
  if (external) {
    const port = Number(new URL(external).port || SYSTEM_PORT);
    return {
      url: external,
      port,
      external: true,
      stop: async () => {},
      restart: async () => {
        throw new Error(
          'cannot restart the Redis named by REDIS_URL; unset it to use a private redis-server',
        );
      },
    };
  }

  const dir = mkdtempSync(join(tmpdir(), 'skolebro-redis-'));
  const timeout = opts.readyTimeoutMs ?? 10_000;
  const argsFor = (port: number) => [
    ...['--port', String(port), '--bind', '127.0.0.1', '--save', ''],
    ...['--appendonly', opts.appendonly ? 'yes' : 'no', '--dir', dir],
  ];
  let port = 0;
  let child: ChildProcess | undefined;
  // Another process may take the free port before redis-server binds it: try a few.
  for (let tries = 3; child === undefined; tries--) {
    port = await freePort();
    try {
      child = await launch(argsFor(port), port, timeout);
    } catch (err) {
      if (tries <= 1 || !(err instanceof Error) || !err.message.includes('exited')) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
  let running: ChildProcess = child;
  const killOnExit = () => running.kill('SIGKILL');
  process.once('exit', killOnExit);

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    external: false,
    async stop() {
      await halt(running, 'SIGTERM');
      process.off('exit', killOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
    async restart(restartOpts = {}) {
      await halt(running, restartOpts.signal ?? 'SIGTERM');
      running = await launch(argsFor(port), port, timeout);
    },
  };
}

/** Spawns redis-server and resolves once it answers PING; rejects with its output if it dies first. */
async function launch(args: string[], port: number, timeoutMs: number): Promise<ChildProcess> {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });
  const died = new Promise<never>((_, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'ENOENT'
          ? new Error(
              'redis-server not found on PATH: install Redis 7 (apt-get install redis-server) or set REDIS_URL',
            )
          : err,
      );
    });
    child.once('exit', (code, signal) => {
      reject(
        new Error(
          `redis-server on port ${port} exited (${code ?? signal}) before answering PING:\n${output}`,
        ),
      );
    });
  });
  died.catch(() => {}); // observed below; keeps a later exit from being an unhandled rejection
  try {
    await Promise.race([waitForPing(port, timeoutMs), died]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return child;
}

async function waitForPing(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ping(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
}

/** One raw RESP PING over TCP; true on +PONG (a server still loading its AOF answers -LOADING). */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

async function halt(child: ChildProcess, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** A port the kernel just handed out on loopback, never the system Redis port. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        const p = typeof address === 'object' && address ? address.port : 0;
        server.close(() => resolve(p));
      });
    });
    if (port !== SYSTEM_PORT && port !== 0) return port;
  }
}

let prefixes = 0;
/** A key prefix no other test (or run) uses, so tests can share a Redis without flushing it. */
export function uniquePrefix(label: string): string {
  prefixes += 1;
  return `test-${label}-${process.pid}-${Date.now().toString(36)}-${prefixes}`;
}
