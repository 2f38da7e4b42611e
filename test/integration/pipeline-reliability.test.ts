import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyImport, planImport } from '../../src/directory/import.ts';
import { loadDirectoryFolder } from '../../src/directory/load.ts';
import { queueStats } from '../../src/queue/bullmq.ts';
import { type ChatMessage, type RoleProcess, sleep, startRole, WebClient } from '../helpers/processes.ts';
import { startRedis, type TestRedis, uniquePrefix } from '../helpers/redis-server.ts';
import { ROOT } from '../helpers/world.ts';

/**
 * The reliability claims of the backbone, tested the way they fail in production:
 * real `--role web` and `--role worker` processes, a real redis-server with AOF on,
 * a worker killed with SIGKILL and Redis itself restarted mid-stream.
 */

const PARTITIONS = 8;
/** A worker has at most this many web sends in flight. */
const OUTBOUND_PARTITIONS = 4;
let server: TestRedis;
let redis: Redis;
const running: RoleProcess[] = [];

beforeAll(async () => {
  server = await startRedis({ appendonly: true });
  redis = new Redis(server.url);
}, 30_000);

afterAll(async () => {
  await Promise.all(running.map((p) => p.stop('SIGKILL')));
  redis?.disconnect();
  await server?.stop();
}, 30_000);

function envFor(prefix: string) {
  return {
    REDIS_URL: server.url,
    REDIS_KEY_PREFIX: prefix,
    INBOUND_PARTITIONS: String(PARTITIONS),
    OUTBOUND_PARTITIONS: String(OUTBOUND_PARTITIONS),
    // A killed worker's job is taken up again after about this long.
    QUEUE_LOCK_MS: '2000',
    // The register as a district runs it: imported into Redis, read by every process.
    DIRECTORY: 'redis',
  };
}

const imported = new Set<string>();
async function importDemoSchool(prefix: string) {
  if (imported.has(prefix)) return;
  const plan = await planImport(redis, loadDirectoryFolder(join(ROOT, 'examples/demo-school')), {
    prefix,
    prune: false,
  });
  await applyImport(redis, plan);
  imported.add(prefix);
}

async function start(role: 'web' | 'worker', prefix: string) {
  await importDemoSchool(prefix);
  const p = await startRole(role, envFor(prefix));
  running.push(p);
  return p;
}

/** Varied parent messages: answers, questions that open a flow, and small talk. */
const TEXTS = [
  'hvem er kontaktlærer?',
  'Yaa waaye macallinka fasalka?',
  'når er neste foreldremøte',
  'Kiedy są ferie zimowe?',
  'my son is sick today',
  'هل يوجد واجبات منزلية؟',
  'takk',
  'what is AKS',
  'Mtoto wangu ni mgonjwa',
  'utviklingssamtale når?',
];

interface Conversation {
  session: string;
  sent: string[];
}

/** Sends `perConversation` messages in each conversation, one after another; conversations in parallel. */
async function stream(
  client: WebClient,
  conversations: Conversation[],
  perConversation: number,
  onSent: () => void,
) {
  await Promise.all(
    conversations.map(async (c, n) => {
      for (let i = 0; i < perConversation; i++) {
        c.sent.push(await client.send(c.session, TEXTS[(n + i) % TEXTS.length] as string));
        onSent();
      }
    }),
  );
}

/** Waits until every sent message has at least one reply. */
async function allAnswered(client: WebClient, conversations: Conversation[], timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  const histories = new Map<string, ChatMessage[]>();
  for (const c of conversations) {
    for (;;) {
      const history = await client.messages(c.session);
      const answered = new Set(history.filter((m) => m.from === 'bot').map((m) => sourceOf(m.id)));
      if (c.sent.every((id) => answered.has(id))) {
        histories.set(c.session, history);
        break;
      }
      if (Date.now() > deadline) {
        const missing = c.sent.filter((id) => !answered.has(id)).length;
        throw new Error(`conversation ${c.session}: ${missing} of ${c.sent.length} messages unanswered`);
      }
      await sleep(100);
    }
  }
  return histories;
}

/** Reply ids are `web:<message id>:r<index>`. */
const sourceOf = (replyId: string) => replyId.split(':')[1] as string;
const indexOf = (replyId: string) => Number(replyId.split(':r').pop());

/** Every message answered once, in order; every turn applied once; nothing sent twice or failed. */
async function expectExactlyOnceInOrder(
  prefix: string,
  conversations: Conversation[],
  histories: Map<string, ChatMessage[]>,
  maxResentPerConversation = 0,
) {
  for (const c of conversations) {
    const history = histories.get(c.session) as ChatMessage[];
    const bot = history.filter((m) => m.from === 'bot');
    // Replies come in the order of the messages they answer, each message's replies r0, r1, ... once.
    const order = bot.map((m) => c.sent.indexOf(sourceOf(m.id)));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    for (const id of c.sent) {
      expect(bot.filter((m) => sourceOf(m.id) === id).map((m) => indexOf(m.id))).toEqual(
        bot.filter((m) => sourceOf(m.id) === id).map((_, i) => i),
      );
      const user = history.find((m) => m.id === id) as ChatMessage;
      const first = bot.find((m) => sourceOf(m.id) === id) as ChatMessage;
      expect(first.seq).toBeGreaterThan(user.seq);
    }
    // The engine applied each turn exactly once.
    const state = JSON.parse((await redis.get(`${prefix}:{conv:web:${c.session}}:state`)) as string);
    expect(state.turns).toBe(c.sent.length);
    // A repeated send is recognised by the web channel (the reply id is already stored)
    // and leaves the receipt 'sent' instead of 'delivered'.
    // Only a send in flight when a worker died can repeat, and a conversation has at most
    // one send in flight (its sends run one at a time, in a drain as anywhere).
    const receipts = await redis.mget(...bot.map((m) => `${prefix}:receipt:${m.id}`));
    const statuses = receipts.map((r) => JSON.parse(r as string).status);
    expect(statuses.filter((s) => s !== 'sent' && s !== 'delivered')).toEqual([]);
    expect(statuses.filter((s) => s === 'sent').length).toBeLessThanOrEqual(maxResentPerConversation);
  }
  const stats = await queueStats(redis, {
    prefix: `{${prefix}}`,
    partitions: PARTITIONS,
    outboundPartitions: OUTBOUND_PARTITIONS,
  });
  const total = (k: 'waiting' | 'active' | 'delayed' | 'failed') =>
    stats.queues.reduce((n, q) => n + q[k], 0);
  expect({ waiting: total('waiting'), active: total('active'), failed: total('failed') }).toEqual({
    waiting: 0,
    active: 0,
    failed: 0,
  });
  expect(stats.deadLetter).toBe(0);
}

async function openConversations(client: WebClient, n: number): Promise<Conversation[]> {
  const logins = ['amina', 'fatima', 'omar', 'anna', 'tesfay', 'kari', undefined];
  return Promise.all(
    Array.from({ length: n }, async (_, i) => ({
      session: await client.session(logins[i % logins.length]),
      sent: [],
    })),
  );
}

describe('the pipeline through Redis, web and worker processes', () => {
  it('answers 1,000 messages in 100 conversations exactly once and in order, with the worker SIGKILLed mid-way', async () => {
    const prefix = uniquePrefix('kill');
    const web = await start('web', prefix);
    let worker = await start('worker', prefix);
    const client = new WebClient(() => web.url);
    const conversations = await openConversations(client, 100);

    let sent = 0;
    let killed: Promise<void> | undefined;
    await stream(client, conversations, 10, () => {
      sent++;
      if (sent === 400) {
        killed = (async () => {
          await worker.stop('SIGKILL');
          await sleep(300);
          worker = await start('worker', prefix);
        })();
      }
    });
    await killed;
    expect(sent).toBe(1000);
    const histories = await allAnswered(client, conversations, 120_000);
    await expectExactlyOnceInOrder(prefix, conversations, histories, 1);
    expect(worker.output()).not.toMatch(/"level":50/);
  }, 240_000);

  it('finishes in-flight turns on SIGTERM and exits cleanly; a new worker carries on', async () => {
    const prefix = uniquePrefix('term');
    const web = await start('web', prefix);
    let worker = await start('worker', prefix);
    const client = new WebClient(() => web.url);
    const conversations = await openConversations(client, 20);
    let sent = 0;
    let replaced: Promise<void> | undefined;
    await stream(client, conversations, 10, () => {
      sent++;
      if (sent === 80) {
        replaced = (async () => {
          const exited = new Promise<number | null>((resolve) =>
            worker.child.once('exit', (code) => resolve(code)),
          );
          await worker.stop('SIGTERM');
          expect(await exited).toBe(0);
          worker = await start('worker', prefix);
        })();
      }
    });
    await replaced;
    const histories = await allAnswered(client, conversations, 120_000);
    await expectExactlyOnceInOrder(prefix, conversations, histories);
  }, 240_000);

  it('loses nothing when Redis restarts (AOF on) mid-stream', async () => {
    const prefix = uniquePrefix('restart');
    const web = await start('web', prefix);
    await start('worker', prefix);
    const client = new WebClient(() => web.url);
    const conversations = await openConversations(client, 20);

    let sent = 0;
    let restarted: Promise<void> | undefined;
    await stream(client, conversations, 10, () => {
      sent++;
      if (sent === 80) restarted = server.restart({ signal: 'SIGTERM' });
    });
    await restarted;
    const histories = await allAnswered(client, conversations, 120_000);
    // A send whose receipt could not be written while Redis was down is repeated, like one
    // in flight when a worker dies: at most one per conversation, dropped by the web
    // channel by id (the parent sees it once; the receipt says 'sent').
    await expectExactlyOnceInOrder(prefix, conversations, histories, 1);
  }, 240_000);

  it('answers a web message posted three times once', async () => {
    const prefix = uniquePrefix('dup');
    const web = await start('web', prefix);
    await start('worker', prefix);
    const client = new WebClient(() => web.url);
    const [c] = await openConversations(client, 1);
    const conversation = c as Conversation;
    const id = crypto.randomUUID();
    const answers = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${web.url}/api/sessions/${conversation.session}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id, text: 'hvem er kontaktlærer?' }),
      });
      answers.push(((await res.json()) as { duplicate: boolean }).duplicate);
    }
    expect(answers).toEqual([false, true, true]);
    conversation.sent.push(id);
    const histories = await allAnswered(client, [conversation], 30_000);
    await sleep(500);
    const history = await client.messages(conversation.session);
    expect(history.filter((m) => m.from === 'user')).toHaveLength(1);
    expect(history.filter((m) => m.from === 'bot').length).toBe(
      (histories.get(conversation.session) as ChatMessage[]).filter((m) => m.from === 'bot').length,
    );
    await expectExactlyOnceInOrder(prefix, [conversation], new Map([[conversation.session, history]]));
  }, 120_000);
});
