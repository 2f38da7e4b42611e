/**
 * Webhook ack latency per channel: how long the web process takes to verify, normalise,
 * enqueue (BullMQ on a private redis-server) and answer, under a steady open-loop load
 * on loopback (`openLoop` in lib.ts: evenly spaced requests, latency from when each was due). Every request is a new, validly signed message, so each one
 * really reaches the queue. Prints one JSON object.
 *
 * Usage: npx tsx bench/webhooks.ts [--rate 500] [--duration 20] [--warmup 3] [--channels web,sms,slack] [--cpu-prof dir (profile in dir/web)]
 */
import { createHmac, randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import twilio from 'twilio';
import { FakeConnector } from '../adapters/teams/fake-connector.ts';
import {
  cleanup,
  cleanups,
  cpuProfArgs,
  type LoadRequest,
  openLoop,
  type RoleProcess,
  startRedis,
  startRole,
} from './lib.ts';

const ROOT = join(import.meta.dirname, '..');
const PUBLIC = 'https://skolebro.example';
const SMS_TOKEN = 'bench-sms-token';
const SMS_SID = `AC${'0123456789abcdef'.repeat(2)}`;
const SLACK_SECRET = 'bench-slack-secret';
const TARGET_P99_MS = 20;

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '500' },
    duration: { type: 'string', default: '20' },
    /** Seconds of the same load per channel before measuring, not counted. */
    warmup: { type: 'string', default: '3' },
    channels: { type: 'string', default: 'web,sms,slack,teams' },
    /** Write a V8 CPU profile of the web process into this folder (open it in Chrome DevTools). */
    'cpu-prof': { type: 'string' },
  },
});
const rate = Number(values.rate);
const duration = Number(values.duration);
const warmup = Number(values.warmup);
const channels = String(values.channels).split(',');

const TEAMS_APP_ID = '00000000-0000-4000-8000-00000000be0c';
/** The Bot Framework's side for Teams: OpenID metadata and keys the web process checks JWTs against. */
let connector: FakeConnector | undefined;

async function startWeb(redisUrl: string): Promise<RoleProcess> {
  if (channels.includes('teams')) {
    connector = await FakeConnector.start({ appId: TEAMS_APP_ID, appPassword: 'bench-secret' });
    cleanups.push(() => void connector?.close());
  }
  return startRole('web', {
    cwd: ROOT,
    nodeArgs: cpuProfArgs(values['cpu-prof'], 'web'),
    env: {
      ...process.env,
      LOG_LEVEL: 'warn',
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: `bench-${Date.now().toString(36)}`,
      SMS_ACCOUNT_SID: SMS_SID,
      SMS_AUTH_TOKEN: SMS_TOKEN,
      SMS_FROM: '+4759440000',
      PUBLIC_BASE_URL: PUBLIC,
      SLACK_SIGNING_SECRET: SLACK_SECRET,
      SLACK_BOT_TOKEN: 'xoxb-bench',
      ...(connector
        ? {
            TEAMS_APP_ID,
            TEAMS_APP_PASSWORD: 'bench-secret',
            TEAMS_OPENID_METADATA_URL: connector.openIdMetadataUrl,
            TEAMS_LOGIN_URL: connector.loginUrl,
          }
        : {}),
    },
  });
}

type Request = LoadRequest & { method: 'POST'; body: string };

/** One freshly signed request per call, per channel. */
async function requestMaker(channel: string, url: string): Promise<() => Request> {
  if (channel === 'web') {
    const res = await fetch(`${url}/api/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ login: 'amina' }),
    });
    const { session } = (await res.json()) as { session: string };
    return () => ({
      method: 'POST',
      path: `/api/sessions/${session}/messages`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: randomUUID(), text: 'Yaa waaye macallinka fasalka?' }),
    });
  }
  if (channel === 'sms') {
    let n = 0;
    return () => {
      n++;
      const sid = `SM${randomUUID().replaceAll('-', '')}`;
      const params: Record<string, string> = {
        MessageSid: sid,
        SmsSid: sid,
        AccountSid: SMS_SID,
        From: `+479${String(1_000_000 + (n % 5000)).padStart(7, '0')}`,
        To: '+4759440000',
        Body: 'Wiilkayga waa xanuunsan yahay maanta',
        NumMedia: '0',
      };
      const signature = twilio.getExpectedTwilioSignature(SMS_TOKEN, `${PUBLIC}/webhooks/sms`, params);
      return {
        method: 'POST',
        path: '/webhooks/sms',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
        body: new URLSearchParams(params).toString(),
      };
    };
  }
  if (channel === 'slack') {
    return () => {
      const body = JSON.stringify({
        type: 'event_callback',
        team_id: 'T0BENCH',
        api_app_id: 'A0BENCH',
        event_id: `Ev${randomUUID().replaceAll('-', '').slice(0, 20).toUpperCase()}`,
        event_time: Math.floor(Date.now() / 1000),
        event: {
          type: 'message',
          channel_type: 'im',
          channel: 'D0BENCH',
          user: 'U07JOHN0001',
          text: 'When is the next parent meeting?',
          ts: `${(Date.now() / 1000).toFixed(6)}`,
          client_msg_id: randomUUID(),
        },
      });
      const ts = String(Math.floor(Date.now() / 1000));
      const sig = `v0=${createHmac('sha256', SLACK_SECRET).update(`v0:${ts}:${body}`).digest('hex')}`;
      return {
        method: 'POST',
        path: '/webhooks/slack/events',
        headers: {
          'content-type': 'application/json',
          'x-slack-request-timestamp': ts,
          'x-slack-signature': sig,
        },
        body,
      };
    };
  }
  if (channel === 'teams' && connector) {
    const fake = connector;
    const kari = fake.user('2d7f3b10-8c4e-4a9b-b1f6-5e0a9c3d7b33', 'Kari Nordmann');
    // One token for the run, as a channel reuses its token: the JWT check is what is measured.
    const token = fake.token('valid');
    return () => ({
      method: 'POST',
      path: '/api/messages',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(fake.message(kari, { text: 'Når er neste foreldremøte?' })),
    });
  }
  throw new Error(`bench: no load for channel ${channel}`);
}

async function load(channel: string, url: string) {
  const make = await requestMaker(channel, url);
  const probe = make();
  const check = await fetch(`${url}${probe.path}`, {
    method: 'POST',
    headers: probe.headers,
    body: probe.body,
  });
  if (check.status >= 300) {
    return {
      channel,
      skipped: `a valid request was answered ${check.status}: ${(await check.text()).slice(0, 200)}`,
    };
  }
  // A server in service is warm: the JIT has compiled the request path before anyone measures it.
  await openLoop({ url, rate, durationSeconds: warmup, make });
  const result = await openLoop({ url, rate, durationSeconds: duration, make });
  return {
    channel,
    ...result,
    p99UnderTarget: result.latencyMs.p99 < TARGET_P99_MS,
  };
}

async function main() {
  const redis = await startRedis();
  const web = await startWeb(redis.url);
  const results = [];
  for (const channel of channels) results.push(await load(channel, web.url));
  console.log(
    JSON.stringify(
      {
        bench: 'webhooks',
        rate,
        durationSeconds: duration,
        warmupSeconds: warmup,
        targetP99Ms: TARGET_P99_MS,
        channels: results,
        webErrorLogLines: web.errorLines(),
        machine: {
          cpus: cpus().length,
          node: process.version,
          loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
        },
      },
      null,
      2,
    ),
  );
}

main()
  .catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  })
  .finally(async () => {
    await cleanup();
    process.exit();
  });
