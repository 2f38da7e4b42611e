import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTwilio } from '../../adapters/sms/fake-twilio.ts';
import { generateDemoData } from '../../src/directory/demo-data.ts';
import { applyImport, planImport } from '../../src/directory/import.ts';
import { loadDirectoryFolder } from '../../src/directory/load.ts';
import { type RoleProcess, sleep, startRole } from '../helpers/processes.ts';
import { startRedis, type TestRedis, uniquePrefix } from '../helpers/redis-server.ts';

/**
 * Must-show 3: a school of 2,000 guardians, the register imported into Redis, real
 * `web` and `worker` processes, the worker SIGKILLed in the middle of the fan-out and
 * started again: every guardian gets the announcement on SMS exactly once.
 */

const PUBLIC = 'https://skolebro.example';
const ACCOUNT_SID = `AC${'fedcba9876543210'.repeat(2)}`;
const TOKEN = 'crash-token';
const GUARDIANS = 2000;

let server: TestRedis;
let redis: Redis;
let twilio: FakeTwilio;
let dir: string;
const running: RoleProcess[] = [];

beforeAll(async () => {
  server = await startRedis({ appendonly: true });
  redis = new Redis(server.url);
  redis.on('error', () => {});
  twilio = await FakeTwilio.start({ accountSid: ACCOUNT_SID, authToken: TOKEN });
  dir = mkdtempSync(join(tmpdir(), 'skolebro-broadcast-'));
}, 30_000);

afterAll(async () => {
  await Promise.all(running.map((p) => p.stop('SIGKILL')));
  redis?.disconnect();
  await twilio?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('a school broadcast with the worker killed mid-fan-out', () => {
  it('must-show 3: 2,000 guardians, SIGKILL and restart: 0 lost, 0 doubled', async () => {
    const summary = generateDemoData(dir, { guardians: GUARDIANS, schools: 1, seed: 'crash' });
    expect(summary.guardians).toBe(GUARDIANS);
    // The rektor signs in on the staff page: give the generated one a login.
    const staffFile = join(dir, 'staff.csv');
    const lines = readFileSync(staffFile, 'utf8').trimEnd().split('\n');
    const rektor = lines.findIndex((l) => /^[^,]+-rektor,/.test(l));
    lines[rektor] = `${lines[rektor]}rektor`;
    writeFileSync(staffFile, `${lines.join('\n')}\n`);
    const data = loadDirectoryFolder(dir);
    const school = data.schools[0]?.id as string;
    const prefix = uniquePrefix('bc-crash');
    await applyImport(redis, await planImport(redis, data, { prefix, prune: false }));

    const env = {
      REDIS_URL: server.url,
      REDIS_KEY_PREFIX: prefix,
      DIRECTORY: 'redis',
      QUEUE_LOCK_MS: '2000',
      SMS_ACCOUNT_SID: ACCOUNT_SID,
      SMS_AUTH_TOKEN: TOKEN,
      SMS_FROM: '+4759440000',
      SMS_API_BASE_URL: twilio.url,
      PUBLIC_BASE_URL: PUBLIC,
      BROADCAST_QUIET_HOURS: 'off',
      BROADCAST_BATCH: '25',
      // Not about pacing (sms-pace-e2e is): 2,000 messages at the default 10 segments/s would take 200 s.
      SMS_SEGMENTS_PER_SECOND: '100000',
    };
    const web = await startRole('web', env);
    running.push(web);
    let worker = await startRole('worker', env);
    running.push(worker);

    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${web.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const session = (await post('/api/staff/sessions', { login: 'rektor' })).body.session as string;
    const draft = await post(`/api/staff/sessions/${session}/broadcasts`, {
      audience: { kind: 'school', id: school },
      text: 'Skolen er stengt mandag på grunn av vannlekkasje.',
    });
    expect(draft.status).toBe(201);
    const id = draft.body.id as string;
    const guardians = (draft.body.preview as { guardians: number }).guardians;
    expect(guardians).toBe(GUARDIANS);
    expect((await post(`/api/staff/sessions/${session}/broadcasts/${id}/send`, {})).status).toBe(202);

    // Kill the worker as soon as the fan-out is under way, and before it is done.
    const cursorKey = `${prefix}:bc:{${id}}:cursor`;
    let cursorAtKill = 0;
    for (;;) {
      cursorAtKill = Number((await redis.get(cursorKey)) ?? 0);
      if (cursorAtKill > 0) break;
      await sleep(2);
    }
    await worker.stop('SIGKILL');
    const sentAtKill = twilio.sent.length;
    expect(cursorAtKill).toBeLessThan(GUARDIANS);
    await sleep(300);
    worker = await startRole('worker', env);
    running.push(worker);

    const phones = new Set(data.guardians.filter((g) => g.phone).map((g) => g.phone as string));
    const deadline = Date.now() + 120_000;
    while (new Set(twilio.sent.map((m) => m.to)).size < phones.size && Date.now() < deadline)
      await sleep(200);
    await sleep(2000);
    const perPhone = new Map<string, number>();
    for (const m of twilio.sent) perPhone.set(m.to, (perPhone.get(m.to) ?? 0) + 1);
    const lost = [...phones].filter((p) => !perPhone.has(p));
    const doubled = [...perPhone].filter(([, n]) => n > 1);
    if (lost.length > 0) console.log(`worker output:\n${worker.output().slice(-4000)}`);
    expect({
      lost: lost.length,
      doubled: doubled.length,
      outsiders: [...perPhone.keys()].filter((p) => !phones.has(p)),
    }).toEqual({
      lost: 0,
      doubled: 0,
      outsiders: [],
    });
    expect(twilio.sent).toHaveLength(GUARDIANS);
    if (process.env.BC_DEBUG) console.log(JSON.stringify({ cursorAtKill, sentAtKill }));
    // The kill really was mid-fan-out: part of the list was out, part not.
    expect(cursorAtKill).toBeGreaterThan(0);
    expect(sentAtKill).toBeLessThan(GUARDIANS);
    // And the tracking agrees: every guardian's SMS is recorded as sent.
    const progress = (await (
      await fetch(`${web.url}/api/staff/sessions/${session}/broadcasts/${id}`)
    ).json()) as {
      byStatus: Record<string, number>;
      fannedOut: boolean;
    };
    expect(progress.byStatus).toEqual({ sent: GUARDIANS });
    expect(progress.fannedOut).toBe(true);
    expect(worker.output()).not.toMatch(/"level":50/);
  }, 240_000);
});
