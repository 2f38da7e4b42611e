import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { freePort } from './redis-server.ts';
import { ROOT } from './world.ts';

/** A Skolebro process (`npm run start:web` / `start:worker`) run as the image runs it. */
export interface RoleProcess {
  url: string;
  child: ChildProcess;
  /** SIGKILL: a crash, nothing finishes. SIGTERM: graceful. Resolves when the process is gone. */
  stop(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  output(): string;
}

export async function startRole(
  role: 'web' | 'worker' | 'all',
  env: Record<string, string>,
): Promise<RoleProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--role', role], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', PORT: String(port), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${role} exited early (${child.exitCode}):\n${output}`);
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${role} not ready within 60 s:\n${output}`);
    }
    await sleep(100);
  }
  return {
    url,
    child,
    output: () => output,
    stop: (signal = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface ChatMessage {
  seq: number;
  id: string;
  from: 'user' | 'bot' | 'staff';
  text: string;
  lang: string;
  original?: { text: string; lang: string; label?: string };
}

/** A web chat client that retries a POST until it is accepted, as the browser page does. */
export class WebClient {
  constructor(private base: () => string) {}

  async session(login?: string): Promise<string> {
    const res = await this.retry(() =>
      fetch(`${this.base()}/api/sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(login ? { login } : {}),
      }),
    );
    return ((await res.json()) as { session: string }).session;
  }

  /** Sends one message; retried with the same id until the server answers 202. */
  async send(session: string, text: string, id: string = randomUUID()): Promise<string> {
    await this.retry(() =>
      fetch(`${this.base()}/api/sessions/${session}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id, text }),
      }),
    );
    return id;
  }

  async messages(session: string): Promise<ChatMessage[]> {
    const res = await this.retry(() => fetch(`${this.base()}/api/sessions/${session}/messages`));
    return ((await res.json()) as { messages: ChatMessage[] }).messages;
  }

  private async retry(call: () => Promise<Response>): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const res = await call().catch(() => undefined);
      if (res && res.status < 500) {
        if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
        return res;
      }
      if (attempt > 200) throw new Error('server unavailable for too long');
      await sleep(50);
    }
  }
}
