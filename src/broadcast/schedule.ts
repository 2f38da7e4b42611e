import { DateTime } from 'luxon';
import { countSegments, estimateCost, type SmsEncoding } from '../../adapters/sms/segments.ts';
import type { Channel, RecipientPlan } from './model.ts';

/** Oslo time: quiet hours and school days are local. */
export const ZONE = 'Europe/Oslo';

/** Quiet hours as minutes after local midnight; `start > end` wraps over midnight. */
export interface QuietHours {
  start: number;
  end: number;
}

/** `HH:MM-HH:MM` (e.g. `21:00-07:00`) as quiet hours; undefined when malformed or empty. Pure. */
export function parseQuietHours(text: string): QuietHours | undefined {
  const m = /^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (!m) return undefined;
  const [h1, m1, h2, m2] = m.slice(1).map(Number) as [number, number, number, number];
  if (h1 > 23 || h2 > 23 || m1 > 59 || m2 > 59) return undefined;
  const start = h1 * 60 + m1;
  const end = h2 * 60 + m2;
  return start === end ? undefined : { start, end };
}

/**
 * How long an SMS due at `at` waits for quiet hours to end: 0 outside them; inside, the
 * time until `end` local time (the next morning when they wrap over midnight). Pure.
 */
export function quietDelayMs(at: Date, quiet: QuietHours, zone = ZONE): number {
  const local = DateTime.fromJSDate(at, { zone });
  const minute = local.hour * 60 + local.minute;
  const inside =
    quiet.start < quiet.end
      ? minute >= quiet.start && minute < quiet.end
      : minute >= quiet.start || minute < quiet.end;
  if (!inside) return 0;
  let end = local.set({
    hour: Math.floor(quiet.end / 60),
    minute: quiet.end % 60,
    second: 0,
    millisecond: 0,
  });
  if (end <= local) end = end.plus({ days: 1 });
  return end.toMillis() - at.getTime();
}

/**
 * Sending rates used for the estimate, messages per second (SMS: segments per second,
 * set by SMS_SEGMENTS_PER_SECOND). Teams: about 30 requests/s per app and tenant
 * (DOMAIN.md); Slack: a conservative 10/s over many direct-message channels; web: our own
 * Redis writes.
 */
export const MESSAGE_RATES: Record<Exclude<Channel, 'sms'>, number> = { teams: 30, slack: 10, web: 200 };

export interface ChannelEstimate {
  channel: Channel;
  messages: number;
  /** SMS only: segments over all messages. */
  segments?: number;
  /** Seconds to reach everyone on this channel once sending starts (SMS: paced by segments). */
  seconds: number;
}

/** Time to send `messages` (and, for SMS, `segments`) on a channel. Pure. */
export function estimateSeconds(
  channel: Channel,
  load: { messages: number; segments?: number },
  smsSegmentsPerSecond: number,
): number {
  const seconds =
    channel === 'sms'
      ? (load.segments ?? load.messages) / smsSegmentsPerSecond
      : load.messages / MESSAGE_RATES[channel];
  return Math.ceil(seconds);
}

export interface LanguagePreview {
  lang: string;
  text: string;
  translated: boolean;
  edited: boolean;
  guardians: number;
  /** Guardians per first channel. */
  channels: Partial<Record<Channel, number>>;
  /** Present when some guardians of this language get SMS first. */
  sms?: {
    encoding: SmsEncoding;
    segmentsPerMessage: number;
    messages: number;
    segments: number;
    nok: number;
  };
}

export interface PreviewSummary {
  guardians: number;
  families: number;
  languages: LanguagePreview[];
  channels: ChannelEstimate[];
  sms: { messages: number; segments: number; nok: number };
  /** Guardians whose SMS was skipped because they opted out (they may still get another channel). */
  smsOptedOut: number;
  /** Guardians who get nothing: opted out of SMS with no other channel, or no channel at all. */
  optedOut: number;
  unreachable: number;
  /** When the SMS part would be held for quiet hours: until when (ISO). */
  smsDeferredUntil?: string;
}

/**
 * The preview of an announcement (pure): per language the text and how many guardians
 * get it on which channel first, SMS segments and cost, and the time to reach everyone
 * per channel. Fallback sends (a later channel) are not in the estimate.
 */
export function summarise(
  plans: readonly RecipientPlan[],
  texts: Readonly<Record<string, { text: string; translated: boolean; edited: boolean }>>,
  opts: {
    families: number;
    smsSegmentsPerSecond: number;
    pricePerSegmentNok: number;
    /** When sending starts, and the quiet hours for SMS (unset: none). */
    startAt: Date;
    quiet?: QuietHours;
  },
): PreviewSummary {
  const langs = new Map<string, LanguagePreview>();
  const perChannel = new Map<Channel, { messages: number; segments: number }>();
  let optedOut = 0;
  let unreachable = 0;
  let smsOptedOut = 0;
  for (const plan of plans) {
    if (plan.smsOptedOut) smsOptedOut++;
    const first = plan.routes[0];
    if (!first) {
      if (plan.smsOptedOut) optedOut++;
      else unreachable++;
    }
    const lt = texts[plan.lang] ?? texts.nb ?? { text: '', translated: false, edited: false };
    const lang = langs.get(plan.lang) ?? {
      lang: plan.lang,
      text: lt.text,
      translated: lt.translated,
      edited: lt.edited,
      guardians: 0,
      channels: {},
    };
    lang.guardians++;
    if (first) {
      lang.channels[first.channel] = (lang.channels[first.channel] ?? 0) + 1;
      const load = perChannel.get(first.channel) ?? { messages: 0, segments: 0 };
      load.messages++;
      if (first.channel === 'sms') load.segments += countSegments(lt.text).segments;
      perChannel.set(first.channel, load);
    }
    langs.set(plan.lang, lang);
  }
  for (const lang of langs.values()) {
    const messages = lang.channels.sms ?? 0;
    if (messages === 0) continue;
    const count = countSegments(lang.text);
    const cost = estimateCost(lang.text, {
      recipients: messages,
      pricePerSegmentNok: opts.pricePerSegmentNok,
    });
    lang.sms = {
      encoding: count.encoding,
      segmentsPerMessage: count.segments,
      messages,
      segments: cost.segments,
      nok: cost.nok,
    };
  }
  const languages = [...langs.values()].sort(
    (a, b) => b.guardians - a.guardians || a.lang.localeCompare(b.lang),
  );
  const sms = languages.reduce(
    (acc, l) => ({
      messages: acc.messages + (l.sms?.messages ?? 0),
      segments: acc.segments + (l.sms?.segments ?? 0),
      nok: Math.round((acc.nok + (l.sms?.nok ?? 0)) * 100) / 100,
    }),
    { messages: 0, segments: 0, nok: 0 },
  );
  const channels = [...perChannel].map(([channel, load]) => ({
    channel,
    messages: load.messages,
    ...(channel === 'sms' ? { segments: load.segments } : {}),
    seconds: estimateSeconds(channel, load, opts.smsSegmentsPerSecond),
  }));
  const delay = opts.quiet && sms.messages > 0 ? quietDelayMs(opts.startAt, opts.quiet) : 0;
  return {
    guardians: plans.length,
    families: opts.families,
    languages,
    channels,
    sms,
    smsOptedOut,
    optedOut,
    unreachable,
    ...(delay > 0 ? { smsDeferredUntil: new Date(opts.startAt.getTime() + delay).toISOString() } : {}),
  };
}
