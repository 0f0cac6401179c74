import type { PlatformCredentials } from '../workspaces/platform-credentials/platform-credentials-types.ts';
import { endpoint, type ExportEvent, type PlatformRequest } from './export-types.ts';

/**
 * Meta Conversions API. For a Click-to-WhatsApp conversation: action_source
 * "business_messaging", messaging_channel "whatsapp", user_data.ctwa_clid raw
 * (not hashed) next to whatsapp_business_account_id. For a site click with
 * fbclid: user_data.fbc = fb.1.<click time ms>.<fbclid>, unhashed, unmodified.
 * event_time in Unix seconds.
 */
export function buildMetaRequest(e: ExportEvent, creds: PlatformCredentials<'meta'>, urlTemplate: string): PlatformRequest {
  const user_data: Record<string, string> =
    e.clickKind === 'ctwa_clid'
      ? { ctwa_clid: e.clickId, ...(creds.wabaId ? { whatsapp_business_account_id: creds.wabaId } : {}) }
      : { fbc: `fb.1.${e.clickAt.getTime()}.${e.clickId}` };
  const data = {
    event_name: e.event,
    event_time: Math.floor(e.occurredAt.getTime() / 1000),
    event_id: e.eventId,
    action_source: e.clickKind === 'ctwa_clid' ? 'business_messaging' : 'chat',
    ...(e.clickKind === 'ctwa_clid' ? { messaging_channel: 'whatsapp' } : {}),
    user_data,
    ...(e.value !== undefined ? { custom_data: { value: e.value, currency: e.currency ?? 'USD' } } : {}),
  };
  return {
    url: endpoint(urlTemplate, creds),
    headers: { authorization: `Bearer ${creds.accessToken}` },
    body: { data: [data], ...(creds.testEventCode ? { test_event_code: creds.testEventCode } : {}) },
  };
}
