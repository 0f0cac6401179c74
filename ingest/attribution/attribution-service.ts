/**
 * Attribution rules, pure. A conversation is matched to
 *   1. the click whose ref code the first message carries, if that click is
 *      at most `windowMs` older than the conversation (and not from the future
 *      beyond a small clock skew);
 *   2. else the Click-to-WhatsApp referral in the message itself: its
 *      ctwa_clid, or (Status ads omit ctwa_clid) its ad source id.
 */
export type AttributionMethod = 'ref_code' | 'ctwa_clid' | 'ad_source_id';

export interface AttributionResult {
  method: AttributionMethod;
  clickId: string;
  clickAt: Date;
  latencyMs: number;
}

export const CLOCK_SKEW_MS = 10 * 60 * 1000;

export function withinWindow(clickAt: Date, startedAt: Date, windowMs: number): boolean {
  const latency = startedAt.getTime() - clickAt.getTime();
  return latency <= windowMs && latency >= -CLOCK_SKEW_MS;
}

export function decideAttribution(input: {
  startedAt: Date;
  windowMs: number;
  refClick?: { id: string; createdAt: Date };
  referralClick?: { id: string; createdAt: Date; hasCtwaClid: boolean; hasSourceId: boolean };
}): AttributionResult | undefined {
  const { startedAt, windowMs, refClick, referralClick } = input;
  if (refClick && withinWindow(refClick.createdAt, startedAt, windowMs)) {
    return { method: 'ref_code', clickId: refClick.id, clickAt: refClick.createdAt, latencyMs: Math.max(0, startedAt.getTime() - refClick.createdAt.getTime()) };
  }
  if (referralClick && (referralClick.hasCtwaClid || referralClick.hasSourceId)) {
    // The referral arrives with the message the ad click opened: no measurable delay.
    return { method: referralClick.hasCtwaClid ? 'ctwa_clid' : 'ad_source_id', clickId: referralClick.id, clickAt: referralClick.createdAt, latencyMs: 0 };
  }
  return undefined;
}
