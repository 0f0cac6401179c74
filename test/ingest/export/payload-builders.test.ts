import { describe, expect, it } from 'vitest';
import { buildPlatformRequest } from '../../../shared/export/payload-builders.ts';
import { googleDateTime } from '../../../shared/export/google-payload.ts';
import { endpoint, type ExportEvent } from '../../../shared/export/export-types.ts';

const at = new Date('2026-03-04T05:06:07.890Z');
const clickAt = new Date('2026-03-01T10:00:00.123Z');
const ev = (clickKind: string, clickId: string, extra: Partial<ExportEvent> = {}): ExportEvent => ({
  eventId: '0b6d1a52-2f2e-4c9a-9a55-6f1d2f7c1e11',
  event: 'Purchase',
  value: 1500,
  currency: 'EUR',
  occurredAt: at,
  clickKind,
  clickId,
  clickAt,
  ...extra,
});

describe('ad-platform payloads use the platforms’ field names and time formats', () => {
  it('Meta CAPI: business_messaging + raw ctwa_clid, or fbc from fbclid; event_time in seconds', () => {
    const r = buildPlatformRequest(
      'meta',
      ev('ctwa_clid', 'ARAkCtwa123'),
      { accessToken: 't', datasetId: '42', wabaId: '7' },
      'https://graph.facebook.com/v21.0/{datasetId}/events',
    );
    expect(r.url).toBe('https://graph.facebook.com/v21.0/42/events');
    expect(r.headers.authorization).toBe('Bearer t');
    expect(r.body).toEqual({
      data: [
        {
          event_name: 'Purchase',
          event_time: 1772600767,
          event_id: '0b6d1a52-2f2e-4c9a-9a55-6f1d2f7c1e11',
          action_source: 'business_messaging',
          messaging_channel: 'whatsapp',
          user_data: { ctwa_clid: 'ARAkCtwa123', whatsapp_business_account_id: '7' },
          custom_data: { value: 1500, currency: 'EUR' },
        },
      ],
    });
    const fb = buildPlatformRequest('meta', ev('fbclid', 'IwAR1AbC'), { accessToken: 't', datasetId: '42' }, 'https://x/{datasetId}');
    expect((fb.body as { data: { user_data: unknown }[] }).data[0].user_data).toEqual({ fbc: `fb.1.${clickAt.getTime()}.IwAR1AbC` });
  });

  it('Google: one ClickConversion with gclid|gbraid|wbraid, resource name, "yyyy-mm-dd hh:mm:ss+00:00"', () => {
    expect(googleDateTime(at)).toBe('2026-03-04 05:06:07+00:00');
    const creds = {
      accessToken: 'a',
      developerToken: 'd',
      customerId: '1234567890',
      conversionActionId: '55',
      loginCustomerId: '9999999999',
    };
    const r = buildPlatformRequest(
      'google',
      ev('wbraid', 'WB1'),
      creds,
      'https://googleads.googleapis.com/v26/customers/{customerId}:uploadClickConversions',
    );
    expect(r.url).toBe('https://googleads.googleapis.com/v26/customers/1234567890:uploadClickConversions');
    expect(r.headers).toEqual({ authorization: 'Bearer a', 'developer-token': 'd', 'login-customer-id': '9999999999' });
    expect(r.body).toEqual({
      conversions: [
        {
          wbraid: 'WB1',
          conversionAction: 'customers/1234567890/conversionActions/55',
          conversionDateTime: '2026-03-04 05:06:07+00:00',
          conversionValue: 1500,
          currencyCode: 'EUR',
          orderId: '0b6d1a52-2f2e-4c9a-9a55-6f1d2f7c1e11',
        },
      ],
      partialFailure: true,
    });
  });

  it('Microsoft: OfflineConversions with MicrosoftClickId and UTC ConversionTime', () => {
    const creds = { accessToken: 'a', developerToken: 'd', customerId: '1', customerAccountId: '2', conversionName: 'Chat sale' };
    const r = buildPlatformRequest('microsoft', ev('msclkid', 'ms1', { value: undefined }), creds, 'https://m/Apply');
    expect(r.body).toEqual({
      OfflineConversions: [{ MicrosoftClickId: 'ms1', ConversionName: 'Chat sale', ConversionTime: '2026-03-04T05:06:07Z' }],
    });
    expect(r.headers).toEqual({ Authorization: 'Bearer a', DeveloperToken: 'd', CustomerId: '1', CustomerAccountId: '2' });
  });

  it('TikTok: event_source web, event_time in seconds, user.ttclid raw', () => {
    const r = buildPlatformRequest('tiktok', ev('ttclid', 'E.C.P.abc'), { accessToken: 'a', eventSourceId: 'PIX' }, 'https://t/track/');
    expect(r.headers).toEqual({ 'Access-Token': 'a' });
    expect(r.body).toEqual({
      event_source: 'web',
      event_source_id: 'PIX',
      data: [
        {
          event: 'Purchase',
          event_time: 1772600767,
          event_id: '0b6d1a52-2f2e-4c9a-9a55-6f1d2f7c1e11',
          user: { ttclid: 'E.C.P.abc' },
          properties: { value: 1500, currency: 'EUR' },
        },
      ],
    });
  });

  it('LinkedIn: conversion URN, conversionHappenedAt in ms, amount as a decimal string, li_fat_id user id', () => {
    const r = buildPlatformRequest(
      'linkedin',
      ev('li_fat_id', 'li-1'),
      { accessToken: 'a', conversionRuleId: '77' },
      'https://api.linkedin.com/rest/conversionEvents',
    );
    expect(r.headers).toEqual({ authorization: 'Bearer a', 'LinkedIn-Version': '202603', 'X-Restli-Protocol-Version': '2.0.0' });
    expect(r.body).toEqual({
      conversion: 'urn:lla:llaPartnerConversion:77',
      conversionHappenedAt: at.getTime(),
      conversionValue: { currencyCode: 'EUR', amount: '1500.0' },
      user: { userIds: [{ idType: 'LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID', idValue: 'li-1' }] },
      eventId: '0b6d1a52-2f2e-4c9a-9a55-6f1d2f7c1e11',
    });
  });

  it('Google: gclid and gbraid each in their own field; other click kinds refused', () => {
    const creds = { accessToken: 'a', developerToken: 'd', customerId: '1234567890', conversionActionId: '55' };
    const body = (kind: string) =>
      (buildPlatformRequest('google', ev(kind, 'ID1'), creds, 'https://g').body as { conversions: object[] }).conversions[0];
    expect(body('gclid')).toMatchObject({ gclid: 'ID1' });
    expect(body('gclid')).not.toHaveProperty('gbraid');
    expect(body('gbraid')).toMatchObject({ gbraid: 'ID1' });
    expect(body('gbraid')).not.toHaveProperty('gclid');
    expect(() => body('msclkid')).toThrow(/gclid, gbraid or wbraid/);
  });

  it('LinkedIn: a sunset LinkedIn-Version stored in a workspace is refused', () => {
    expect(() =>
      buildPlatformRequest(
        'linkedin',
        ev('li_fat_id', 'li-1'),
        { accessToken: 'a', conversionRuleId: '77', version: '202511' },
        'https://l',
      ),
    ).toThrow(/sunset/);
  });

  it('refuses incomplete credentials and URL-encodes placeholders', () => {
    expect(() => buildPlatformRequest('google', ev('gclid', 'g'), { accessToken: 'a' }, 'https://x')).toThrow();
    expect(endpoint('https://x/{datasetId}/events', { datasetId: '../admin?x=1' })).toBe('https://x/..%2Fadmin%3Fx%3D1/events');
  });
});
