import type { Config } from '../config/config.ts';

/**
 * How an end-user deletion reaches each ad platform the person's conversions
 * were synced to. Only platforms with a real retraction call are contacted:
 *  - Google Ads: ConversionAdjustmentUploadService, adjustment type RETRACTION
 *    (by gclid + conversion time);
 *  - Microsoft Advertising: ApplyOfflineConversionAdjustments, type Retract
 *    (by MSCLKID + conversion time).
 * Meta's Conversions API, TikTok's Events API and LinkedIn's Conversions API
 * offer no call that deletes an uploaded event: such targets are recorded as
 * `not_needed` with that reason, so the request shows what happened.
 */
export type AdPlatform = 'meta' | 'google' | 'microsoft' | 'tiktok' | 'linkedin';

export interface SyncedConversion {
  clickKind: string;
  clickId: string;
  event: string;
  occurredAt: string; // ISO
}

/** The fields of the ingest feature's credential schemas (ingest/export/export-types.ts) that a retraction needs. */
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

export const DEFAULT_ENDPOINTS: Record<'google' | 'microsoft', string> = {
  google: 'https://googleads.googleapis.com/v21/customers/{customerId}:uploadConversionAdjustments',
  microsoft: 'https://campaign.api.bingads.microsoft.com/CampaignManagement/v13/OfflineConversionAdjustments/Apply',
};

/** The configured endpoint of a platform (overridable for staging and tests), or null if it has no deletion call. */
export function deletionEndpoint(config: Pick<Config, 'raw'>, platform: string): string | null {
  if (platform === 'google') return config.raw.WACT_DELETION_ENDPOINT_GOOGLE ?? DEFAULT_ENDPOINTS.google;
  if (platform === 'microsoft') return config.raw.WACT_DELETION_ENDPOINT_MICROSOFT ?? DEFAULT_ENDPOINTS.microsoft;
  return null;
}

/** Google wants "yyyy-mm-dd hh:mm:ss+00:00". */
function googleTime(iso: string): string {
  return `${iso.slice(0, 19).replace('T', ' ')}+00:00`;
}

export function buildDeletionCall(
  platform: 'google' | 'microsoft',
  endpoint: string,
  conversions: SyncedConversion[],
  creds: PlatformCredentials,
  now: Date,
): DeletionCall {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (creds.accessToken) headers.authorization = `Bearer ${creds.accessToken}`;
  if (platform === 'google') {
    if (creds.developerToken) headers['developer-token'] = creds.developerToken;
    if (creds.loginCustomerId) headers['login-customer-id'] = creds.loginCustomerId;
    const customerId = creds.customerId ?? 'unknown';
    return {
      url: endpoint.replace('{customerId}', encodeURIComponent(customerId)),
      headers,
      body: {
        partialFailure: true,
        conversionAdjustments: conversions.map((c) => ({
          adjustmentType: 'RETRACTION',
          conversionAction: `customers/${customerId}/conversionActions/${creds.conversionActionId ?? 'unknown'}`,
          adjustmentDateTime: googleTime(now.toISOString()),
          gclidDateTimePair: { gclid: c.clickId, conversionDateTime: googleTime(c.occurredAt) },
        })),
      },
    };
  }
  if (creds.developerToken) headers.DeveloperToken = creds.developerToken;
  if (creds.customerId) headers.CustomerId = creds.customerId;
  if (creds.customerAccountId) headers.CustomerAccountId = creds.customerAccountId;
  return {
    url: endpoint,
    headers,
    body: {
      OfflineConversionAdjustments: conversions.map((c) => ({
        AdjustmentType: 'Retract',
        MicrosoftClickId: c.clickId,
        ConversionName: creds.conversionName ?? c.event,
        ConversionTime: c.occurredAt,
        AdjustmentTime: now.toISOString(),
      })),
    },
  };
}

/** Which click id a platform needs to retract a conversion. */
export const CLICK_KIND_FOR: Record<'google' | 'microsoft', string[]> = { google: ['gclid', 'gbraid', 'wbraid'], microsoft: ['msclkid'] };
