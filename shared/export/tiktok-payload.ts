import type { PlatformCredentials } from '../workspaces/platform-credentials/platform-credentials-types.ts';
import { endpoint, type ExportEvent, type PlatformRequest } from './export-types.ts';

/** TikTok Events API 2.0: event_source "web", event_time in seconds, user.ttclid raw. */
export function buildTiktokRequest(e: ExportEvent, creds: PlatformCredentials<'tiktok'>, urlTemplate: string): PlatformRequest {
  return {
    url: endpoint(urlTemplate, creds),
    headers: { 'Access-Token': creds.accessToken },
    body: {
      event_source: 'web',
      event_source_id: creds.eventSourceId,
      data: [
        {
          event: e.event,
          event_time: Math.floor(e.occurredAt.getTime() / 1000),
          event_id: e.eventId,
          user: { ttclid: e.clickId },
          ...(e.value !== undefined ? { properties: { value: e.value, currency: e.currency ?? 'USD' } } : {}),
        },
      ],
      ...(creds.testEventCode ? { test_event_code: creds.testEventCode } : {}),
    },
  };
}
