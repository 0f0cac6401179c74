import { GOOGLE_CLICK_ID_FIELDS, googleDateTime, googleHeaders } from '../platforms/platform-contracts.ts';
import type { PlatformCredentials } from '../workspaces/platform-credentials/platform-credentials-types.ts';
import { endpoint, type ExportEvent, type PlatformRequest } from './export-types.ts';

export { googleDateTime };

/**
 * Google Ads ConversionUploadService.UploadClickConversions (REST, JSON in
 * lowerCamelCase as the REST reference shows it): one ClickConversion with
 * exactly one of gclid / gbraid / wbraid, each in its own field;
 * conversionAction as a resource name; conversionDateTime with offset; orderId
 * = our conversion id, which is also how a retraction finds it again (a
 * ConversionAdjustment has no gbraid/wbraid field, only orderId or
 * gclidDateTimePair); partialFailure true (required for uploads).
 */
export function buildGoogleRequest(e: ExportEvent, creds: PlatformCredentials<'google'>, urlTemplate: string): PlatformRequest {
  const field = GOOGLE_CLICK_ID_FIELDS.find((f) => f === e.clickKind);
  if (!field) throw new Error(`Google Ads takes gclid, gbraid or wbraid, not ${e.clickKind}`);
  const conversion = {
    [field]: e.clickId,
    conversionAction: `customers/${creds.customerId}/conversionActions/${creds.conversionActionId}`,
    conversionDateTime: googleDateTime(e.occurredAt),
    ...(e.value !== undefined ? { conversionValue: e.value, currencyCode: e.currency ?? 'USD' } : {}),
    orderId: e.eventId,
  };
  return {
    url: endpoint(urlTemplate, creds),
    headers: googleHeaders(creds),
    body: { conversions: [conversion], partialFailure: true },
  };
}
