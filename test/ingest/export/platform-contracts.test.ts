import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildPlatformRequest } from '../../../shared/export/payload-builders.ts';
import type { ExportEvent } from '../../../shared/export/export-types.ts';
import { platformCredentialSchemas } from '../../../shared/workspaces/platform-credentials/platform-credentials-types.ts';
import { configSchema } from '../../../shared/config/config-schema.ts';
import { buildDeletionCall, DEFAULT_ENDPOINTS } from '../../../shared/lifecycle/deletion-platforms.ts';
import {
  API_CONTRACTS,
  contractDeadline,
  knownSunset,
  SUNSET_VERSIONS,
  type ApiContract,
} from '../../../shared/platforms/platform-contracts.ts';

/**
 * Platform contracts: versions that are not sunset on the day the test runs,
 * and payloads that match the request shapes the platforms document.
 *
 * No platform publishes a schema package usable here: the official Google Ads
 * Node packages (google-ads-node / google-ads-api 25.1.0) require Node >= 22
 * (npm view, 2026-12-02), facebook-nodejs-business-sdk and TikTok's SDK ship no
 * request types for these calls. The shapes below are therefore written from the
 * documentation, each quoted with its source, and parsed strictly (unknown
 * fields fail).
 */

const today = new Date().toISOString().slice(0, 10);

/** Which version a default URL or header names, for the platform. */
function versionIn(platform: ApiContract['platform'], url: string): string | undefined {
  if (platform === 'google') return /googleads\.googleapis\.com\/(v\d+)\//.exec(url)?.[1];
  if (platform === 'meta') return /graph\.facebook\.com\/(v\d+\.\d+)\//.exec(url)?.[1];
  if (platform === 'microsoft') return /\/CampaignManagement\/(v\d+)\//.exec(url)?.[1];
  if (platform === 'tiktok') return /\/open_api\/(v\d+\.\d+)\//.exec(url)?.[1];
  return undefined;
}

/** Is this default usable today? Fails for a version past a published sunset or past its review date. */
function usable(platform: ApiContract['platform'], version: string | undefined): { ok: boolean; why: string } {
  if (!version) return { ok: false, why: 'no version in the default' };
  const sunset = knownSunset(platform, version);
  if (sunset && sunset <= today) return { ok: false, why: `${platform} ${version} was sunset on ${sunset}` };
  const contract = API_CONTRACTS.find((c) => c.platform === platform && c.version === version);
  if (!contract) return { ok: false, why: `${platform} ${version} is not in the contract table` };
  const deadline = contractDeadline(contract);
  if (deadline <= today)
    return { ok: false, why: `${platform} ${version}: past ${contract.sunset ? 'its sunset' : 'its review date'} ${deadline}` };
  return { ok: true, why: '' };
}

const exportDefaults: Array<[ApiContract['platform'], keyof typeof configSchema.shape]> = [
  ['meta', 'EXPORT_URL_META'],
  ['google', 'EXPORT_URL_GOOGLE'],
  ['microsoft', 'EXPORT_URL_MICROSOFT'],
  ['tiktok', 'EXPORT_URL_TIKTOK'],
];

describe('platform API versions', () => {
  it.each(API_CONTRACTS.map((c) => [`${c.platform}: ${c.api} ${c.version}`, c]))('%s is not past its sunset or review date', (_l, c) => {
    const contract = c as ApiContract;
    expect(contract.sunsetSource.length, 'every date needs its source').toBeGreaterThan(10);
    if (!contract.sunset) expect(contract.reviewBy, 'no announced sunset: a review date from the platform policy').toBeTruthy();
    expect(contractDeadline(contract) > today, `${contract.platform} ${contract.version}: upgrade (docs/platforms.md)`).toBe(true);
  });

  it.each(exportDefaults)('the %s export default (%s) is a current version', (platform, key) => {
    const url = (configSchema.shape[key] as z.ZodType<string>).parse(undefined);
    const verdict = usable(platform, versionIn(platform, url));
    expect(verdict.why).toBe('');
    expect(verdict.ok).toBe(true);
  });

  it('the retraction defaults are current versions', () => {
    expect(usable('google', versionIn('google', DEFAULT_ENDPOINTS.google))).toEqual({ ok: true, why: '' });
    expect(usable('microsoft', versionIn('microsoft', DEFAULT_ENDPOINTS.microsoft))).toEqual({ ok: true, why: '' });
  });

  it('the LinkedIn-Version default is a current version', () => {
    const version = platformCredentialSchemas.linkedin.parse({ accessToken: 'a', conversionRuleId: '1' }).version;
    expect(usable('linkedin', version)).toEqual({ ok: true, why: '' });
  });

  it('the check catches the defaults this fixed (proof the test can fail)', () => {
    expect(
      usable('google', versionIn('google', 'https://googleads.googleapis.com/v18/customers/{customerId}:uploadClickConversions')).ok,
    ).toBe(false);
    expect(
      usable('google', versionIn('google', 'https://googleads.googleapis.com/v21/customers/{customerId}:uploadConversionAdjustments')).ok,
    ).toBe(false);
    expect(usable('google', 'v22').why).toMatch(/sunset on 2026-10-07/);
    expect(usable('meta', 'v24.0').ok).toBe(false);
    expect(usable('linkedin', '202511').ok).toBe(false);
    expect(usable('google', 'v99').why).toMatch(/not in the contract table/);
  });

  it('every recorded sunset has a source', () => {
    for (const s of SUNSET_VERSIONS) expect(s.source).toMatch(/^https:\/\//);
  });
});

// ---------------------------------------------------------------------------
// Request shapes from the platforms' documentation.

/**
 * Google Ads REST, UploadClickConversionsRequest: conversions[], partial_failure
 * ("Required. Must be set to true"), validate_only, job_id; ClickConversion:
 * gclid, gbraid, wbraid (exactly one), conversion_action, conversion_date_time
 * "yyyy-mm-dd hh:mm:ss+|-hh:mm", conversion_value, currency_code, order_id.
 * Sources: https://developers.google.com/google-ads/api/reference/rpc/v26/UploadClickConversionsRequest ;
 * https://developers.google.com/google-ads/api/reference/rpc/v24/ClickConversion.md.txt. REST JSON uses the
 * proto3 JSON mapping (lowerCamelCase).
 */
const googleTime = z.string().regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$/);
const clickConversion = z
  .object({
    gclid: z.string().min(1).optional(),
    gbraid: z.string().min(1).optional(),
    wbraid: z.string().min(1).optional(),
    conversionAction: z.string().regex(/^customers\/\d+\/conversionActions\/\d+$/),
    conversionDateTime: googleTime,
    conversionValue: z.number().optional(),
    currencyCode: z.string().length(3).optional(),
    orderId: z.string().min(1).optional(),
  })
  .strict()
  .refine((c) => [c.gclid, c.gbraid, c.wbraid].filter(Boolean).length === 1, 'exactly one of gclid, gbraid, wbraid');
const uploadClickConversions = z.object({ conversions: z.array(clickConversion).min(1), partialFailure: z.literal(true) }).strict();

/**
 * Google Ads ConversionAdjustment: gclid_date_time_pair {gclid, conversion_date_time} or order_id identifies
 * the conversion ("If the conversion was reported with an order ID specified, that order ID must be used as
 * the identifier here"); adjustment_type RETRACTION; restatement_value "Should not be supplied for
 * retractions"; conversion_action; adjustment_date_time. There is no gbraid or wbraid field.
 * Source: https://developers.google.com/google-ads/api/reference/rpc/latest/ConversionAdjustment
 */
const conversionAdjustment = z
  .object({
    adjustmentType: z.literal('RETRACTION'),
    conversionAction: z.string().regex(/^customers\/\d+\/conversionActions\/\d+$/),
    adjustmentDateTime: googleTime,
    orderId: z.string().min(1).optional(),
    gclidDateTimePair: z
      .object({ gclid: z.string().min(1), conversionDateTime: googleTime })
      .strict()
      .optional(),
  })
  .strict()
  .refine((a) => !!a.orderId !== !!a.gclidDateTimePair, 'orderId or gclidDateTimePair');
const uploadConversionAdjustments = z
  .object({ conversionAdjustments: z.array(conversionAdjustment).min(1), partialFailure: z.literal(true) })
  .strict();

/**
 * Microsoft Advertising REST, ApplyOfflineConversions "Request JSON" template: {"OfflineConversions":
 * [{ConversionCurrencyCode, ConversionName, ConversionTime, ConversionValue, ExternalAttributionCredit,
 * ExternalAttributionModel, HashedEmailAddress, HashedPhoneNumber, MicrosoftClickId}]}; ApplyOfflineConversionAdjustments:
 * {"OfflineConversionAdjustments": [{AdjustmentCurrencyCode, AdjustmentTime, AdjustmentType, AdjustmentValue,
 * ConversionName, ConversionTime, HashedEmailAddress, HashedPhoneNumber, MicrosoftClickId}]}. REST request
 * headers: Authorization ("prefixed with 'Bearer '"), DeveloperToken, CustomerId, CustomerAccountId.
 * Sources: MicrosoftDocs/Advertising advertising/bingads-13/campaign-management-service/applyofflineconversions.md,
 * …/applyofflineconversionadjustments.md, …/customer-management-service/includes/request-header-rest.md.
 */
const msTime = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
const offlineConversions = z
  .object({
    OfflineConversions: z
      .array(
        z
          .object({
            ConversionCurrencyCode: z.string().optional(),
            ConversionName: z.string().min(1),
            ConversionTime: msTime,
            ConversionValue: z.number().optional(),
            MicrosoftClickId: z.string().min(1),
          })
          .strict(),
      )
      .min(1)
      .max(1000),
  })
  .strict();
const offlineConversionAdjustments = z
  .object({
    OfflineConversionAdjustments: z
      .array(
        z
          .object({
            AdjustmentTime: msTime,
            AdjustmentType: z.literal('Retract'),
            ConversionName: z.string().min(1),
            ConversionTime: msTime,
            MicrosoftClickId: z.string().min(1),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();
const microsoftHeaders = z
  .object({
    Authorization: z.string().regex(/^Bearer \S+$/),
    DeveloperToken: z.string().min(1),
    CustomerId: z.string().min(1),
    CustomerAccountId: z.string().min(1),
  })
  .passthrough();

/**
 * Meta Conversions API server event: data[] of {event_name, event_time (Unix seconds), event_id,
 * action_source, user_data, custom_data}; for business messaging action_source "business_messaging",
 * messaging_channel "whatsapp", user_data.ctwa_clid raw. Sources:
 * https://developers.facebook.com/docs/marketing-api/conversions-api/parameters/server-event/ ;
 * facebook/facebook-nodejs-business-sdk src/objects/serverside/user-data.js (ctwa_clid).
 */
const metaEvents = z
  .object({
    data: z
      .array(
        z
          .object({
            event_name: z.string().min(1),
            event_time: z.number().int().min(1_000_000_000).max(9_999_999_999),
            event_id: z.string().min(1),
            action_source: z.enum(['business_messaging', 'chat', 'website', 'app', 'physical_store', 'system_generated', 'other']),
            messaging_channel: z.literal('whatsapp').optional(),
            user_data: z
              .object({ ctwa_clid: z.string().optional(), whatsapp_business_account_id: z.string().optional(), fbc: z.string().optional() })
              .strict(),
            custom_data: z
              .object({ value: z.number(), currency: z.string().length(3) })
              .strict()
              .optional(),
          })
          .strict(),
      )
      .min(1),
    test_event_code: z.string().optional(),
  })
  .strict();

/**
 * TikTok Events API 2.0: {event_source, event_source_id, data[{event, event_time (seconds), event_id,
 * user{ttclid,…}, properties{value, currency}}], test_event_code?}, header Access-Token. Sources: TikTok's
 * generated sample code (reference formats.md §6d); https://docs.tealium.com/server-side-connectors/tiktok-events-connector/.
 */
const tiktokEvents = z
  .object({
    event_source: z.enum(['web', 'app', 'offline', 'crm']),
    event_source_id: z.string().min(1),
    data: z
      .array(
        z
          .object({
            event: z.string().min(1),
            event_time: z.number().int().min(1_000_000_000).max(9_999_999_999),
            event_id: z.string().min(1),
            user: z.object({ ttclid: z.string().min(1) }).strict(),
            properties: z
              .object({ value: z.number(), currency: z.string().length(3) })
              .strict()
              .optional(),
          })
          .strict(),
      )
      .min(1),
    test_event_code: z.string().optional(),
  })
  .strict();

/**
 * LinkedIn Conversions API: {conversion: "urn:lla:llaPartnerConversion:<id>", conversionHappenedAt (epoch ms),
 * conversionValue{currencyCode, amount (decimal string)}, user{userIds[{idType, idValue}]}, eventId}; headers
 * LinkedIn-Version: YYYYMM, X-Restli-Protocol-Version: 2.0.0. Sources:
 * https://learn.microsoft.com/en-us/linkedin/marketing/integrations/ads-reporting/conversions-api-schema ;
 * https://learn.microsoft.com/en-us/linkedin/marketing/versioning.
 */
const linkedinEvent = z
  .object({
    conversion: z.string().regex(/^urn:lla:llaPartnerConversion:\d+$/),
    conversionHappenedAt: z.number().int().min(1_000_000_000_000),
    conversionValue: z
      .object({ currencyCode: z.string().length(3), amount: z.string().regex(/^\d+\.\d+$/) })
      .strict()
      .optional(),
    user: z
      .object({
        userIds: z.array(
          z
            .object({
              idType: z.enum(['SHA256_EMAIL', 'LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID', 'ACXIOM_ID', 'ORACLE_MOAT_ID']),
              idValue: z.string().min(1),
            })
            .strict(),
        ),
      })
      .strict(),
    eventId: z.string().min(1),
  })
  .strict();
const linkedinHeaders = z
  .object({
    'LinkedIn-Version': z.string().regex(/^\d{6}$/),
    'X-Restli-Protocol-Version': z.literal('2.0.0'),
    authorization: z.string().regex(/^Bearer /),
  })
  .strict();

const at = new Date('2026-11-20T09:08:07.654Z');
const ev = (clickKind: string, clickId: string, extra: Partial<ExportEvent> = {}): ExportEvent => ({
  eventId: '0b6d1a52-2f2e-4c9a-9a55-6f1d2f7c1e11',
  event: 'Purchase',
  value: 42.5,
  currency: 'EUR',
  occurredAt: at,
  clickKind,
  clickId,
  clickAt: new Date(at.getTime() - 3_600_000),
  ...extra,
});
const google = { accessToken: 'a', developerToken: 'd', customerId: '1234567890', conversionActionId: '55' };
const microsoft = { accessToken: 'a', developerToken: 'd', customerId: '11', customerAccountId: '22', conversionName: 'Chat sale' };

describe('built payloads match the documented request shapes', () => {
  it.each(['gclid', 'gbraid', 'wbraid'])('Google UploadClickConversions with %s', (kind) => {
    const r = buildPlatformRequest('google', ev(kind, 'CLICK-1'), google, 'https://g/{customerId}');
    expect(uploadClickConversions.safeParse(r.body).error?.issues ?? []).toEqual([]);
    expect((r.body as { conversions: Record<string, unknown>[] }).conversions[0][kind]).toBe('CLICK-1');
  });

  it.each(['gclid', 'gbraid', 'wbraid'])('Google retraction of a %s conversion: by orderId, never a gbraid/wbraid in gclid', (kind) => {
    const call = buildDeletionCall(
      'google',
      DEFAULT_ENDPOINTS.google,
      [{ conversionId: 'conv-1', clickKind: kind, clickId: 'CLICK-1', event: 'Purchase', occurredAt: at.toISOString() }],
      google,
      new Date(at.getTime() + 86_400_000),
    );
    expect(uploadConversionAdjustments.safeParse(call.body).error?.issues ?? []).toEqual([]);
    expect(JSON.stringify(call.body)).not.toContain('CLICK-1'); // the order id identifies it
    expect(call.url).toBe(DEFAULT_ENDPOINTS.google.replace('{customerId}', '1234567890'));
  });

  it('Google retraction of an old queued payload without its order id: gclid pair for gclid, refused for gbraid', () => {
    const old = (clickKind: string) => [{ clickKind, clickId: 'CLICK-1', event: 'Purchase', occurredAt: at.toISOString() }];
    const call = buildDeletionCall('google', DEFAULT_ENDPOINTS.google, old('gclid'), google, new Date());
    expect(uploadConversionAdjustments.safeParse(call.body).success).toBe(true);
    expect(() => buildDeletionCall('google', DEFAULT_ENDPOINTS.google, old('gbraid'), google, new Date())).toThrow(/order id/);
  });

  it('Microsoft export and retraction: documented JSON, one authentication, same ConversionTime', () => {
    const exp = buildPlatformRequest('microsoft', ev('msclkid', 'MS-1'), microsoft, DEFAULT_ENDPOINTS.microsoft);
    const del = buildDeletionCall(
      'microsoft',
      DEFAULT_ENDPOINTS.microsoft,
      [{ clickKind: 'msclkid', clickId: 'MS-1', event: 'Purchase', occurredAt: at.toISOString() }],
      microsoft,
      new Date(at.getTime() + 86_400_000),
    );
    expect(offlineConversions.safeParse(exp.body).error?.issues ?? []).toEqual([]);
    expect(offlineConversionAdjustments.safeParse(del.body).error?.issues ?? []).toEqual([]);
    expect(microsoftHeaders.parse(exp.headers)).toBeTruthy();
    const { 'content-type': _ct, ...delAuth } = del.headers;
    expect(delAuth).toEqual(exp.headers); // one authentication for both calls
    const t = (b: unknown, k: string) => (b as Record<string, Array<{ ConversionTime: string }>>)[k][0].ConversionTime;
    expect(t(del.body, 'OfflineConversionAdjustments')).toBe(t(exp.body, 'OfflineConversions'));
  });

  it('Meta CAPI for a Click-to-WhatsApp conversation and a site click', () => {
    for (const [kind, id] of [
      ['ctwa_clid', 'ARAk1'],
      ['fbclid', 'IwAR1'],
    ]) {
      const r = buildPlatformRequest('meta', ev(kind, id), { accessToken: 't', datasetId: '42', wabaId: '7' }, 'https://m/{datasetId}');
      expect(metaEvents.safeParse(r.body).error?.issues ?? []).toEqual([]);
    }
  });

  it('TikTok Events API 2.0', () => {
    const r = buildPlatformRequest('tiktok', ev('ttclid', 'E.C.P.x'), { accessToken: 'a', eventSourceId: 'PIX' }, 'https://t');
    expect(tiktokEvents.safeParse(r.body).error?.issues ?? []).toEqual([]);
    expect(r.headers).toEqual({ 'Access-Token': 'a' });
  });

  it('LinkedIn Conversions API with its versioned headers', () => {
    const r = buildPlatformRequest('linkedin', ev('li_fat_id', 'li-1'), { accessToken: 'a', conversionRuleId: '77' }, 'https://l');
    expect(linkedinEvent.safeParse(r.body).error?.issues ?? []).toEqual([]);
    expect(linkedinHeaders.safeParse(r.headers).error?.issues ?? []).toEqual([]);
  });

  it('the shapes reject what the old code sent (proof they can fail)', () => {
    // Old retraction: a gbraid sent as gclid in gclidDateTimePair is indistinguishable, but a gbraid field is not allowed.
    expect(
      conversionAdjustment.safeParse({
        adjustmentType: 'RETRACTION',
        conversionAction: 'customers/1/conversionActions/2',
        adjustmentDateTime: '2026-01-01 00:00:00+00:00',
        gbraid: 'x',
      }).success,
    ).toBe(false);
    // Old Microsoft export: ConversionTime fine, but the SOAP header name was used over REST.
    expect(
      microsoftHeaders.safeParse({ AuthenticationToken: 'a', DeveloperToken: 'd', CustomerId: '1', CustomerAccountId: '2' }).success,
    ).toBe(false);
    // Old retraction ConversionTime with milliseconds differs from the exported one.
    expect(msTime.safeParse('2026-11-20T09:08:07.654Z').success).toBe(false);
  });
});
