import { endpoint, type ExportEvent, type PlatformCredentials, type PlatformRequest } from './export-types.ts';

/** "yyyy-mm-dd hh:mm:ss+00:00": Google requires the offset; we always send UTC. */
export function googleDateTime(d: Date): string {
  const iso = d.toISOString(); // 2019-01-01T12:32:45.000Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}+00:00`;
}

/**
 * Google Ads ConversionUploadService.UploadClickConversions: one ClickConversion
 * with exactly one of gclid / gbraid / wbraid, conversion_action as a resource
 * name, conversion_date_time with offset, order_id for deduplication.
 */
export function buildGoogleRequest(e: ExportEvent, creds: PlatformCredentials<'google'>, urlTemplate: string): PlatformRequest {
  const conversion = {
    [e.clickKind]: e.clickId,
    conversion_action: `customers/${creds.customerId}/conversionActions/${creds.conversionActionId}`,
    conversion_date_time: googleDateTime(e.occurredAt),
    ...(e.value !== undefined ? { conversion_value: e.value, currency_code: e.currency ?? 'USD' } : {}),
    order_id: e.eventId,
  };
  return {
    url: endpoint(urlTemplate, creds),
    headers: {
      authorization: `Bearer ${creds.accessToken}`,
      'developer-token': creds.developerToken,
      ...(creds.loginCustomerId ? { 'login-customer-id': creds.loginCustomerId } : {}),
    },
    body: { conversions: [conversion], partial_failure: true },
  };
}
