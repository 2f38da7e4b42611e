import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryAudience } from '../../../src/broadcast/audience.ts';
import { progressNumbers } from '../../../src/broadcast/display.ts';
import type { Audience } from '../../../src/broadcast/model.ts';
import { BroadcastService, type BroadcastServiceDeps } from '../../../src/broadcast/service.ts';
import { MemoryBroadcastStore } from '../../../src/broadcast/store.ts';
import { loadBroadcastTexts, textsFrom } from '../../../src/broadcast/texts.ts';
import { DirectoryImportError, loadDirectoryFolder } from '../../../src/directory/load.ts';
import type { DirectoryData, Guardian, Pupil, Staff } from '../../../src/directory/model.ts';
import { createLogger } from '../../../src/log.ts';
import type { JobBus } from '../../../src/queue/bus.ts';
import type { AnyTimerJob, BroadcastTimerJob, OutboundJob } from '../../../src/queue/jobs.ts';
import { NoTranslator } from '../../../src/translation/none.ts';
import { ROOT } from '../../helpers/world.ts';

/** A bus that records jobs, keeps ids like BullMQ (a repeat adds nothing), and can fail once on demand. */
class RecordingBus implements JobBus {
  readonly outbound = new Map<string, OutboundJob>();
  readonly timers: AnyTimerJob[] = [];
  broadcasts = 0;
  failOnBulk: number | undefined;
  private bulks = 0;
  async enqueueInbound() {
    return { duplicate: false };
  }
  async enqueueOutbound(job: OutboundJob) {
    this.outbound.set(job.replyId, job);
  }
  async enqueueOutboundBulk(jobs: readonly OutboundJob[]) {
    this.bulks++;
    // Half the batch is added, then the "worker dies".
    if (this.bulks === this.failOnBulk) {
      for (const job of jobs.slice(0, jobs.length / 2)) this.outbound.set(job.replyId, job);
      throw new Error('killed');
    }
    for (const job of jobs) {
      if (!this.outbound.has(job.replyId)) this.outbound.set(job.replyId, job);
    }
  }
  async enqueueBroadcast() {
    this.broadcasts++;
  }
  async schedule(job: AnyTimerJob) {
    this.timers.push(job);
  }
  start() {}
  async close() {}
}

function school(guardians: number): DirectoryData {
  const gs: Guardian[] = Array.from({ length: guardians }, (_, i) => ({
    id: `g${i}`,
    schoolId: 's',
    name: `G${i}`,
    preferredLang: ['nb', 'so', 'ar'][i % 3] as string,
    phone: `+4791${String(i).padStart(6, '0')}`,
  }));
  const pupils: Pupil[] = Array.from({ length: guardians / 2 }, (_, i) => ({
    id: `p${i}`,
    schoolId: 's',
    firstName: 'P',
    lastName: 'L',
    classId: i % 2 ? 's-1a' : 's-2a',
    guardianIds: [`g${2 * i}`, `g${2 * i + 1}`],
  }));
  return {
    schools: [{ id: 's', name: 'S', standard: 'oslo-2014', maxLeaveDays: 10 }],
    classes: [
      { id: 's-1a', schoolId: 's', trinn: 1, name: '1A' },
      { id: 's-2a', schoolId: 's', trinn: 2, name: '2A' },
    ],
    staff: [{ id: 'r', schoolId: 's', name: 'R', roles: ['rektor'], classIds: [], preferredLang: 'nb' }],
    guardians: gs,
    pupils,
    schoolCalendars: {},
    classCalendars: {},
  };
}

function service(
  data: DirectoryData,
  bus: RecordingBus,
  store = new MemoryBroadcastStore(),
  more: Partial<BroadcastServiceDeps> = {},
) {
  let n = 0;
  return new BroadcastService({
    store,
    source: new MemoryAudience(data),
    bus,
    translator: new NoTranslator(),
    channels: () => [
      { name: 'sms', capabilities: { receipts: true } },
      { name: 'web', capabilities: { receipts: false } },
    ],
    settings: { receiptTimeoutMs: 60_000, smsSegmentsPerSecond: 10, batch: 10, pricePerSegmentNok: 0.6 },
    texts: textsFrom(new Map()),
    log: createLogger('silent'),
    now: () => new Date('2025-09-01T10:00:00Z'),
    newId: () => `b${++n}`,
    ...more,
  });
}

/** The rektor (the register's first staff member) drafts `text` to `audience` and presses Send. */
async function sendAs(
  svc: BroadcastService,
  data: DirectoryData,
  audience: Audience = { kind: 'school', id: 's' },
  text = 'Hei',
): Promise<{ rektor: Staff; id: string }> {
  const rektor = data.staff[0] as Staff;
  const draft = await svc.draft(rektor, { audience, text });
  if (!draft.ok) throw new Error(draft.message);
  await svc.send(rektor, draft.value.id);
  return { rektor, id: draft.value.id };
}

describe('the fan-out', () => {
  it('resumes after a crash mid-batch: every guardian gets one job, none twice', async () => {
    const data = school(100);
    const bus = new RecordingBus();
    const svc = service(data, bus);
    const { rektor, id } = await sendAs(svc, data);
    expect(bus.broadcasts).toBe(1);
    // A second press of Send is refused, and queues nothing.
    expect(await svc.send(rektor, id)).toMatchObject({
      ok: false,
      status: 409,
      error: 'already_sent',
    });
    expect(bus.broadcasts).toBe(1);
    bus.failOnBulk = 4;
    await expect(svc.fanOut({ id })).rejects.toThrow('killed');
    expect(bus.outbound.size).toBe(35); // three batches of 10, half of the fourth
    await svc.fanOut({ id });
    await svc.fanOut({ id }); // a redelivered job after completion adds nothing
    expect([...bus.outbound.keys()].sort()).toEqual(data.guardians.map((g) => `bc:${id}:${g.id}:sms`).sort());
    expect(bus.timers.filter((t) => t.kind === 'broadcast-report')).toHaveLength(2);
  });

  it('a fan-out that gives up is marked failed, and its progress says so', async () => {
    const data = school(20);
    const bus = new RecordingBus();
    const svc = service(data, bus);
    const { rektor, id } = await sendAs(svc, data);
    bus.failOnBulk = 2;
    await expect(svc.fanOut({ id })).rejects.toThrow('killed');
    await svc.fanOutFailed({ id }, 'REDIS_DOWN');
    const progress = await svc.progress(rektor, id);
    expect(progress.ok && progress.value.status).toBe('failed');
    expect(progress.ok && progress.value.fannedOut).toBe(false);
    const nums = progress.ok ? progressNumbers(progress.value) : undefined;
    expect(nums?.state).toBe('failed');
    expect(nums?.percent).toBeLessThan(100);
    // A fan-out that finished is never marked failed afterwards.
    const other = await sendAs(svc, data, { kind: 'school', id: 's' }, 'Hei igjen');
    bus.failOnBulk = 0;
    await svc.fanOut({ id: other.id });
    await svc.fanOutFailed({ id: other.id }, 'late');
    const done = await svc.progress(rektor, other.id);
    expect(done.ok && done.value.status).toBe('sent');
  });

  it('a cancelled announcement fans out nothing, and a queued message of it is not sent', async () => {
    const data = school(20);
    const bus = new RecordingBus();
    const svc = service(data, bus);
    const { rektor, id } = await sendAs(svc, data, { kind: 'trinn', id: '1' });
    await svc.fanOut({ id });
    const job = [...bus.outbound.values()][0] as OutboundJob;
    // Queued without its text; it is put in at the send.
    expect(job.text).toBe('');
    expect((await svc.prepare(job))?.text).toBe('Hei');
    await svc.cancel(rektor, id);
    expect(await svc.prepare(job)).toBeNull();
    const progress = await svc.progress(rektor, id);
    expect(progress.ok && progress.value.byStatus.cancelled).toBe(1);
  });

  it('moves a guardian to the web inbox when SMS fails, and ignores the repeated failure', async () => {
    const data = school(2);
    data.guardians[0] = { ...(data.guardians[0] as Guardian), webLogin: 'w0' };
    const bus = new RecordingBus();
    const svc = service(data, bus);
    const { rektor, id } = await sendAs(svc, data, { kind: 'class', id: 's-2a' });
    await svc.fanOut({ id });
    const sms = bus.outbound.get(`bc:${id}:g0:sms`) as OutboundJob;
    await svc.afterSend(sms, { status: 'failed', error: 'address_invalid' });
    await svc.afterSend(sms, { status: 'failed', error: 'address_invalid' });
    await svc.onReceipt({ replyId: sms.replyId, status: 'failed' });
    const web = [...bus.outbound.values()].filter((j) => j.channel === 'web');
    expect(web.map((j) => [j.conversationId, j.broadcast?.attempt])).toEqual([['inbox:w0', 1]]);
    // g1 has no second channel: a failure leaves them failed and listed.
    await svc.afterSend(bus.outbound.get(`bc:${id}:g1:sms`) as OutboundJob, {
      status: 'failed',
      error: 'x',
    });
    const p = await svc.progress(rektor, id);
    if (!p.ok) throw new Error('no progress');
    expect(p.value.byStatus).toEqual({ queued: 1, failed: 1 });
    expect(p.value.notReached.map((r) => r.guardianId)).toEqual(['g1']);
  });
});

/** The register, with its pupil list out of reach while `down`. */
class FlakyAudience extends MemoryAudience {
  down = false;
  override async pupils(...args: Parameters<MemoryAudience['pupils']>) {
    if (this.down) throw new Error('register down');
    return super.pupils(...args);
  }
}

describe('a fan-out that gives up', () => {
  const teacher = (id: string, classId: string): Staff => ({
    id,
    schoolId: 's',
    name: id,
    roles: ['kontaktlaerer'],
    classIds: [classId],
    preferredLang: 'nb',
  });
  /** Report posts as [teacher, text], in order. */
  const recorder = () => {
    const posted: Array<[string, string]> = [];
    const threads: BroadcastServiceDeps['threads'] = {
      async addToThread(_meta, entry, staffIds) {
        for (const id of staffIds) posted.push([id, entry.norwegian?.text ?? '']);
      },
    };
    return { posted, threads };
  };
  /** The guardians named in a report, by the `report.line` lines ("G3 (nb): …"). */
  const named = (text: string) =>
    text
      .split('\n')
      .flatMap((l) => /^(G\d+) \(/.exec(l)?.[1] ?? [])
      .sort();
  // school(): guardians 2k and 2k+1 share pupil k, who is in 1A when k is odd, else in 2A.
  const classOf = (g: number) => (Math.floor(g / 2) % 2 ? 's-1a' : 's-2a');
  const guardians = (from: number, to: number, classId: string) =>
    Array.from({ length: to - from }, (_, i) => from + i)
      .filter((g) => classOf(g) === classId)
      .map((g) => `G${g}`);

  it('is reported: failed sends and families never sent, each to their own kontaktlærer, and in the CSV', async () => {
    const data = school(40);
    data.staff.push(teacher('t-1a', 's-1a'), teacher('t-2a', 's-2a'));
    const bus = new RecordingBus();
    const { posted, threads } = recorder();
    const texts = loadBroadcastTexts(join(ROOT, 'locales'));
    const svc = service(data, bus, undefined, { threads, texts });
    const { rektor, id } = await sendAs(svc, data);

    // Batch 1 (g0–g9) is queued; batch 2 (g10–g19) has its entries written and half its
    // jobs added when the fan-out dies; g20–g39 never get an entry.
    bus.failOnBulk = 2;
    await expect(svc.fanOut({ id })).rejects.toThrow('killed');
    expect(bus.outbound.size).toBe(15);
    await svc.fanOutFailed({ id }, 'killed');
    await svc.fanOutFailed({ id }, 'killed'); // told twice: nothing new
    // The batch it stopped in goes out in full, as its tracking says; nobody after it.
    expect([...bus.outbound.keys()].sort()).toEqual(
      Array.from({ length: 20 }, (_, g) => `bc:${id}:g${g}:sms`).sort(),
    );
    const reports = bus.timers.filter((t) => t.kind === 'broadcast-report');
    expect(new Set(reports.map((t) => t.id))).toEqual(new Set([`${id}:report:0`]));

    // While sends are in flight the report waits for its next round.
    await svc.timer(reports[0] as BroadcastTimerJob);
    expect(posted).toEqual([]);
    expect(bus.timers.map((t) => t.id)).toContain(`${id}:report:1`);

    // g3 (1A) and g4 (2A) fail on their only channel; the rest are delivered.
    for (const job of bus.outbound.values()) {
      const fails = job.broadcast?.guardianId === 'g3' || job.broadcast?.guardianId === 'g4';
      await svc.afterSend(
        job,
        fails ? { status: 'failed', error: 'address_invalid' } : { status: 'delivered' },
      );
    }

    const p = await svc.progress(rektor, id);
    if (!p.ok) throw new Error(p.message);
    expect(p.value).toMatchObject({ status: 'failed', settled: true, fannedOut: false, guardians: 40 });
    expect(p.value.byStatus).toEqual({ delivered: 18, failed: 22 });
    expect(p.value.notReached.find((r) => r.guardianId === 'g3')).toMatchObject({
      channel: 'sms',
      status: 'failed',
      reason: 'address_invalid',
    });
    expect(p.value.notReached.find((r) => r.guardianId === 'g20')).toEqual({
      guardianId: 'g20',
      name: 'G20',
      lang: 'ar',
      classIds: ['s-2a'],
      channel: null,
      status: 'failed',
      reason: 'not-sent',
    });
    expect(p.value.notReached).toHaveLength(22);
    // Never sent is not "done": the bar and the counts say how far it really came.
    expect(progressNumbers(p.value)).toMatchObject({
      state: 'failed',
      total: 40,
      done: 20,
      percent: 50,
      notReached: 22,
      reached: 18,
    });

    await svc.timer({ kind: 'broadcast-report', id: `${id}:report:1`, broadcastId: id, attempt: 1 });
    await svc.timer({ kind: 'broadcast-report', id: `${id}:report:1`, broadcastId: id, attempt: 1 });
    expect(posted.map(([teacherId]) => teacherId).sort()).toEqual(['t-1a', 't-2a']);
    const to = (teacherId: string) => posted.find(([t]) => t === teacherId)?.[1] ?? '';
    expect(named(to('t-1a'))).toEqual(['G3', ...guardians(20, 40, 's-1a')].sort());
    expect(named(to('t-2a'))).toEqual(['G4', ...guardians(20, 40, 's-2a')].sort());
    expect(to('t-1a')).toContain(`G3 (nb): ${texts.t('reason.failed')} (address_invalid)`);
    expect(to('t-1a')).toContain(`G22 (so): ${texts.t('reason.not-sent')}`);
    expect(texts.t('reason.not-sent')).not.toBe('reason.not-sent');

    const csv = await svc.notReachedCsv(rektor, id);
    if (!csv.ok) throw new Error(csv.message);
    const rows = csv.value.trimEnd().split('\r\n');
    expect(rows).toHaveLength(1 + 22);
    expect(rows).toContain('g3,G3,nb,s-1a,sms,failed,address_invalid');
    expect(rows).toContain('g20,G20,ar,s-2a,,failed,not-sent');
    expect(rows.filter((r) => r.endsWith(',not-sent'))).toHaveLength(20);
  });

  it('before its member list was fixed: the whole audience is reported as not sent', async () => {
    const data = school(4);
    data.staff.push(teacher('t-1a', 's-1a'));
    const source = new FlakyAudience(data);
    const bus = new RecordingBus();
    const { posted, threads } = recorder();
    const svc = service(data, bus, undefined, { source, threads });
    const { rektor, id } = await sendAs(svc, data);
    source.down = true;
    await expect(svc.fanOut({ id })).rejects.toThrow('register down');
    source.down = false;
    await svc.fanOutFailed({ id }, 'register down');
    expect(bus.outbound.size).toBe(0);
    const p = await svc.progress(rektor, id);
    if (!p.ok) throw new Error(p.message);
    expect(p.value.notReached.map((r) => [r.guardianId, r.reason])).toEqual(
      ['g0', 'g1', 'g2', 'g3'].map((g) => [g, 'not-sent']),
    );
    await svc.timer(bus.timers[0] as BroadcastTimerJob);
    expect(posted.map(([t]) => t)).toEqual(['t-1a']);
  });
});

describe('staff.csv fau_scope', () => {
  it('is optional, read as a list, and checked', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fau-'));
    cpSync(join(ROOT, 'examples/demo-school'), dir, { recursive: true });
    expect(loadDirectoryFolder(dir).staff.find((s) => s.id === 'f-nina')?.fauScope).toEqual([
      'class:bjerkedalen-3a',
    ]);
    const file = join(dir, 'staff.csv');
    writeFileSync(file, readFileSync(file, 'utf8').replace('class:bjerkedalen-3a', 'class:nowhere trinn:x'));
    expect(() => loadDirectoryFolder(dir)).toThrow(DirectoryImportError);
    try {
      loadDirectoryFolder(dir);
    } catch (err) {
      expect((err as DirectoryImportError).problems.join('\n')).toMatch(/fau_scope/);
    }
  });
});
