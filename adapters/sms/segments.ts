/**
 * SMS segment counting (3GPP TS 23.038). A message that fits the GSM 7-bit default
 * alphabet costs 160 septets in one segment or 153 per segment when concatenated (the
 * user data header takes 7); anything else goes as UCS-2: 70 UTF-16 units, 67 per
 * segment. Carriers bill per segment, so broadcasts are paced and priced by these
 * numbers. Pure; exported for broadcast previews.
 */

/** The GSM 7-bit default alphabet: one septet each. */
const GSM_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
/** The extension table: an escape septet plus one, so two septets each. */
const GSM_EXTENSION = '\f^{}\\[~]|€';

const BASIC = new Set(GSM_BASIC);
const EXTENSION = new Set(GSM_EXTENSION);

export type SmsEncoding = 'GSM-7' | 'UCS-2';

export interface SegmentCount {
  encoding: SmsEncoding;
  /** Septets (GSM-7) or UTF-16 code units (UCS-2) of the whole text. */
  units: number;
  segments: number;
  /** Units one segment holds at this length: 160/153 (GSM-7) or 70/67 (UCS-2). */
  perSegment: number;
}

export const GSM_SINGLE = 160;
export const GSM_MULTI = 153;
export const UCS2_SINGLE = 70;
export const UCS2_MULTI = 67;

/** Whether every character is in the GSM-7 default alphabet or its extension table. */
export function isGsm7(text: string): boolean {
  for (const ch of text) if (!BASIC.has(ch) && !EXTENSION.has(ch)) return false;
  return true;
}

/**
 * Segments of one message. Concatenated parts never split an escape pair (GSM-7) or a
 * surrogate pair (UCS-2), so a part may hold one unit fewer than 153/67; the count
 * follows that, as handsets and Twilio do. An empty text counts 0 segments.
 */
export function countSegments(text: string): SegmentCount {
  const gsm = isGsm7(text);
  const costs = [...text].map((ch) => (gsm ? (EXTENSION.has(ch) ? 2 : 1) : ch.length));
  const units = costs.reduce((a, b) => a + b, 0);
  const single = gsm ? GSM_SINGLE : UCS2_SINGLE;
  const multi = gsm ? GSM_MULTI : UCS2_MULTI;
  const encoding: SmsEncoding = gsm ? 'GSM-7' : 'UCS-2';
  if (units === 0) return { encoding, units, segments: 0, perSegment: single };
  if (units <= single) return { encoding, units, segments: 1, perSegment: single };
  let segments = 1;
  let used = 0;
  for (const cost of costs) {
    if (used + cost > multi) {
      segments++;
      used = 0;
    }
    used += cost;
  }
  return { encoding, units, segments, perSegment: multi };
}

/** Default price of one segment, in NOK; an estimate, set SMS_PRICE_PER_SEGMENT_NOK to the contract's. */
export const DEFAULT_PRICE_PER_SEGMENT_NOK = 0.6;

export interface CostEstimate {
  /** Messages (parts sent as separate SMS) counted. */
  messages: number;
  segments: number;
  /** Estimated price in NOK, rounded to øre. */
  nok: number;
}

/**
 * Segments and price of sending `parts` (one text, or the parts of a split reply) to
 * `recipients` numbers. An estimate for previews: the contract's price decides.
 */
export function estimateCost(
  parts: string | readonly string[],
  opts: { recipients?: number; pricePerSegmentNok?: number } = {},
): CostEstimate {
  const list = typeof parts === 'string' ? [parts] : parts;
  const recipients = opts.recipients ?? 1;
  const price = opts.pricePerSegmentNok ?? DEFAULT_PRICE_PER_SEGMENT_NOK;
  const perRecipient = list.reduce((n, part) => n + countSegments(part).segments, 0);
  const segments = perRecipient * recipients;
  return {
    messages: list.filter((p) => p.length > 0).length * recipients,
    segments,
    nok: Math.round(segments * price * 100) / 100,
  };
}
