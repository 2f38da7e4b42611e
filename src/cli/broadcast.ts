import { parseArgs } from 'node:util';
import { smsSettings } from '../../adapters/sms/config.ts';
import { broadcastConfig, createBroadcasts } from '../broadcast/index.ts';
import type { Audience } from '../broadcast/model.ts';
import type { PreviewView, ProgressView, Result } from '../broadcast/service.ts';
import { loadConfig } from '../config.ts';
import { MemoryDirectory } from '../directory/directory.ts';
import { loadDirectoryFolder } from '../directory/load.ts';
import { RedisDirectory } from '../directory/redis.ts';
import { createLogger } from '../log.ts';
import { BullJobBus } from '../queue/bullmq.ts';
import { RedisStore } from '../store/redis.ts';
import { createTranslator } from '../translation/index.ts';
import { CliError, connectRedis } from './redis.ts';

export const BROADCAST_USAGE = `usage: skolebro broadcast --as LOGIN (--class ID | --trinn N | --school ID) --text "..." [--preview] [--send-at ISO] [--json]

  --as LOGIN     the staff member sending (their web login); their right to the audience is checked
  --preview      print the preview (texts per language, families per channel, SMS segments and cost) and stop
  --send-at ISO  send later (e.g. 2025-09-01T07:30:00+02:00); default: now
  without --preview it sends and follows the progress until every family is settled (Ctrl-C stops following, not sending)`;

export interface BroadcastArgs {
  as: string;
  audience: Audience;
  text: string;
  preview: boolean;
  sendAt?: string;
  json: boolean;
}

export function parseBroadcastArgs(argv: string[]): BroadcastArgs {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        as: { type: 'string' },
        class: { type: 'string' },
        trinn: { type: 'string' },
        school: { type: 'string' },
        text: { type: 'string' },
        preview: { type: 'boolean' },
        'send-at': { type: 'string' },
        json: { type: 'boolean' },
      },
    });
    if (!values.as) throw new Error('--as is required');
    if (!values.text?.trim()) throw new Error('--text is required');
    const picked = (['class', 'trinn', 'school'] as const).filter((k) => values[k] !== undefined);
    if (picked.length !== 1) throw new Error('give exactly one of --class, --trinn, --school');
    const kind = picked[0] as Audience['kind'];
    const id = values[kind] as string;
    if (kind === 'trinn' && !/^\d{1,2}$/.test(id)) throw new Error('--trinn must be a number');
    const sendAt = values['send-at'];
    if (sendAt !== undefined && Number.isNaN(Date.parse(sendAt)))
      throw new Error('--send-at must be an ISO date-time');
    return {
      as: values.as,
      audience: { kind, id },
      text: values.text,
      preview: values.preview ?? false,
      ...(sendAt ? { sendAt } : {}),
      json: values.json ?? false,
    };
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n${BROADCAST_USAGE}`);
  }
}

/**
 * `skolebro broadcast`: drafts an announcement as a staff member, prints the preview and,
 * without --preview, sends it and follows the progress. Works on the district's Redis
 * (REDIS_URL): the worker processes do the fan-out and the sending.
 */
export async function broadcastCommand(
  args: BroadcastArgs,
  out: (line: string) => void = console.log,
  opts: { pollMs?: number } = {},
): Promise<void> {
  const config = loadConfig();
  const settings = broadcastConfig(process.env);
  const redis = await connectRedis(config.REDIS_URL);
  const log = createLogger('warn');
  const bus = new BullJobBus(redis, {
    prefix: `{${config.REDIS_KEY_PREFIX}}`,
    partitions: config.INBOUND_PARTITIONS,
  });
  try {
    const data = config.DIRECTORY === 'folder' ? loadDirectoryFolder(config.SCHOOL_DATA_DIR) : undefined;
    const directory = data
      ? new MemoryDirectory(data)
      : new RedisDirectory(redis, { prefix: config.REDIS_KEY_PREFIX });
    const store = new RedisStore(redis, {
      prefix: `${config.REDIS_KEY_PREFIX}:`,
      retentionDays: config.RETENTION_DAYS,
    });
    // The channels the workers have: web always, SMS when configured (the plan is made again at fan-out).
    const adapters = [
      { name: 'web' as const, capabilities: { receipts: false } },
      ...(smsSettings(config) ? [{ name: 'sms' as const, capabilities: { receipts: true } }] : []),
    ].map((a) => ({
      ...a,
      capabilities: { maxChars: 0, buttons: false, threads: false, edits: false, ...a.capabilities },
    }));
    const { service } = createBroadcasts({
      config: { ...config, ...settings },
      redis,
      bus,
      store,
      data: data ?? {
        schools: [],
        classes: [],
        staff: [],
        guardians: [],
        pupils: [],
        schoolCalendars: {},
        classCalendars: {},
      },
      translator: createTranslator(config, { redis, log }),
      adapters,
      log,
    });
    const person = await directory.identify('web', args.as);
    const sender = person.kind === 'staff' ? await service.sender(person.id) : undefined;
    if (!sender) throw new CliError(`no staff member with the login "${args.as}"`);

    const draft = must(
      await service.draft(sender, {
        audience: args.audience,
        text: args.text,
        ...(args.sendAt ? { sendAt: args.sendAt } : {}),
      }),
    );
    if (args.json) out(JSON.stringify({ preview: draft }));
    else printPreview(draft, out);
    if (args.preview) return;

    let shown = '';
    let progress = must(await service.send(sender, draft.id, args.sendAt ? { sendAt: args.sendAt } : {}));
    if (progress.status === 'scheduled') {
      out(
        args.json
          ? JSON.stringify({ progress })
          : `scheduled for ${progress.sendAt}; broadcast id ${draft.id}`,
      );
      return;
    }
    for (;;) {
      const line = args.json ? JSON.stringify({ progress }) : progressLine(progress);
      if (line !== shown) out(line);
      shown = line;
      if (progress.settled || progress.status === 'cancelled') break;
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000));
      progress = must(await service.progress(sender, draft.id));
    }
    if (!args.json) {
      out(`done: ${progress.notReached.length} of ${progress.guardians} guardians not reached`);
      for (const r of progress.notReached)
        out(`  ${r.guardianId}  ${r.lang}  ${r.classIds.join(' ')}  ${r.reason}`);
    }
  } finally {
    await bus.close();
    redis.disconnect();
  }
}

function must<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw new CliError(`${result.message} (${result.reason ?? result.error})`);
}

function printPreview(p: PreviewView, out: (line: string) => void) {
  const s = p.preview;
  out(
    `broadcast ${p.id} to ${p.audience.kind} ${p.audience.id}: ${s.guardians} guardians in ${s.families} families`,
  );
  for (const l of s.languages) {
    const channels = Object.entries(l.channels)
      .map(([c, n]) => `${c} ${n}`)
      .join(', ');
    const sms = l.sms
      ? `; SMS ${l.sms.segmentsPerMessage} segment(s) ${l.sms.encoding}, ${l.sms.nok} NOK`
      : '';
    const how = l.edited ? ' (edited)' : !l.translated && l.lang !== 'nb' ? ' (NOT translated: no MT)' : '';
    out(`  ${l.lang.padEnd(4)} ${String(l.guardians).padStart(5)}  ${channels || '-'}${sms}${how}`);
    out(`       ${l.text.replace(/\s+/g, ' ')}`);
  }
  for (const c of s.channels)
    out(
      `  ${c.channel}: ${c.messages} messages${c.segments ? `, ${c.segments} segments` : ''}, about ${c.seconds} s`,
    );
  out(
    `  SMS total ${s.sms.segments} segments, about ${s.sms.nok} NOK; opted out ${s.optedOut}, unreachable ${s.unreachable}`,
  );
  if (s.smsDeferredUntil) out(`  SMS wait for the end of quiet hours: ${s.smsDeferredUntil}`);
  out(
    `  machine-translated into ${p.translation.languages.length} languages, ${p.translation.characters} characters billed`,
  );
}

function progressLine(p: ProgressView): string {
  const counts = Object.entries(p.byStatus)
    .map(([s, n]) => `${s} ${n}`)
    .join(', ');
  return `${p.status}${p.fannedOut ? '' : ' (fanning out)'}: ${counts || 'nothing yet'}`;
}
