import { microsoftDateTime, microsoftHeaders } from '../platforms/platform-contracts.ts';
import type { PlatformCredentials } from '../workspaces/platform-credentials/platform-credentials-types.ts';
import { endpoint, type ExportEvent, type PlatformRequest } from './export-types.ts';

/**
 * Microsoft Advertising ApplyOfflineConversions (Campaign Management v13, REST):
 * MicrosoftClickId, ConversionName (an existing goal), ConversionTime in UTC
 * xs:dateTime, optional value and currency. Authentication as the deletion
 * call: one helper (microsoftHeaders) for both.
 */
export function buildMicrosoftRequest(e: ExportEvent, creds: PlatformCredentials<'microsoft'>, urlTemplate: string): PlatformRequest {
  return {
    url: endpoint(urlTemplate, creds),
    headers: microsoftHeaders(creds),
    body: {
      OfflineConversions: [
        {
          MicrosoftClickId: e.clickId,
          ConversionName: creds.conversionName,
          ConversionTime: microsoftDateTime(e.occurredAt),
          ...(e.value !== undefined ? { ConversionValue: e.value, ConversionCurrencyCode: e.currency ?? 'USD' } : {}),
        },
      ],
    },
  };
}
