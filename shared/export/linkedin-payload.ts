import type { PlatformCredentials } from '../workspaces/platform-credentials/platform-credentials-types.ts';
import { endpoint, type ExportEvent, type PlatformRequest } from './export-types.ts';

/**
 * LinkedIn Conversions API (versioned: `LinkedIn-Version: YYYYMM` and
 * `X-Restli-Protocol-Version: 2.0.0` on every call, see docs/platforms.md): conversion rule URN, conversionHappenedAt in ms,
 * amount as a decimal string, li_fat_id as the
 * LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID user id.
 */
export function buildLinkedinRequest(e: ExportEvent, creds: PlatformCredentials<'linkedin'>, urlTemplate: string): PlatformRequest {
  return {
    url: endpoint(urlTemplate, creds),
    headers: {
      authorization: `Bearer ${creds.accessToken}`,
      'LinkedIn-Version': creds.version,
      'X-Restli-Protocol-Version': '2.0.0',
    },
    body: {
      conversion: `urn:lla:llaPartnerConversion:${creds.conversionRuleId}`,
      conversionHappenedAt: e.occurredAt.getTime(),
      ...(e.value !== undefined
        ? { conversionValue: { currencyCode: e.currency ?? 'USD', amount: e.value.toFixed(Math.max(1, decimals(e.value))) } }
        : {}),
      user: { userIds: [{ idType: 'LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID', idValue: e.clickId }] },
      eventId: e.eventId,
    },
  };
}

function decimals(n: number): number {
  const s = String(n);
  return s.includes('.') ? Math.min(4, s.split('.')[1].length) : 0;
}
