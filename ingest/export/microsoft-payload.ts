import { endpoint, type ExportEvent, type PlatformCredentials, type PlatformRequest } from './export-types.ts';

/**
 * Microsoft Advertising ApplyOfflineConversions (Campaign Management v13):
 * MicrosoftClickId, ConversionName (an existing goal), ConversionTime in UTC
 * xs:dateTime, optional value and currency.
 */
export function buildMicrosoftRequest(e: ExportEvent, creds: PlatformCredentials<'microsoft'>, urlTemplate: string): PlatformRequest {
  return {
    url: endpoint(urlTemplate, creds),
    headers: {
      AuthenticationToken: creds.accessToken,
      DeveloperToken: creds.developerToken,
      CustomerId: creds.customerId,
      CustomerAccountId: creds.customerAccountId,
    },
    body: {
      OfflineConversions: [
        {
          MicrosoftClickId: e.clickId,
          ConversionName: creds.conversionName,
          ConversionTime: e.occurredAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
          ...(e.value !== undefined ? { ConversionValue: e.value, ConversionCurrencyCode: e.currency ?? 'USD' } : {}),
        },
      ],
    },
  };
}
