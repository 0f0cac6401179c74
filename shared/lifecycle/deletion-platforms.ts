import { Agent, request } from 'undici';
import type { Config } from '../config/config.ts';
import { categorise } from '../http/outbound-client.ts';
import { outboundCaList } from '../http/tls.ts';
import { contractFor, googleDateTime, googleHeaders, microsoftDateTime, microsoftHeaders } from '../platforms/platform-contracts.ts';

/**
 * How an end-user deletion reaches each ad platform the person's conversions
 * were synced to. Only platforms with a real retraction call are contacted:
 *  - Google Ads: ConversionAdjustmentUploadService, adjustment type RETRACTION,
 *    identified by orderId (every export sets orderId = our conversion id; a
 *    ConversionAdjustment has no gbraid/wbraid field, so orderId is the only
 *    documented way to retract gbraid/wbraid conversions). Older queued
 *    payloads without a conversion id fall back to gclidDateTimePair (gclid only);
 *  - Microsoft Advertising: ApplyOfflineConversionAdjustments, type Retract
 *    (by MSCLKID + conversion name + conversion time, formatted as at export).
 * Meta's Conversions API, TikTok's Events API and LinkedIn's Conversions API
 * offer no call that deletes an uploaded event: such targets are recorded as
 * `not_needed` with that reason, so the request shows what happened.
 */
export type AdPlatform = 'meta' | 'google' | 'microsoft' | 'tiktok' | 'linkedin';

export interface SyncedConversion {
  /** Our conversion id: the orderId the export sent to Google. Absent in payloads queued before it was recorded. */
  conversionId?: string;
  clickKind: string;
  clickId: string;
  event: string;
  occurredAt: string; // ISO
}

/** The fields of the stored credential schemas (shared/workspaces/platform-credentials/platform-credentials-types.ts) that a retraction needs. */
export interface PlatformCredentials {
  accessToken?: string;
  developerToken?: string;
  customerId?: string;
  loginCustomerId?: string;
  conversionActionId?: string;
  customerAccountId?: string;
  conversionName?: string;
}

export interface DeletionCall {
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

export const UNSUPPORTED_REASON: Record<AdPlatform, string | null> = {
  google: null,
  microsoft: null,
  meta: 'Meta Conversions API has no call that deletes uploaded events',
  tiktok: 'TikTok Events API has no call that deletes uploaded events',
  linkedin: 'LinkedIn Conversions API has no call that deletes uploaded events',
};

/** From the one table of platform contracts (shared/platforms/platform-contracts.ts). */
export const DEFAULT_ENDPOINTS: Record<'google' | 'microsoft', string> = {
  google: contractFor('google', 'UploadConversionAdjustments').endpoint,
  microsoft: contractFor('microsoft', 'ApplyOfflineConversionAdjustments').endpoint,
};

/** The configured endpoint of a platform (overridable for staging and tests), or null if it has no deletion call. */
export function deletionEndpoint(config: Pick<Config, 'raw'>, platform: string): string | null {
  if (platform === 'google') return config.raw.WACT_DELETION_ENDPOINT_GOOGLE ?? DEFAULT_ENDPOINTS.google;
  if (platform === 'microsoft') return config.raw.WACT_DELETION_ENDPOINT_MICROSOFT ?? DEFAULT_ENDPOINTS.microsoft;
  return null;
}

export function buildDeletionCall(
  platform: 'google' | 'microsoft',
  endpoint: string,
  conversions: SyncedConversion[],
  creds: PlatformCredentials,
  now: Date,
): DeletionCall {
  if (platform === 'google') {
    const customerId = creds.customerId ?? 'unknown';
    return {
      url: endpoint.replace('{customerId}', encodeURIComponent(customerId)),
      headers: { 'content-type': 'application/json', ...googleHeaders(creds) },
      body: {
        partialFailure: true,
        conversionAdjustments: conversions.map((c) => {
          const identity = c.conversionId
            ? { orderId: c.conversionId }
            : c.clickKind === 'gclid'
              ? { gclidDateTimePair: { gclid: c.clickId, conversionDateTime: googleDateTime(new Date(c.occurredAt)) } }
              : null;
          // A gbraid/wbraid conversion can only be found by its orderId: never send its id as a gclid.
          if (!identity) throw new Error(`cannot identify a ${c.clickKind} conversion without its order id`);
          return {
            adjustmentType: 'RETRACTION',
            conversionAction: `customers/${customerId}/conversionActions/${creds.conversionActionId ?? 'unknown'}`,
            adjustmentDateTime: googleDateTime(now),
            ...identity,
          };
        }),
      },
    };
  }
  return {
    url: endpoint,
    headers: { 'content-type': 'application/json', ...microsoftHeaders(creds) },
    body: {
      OfflineConversionAdjustments: conversions.map((c) => ({
        AdjustmentType: 'Retract',
        MicrosoftClickId: c.clickId,
        ConversionName: creds.conversionName ?? c.event,
        ConversionTime: microsoftDateTime(new Date(c.occurredAt)),
        AdjustmentTime: microsoftDateTime(now),
      })),
    },
  };
}

/** What a retraction attempt may record: the status, or a failure category (never socket error text). */
export type DeletionSender = (
  url: string,
  init: { method: 'POST'; headers: Record<string, string>; body: string; signal: AbortSignal },
) => Promise<{ status: number }>;

/**
 * The default sender of retractions: undici with the system roots plus the extra
 * CA (outboundCaList), no redirects followed (a 3xx is recorded as a failure),
 * response body discarded unread. Failures throw an Error whose message is a category.
 */
export function createDeletionSender(extraCa?: string): { send: DeletionSender; close: () => Promise<void> } {
  const dispatcher = new Agent({ connect: { ca: outboundCaList(extraCa), minVersion: 'TLSv1.2' } });
  const send: DeletionSender = async (url, init) => {
    try {
      const res = await request(url, { method: init.method, headers: init.headers, body: init.body, signal: init.signal, dispatcher });
      await res.body.dump().catch(() => undefined);
      return { status: res.statusCode };
    } catch (err) {
      throw new Error(categorise(err));
    }
  };
  return { send, close: () => dispatcher.close() };
}

/** Which click id a platform needs to retract a conversion. */
export const CLICK_KIND_FOR: Record<'google' | 'microsoft', string[]> = { google: ['gclid', 'gbraid', 'wbraid'], microsoft: ['msclkid'] };
