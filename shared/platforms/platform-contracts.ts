/**
 * The one table of ad-platform API versions and endpoints WAct calls by
 * default, with each version's published sunset date and where that date comes
 * from. Export defaults (shared/config/config-schema.ts), deletion defaults
 * (shared/lifecycle/deletion-platforms.ts) and the LinkedIn version header are
 * read from here; test/ingest/export/platform-contracts.test.ts fails when a
 * default is past its sunset (or past its review date when the platform has not
 * announced one) on the day the test runs. docs/platforms.md explains the table.
 *
 * Checked 2026-12-02 against the sources named per row.
 */

export interface ApiContract {
  platform: 'meta' | 'google' | 'microsoft' | 'tiktok' | 'linkedin';
  /** What we call. */
  api: string;
  version: string;
  /** Default endpoint ({placeholders} from the workspace's credentials). */
  endpoint: string;
  /** Published sunset (YYYY-MM-DD), or null when the platform has announced none. */
  sunset: string | null;
  /** Where the sunset date (or the absence of one) was read. */
  sunsetSource: string;
  /**
   * When no sunset is announced: the date by which the row must be re-checked,
   * derived from the platform's published support policy (noted in `policy`).
   */
  reviewBy?: string;
  policy?: string;
  /** Request format and header facts. */
  source: string;
}

export const GOOGLE_ADS_VERSION = 'v26';
export const META_GRAPH_VERSION = 'v27.0';
export const LINKEDIN_VERSION = '202603';

export const API_CONTRACTS: readonly ApiContract[] = [
  {
    platform: 'meta',
    api: 'Conversions API (Marketing API) POST /{dataset}/events',
    version: META_GRAPH_VERSION,
    endpoint: `https://graph.facebook.com/${META_GRAPH_VERSION}/{datasetId}/events`,
    sunset: null,
    sunsetSource:
      'https://developers.facebook.com/documentation/ads-commerce/marketing-api/marketing-api-changelog/versions.md (v27.0 released November 4, 2026, expiration "TBD")',
    reviewBy: '2027-11-04',
    policy:
      'same page: Marketing API versions expire about a year after release (v24.0 Oct 8 2025 → Nov 10 2026; v25.0 Feb 18 2026 → Feb 23 2027)',
    source: 'https://developers.facebook.com/docs/marketing-api/conversions-api/parameters/server-event/',
  },
  {
    platform: 'google',
    api: 'Google Ads ConversionUploadService.UploadClickConversions',
    version: GOOGLE_ADS_VERSION,
    endpoint: `https://googleads.googleapis.com/${GOOGLE_ADS_VERSION}/customers/{customerId}:uploadClickConversions`,
    sunset: null,
    sunsetSource:
      'https://developers.google.com/google-ads/api/reference/rpc/v24/UploadClickConversionsRequest.md.txt ("The latest active version is v26"); v26 reference pages last updated 2026-10-13; no v26 sunset published',
    reviewBy: '2027-10-13',
    policy: 'https://developers.google.com/google-ads/api/docs/sunset-dates: "Major versions have a lifespan of around 12 months"',
    source: 'https://developers.google.com/google-ads/api/reference/rpc/v26/UploadClickConversionsRequest',
  },
  {
    platform: 'google',
    api: 'Google Ads ConversionAdjustmentUploadService.UploadConversionAdjustments (RETRACTION)',
    version: GOOGLE_ADS_VERSION,
    endpoint: `https://googleads.googleapis.com/${GOOGLE_ADS_VERSION}/customers/{customerId}:uploadConversionAdjustments`,
    sunset: null,
    sunsetSource: 'as UploadClickConversions (same API version)',
    reviewBy: '2027-10-13',
    policy: 'as UploadClickConversions',
    source: 'https://developers.google.com/google-ads/api/reference/rpc/latest/ConversionAdjustment',
  },
  {
    platform: 'microsoft',
    api: 'Microsoft Advertising Campaign Management ApplyOfflineConversions (REST)',
    version: 'v13',
    endpoint: 'https://campaign.api.bingads.microsoft.com/CampaignManagement/v13/OfflineConversions/Apply',
    sunset: null,
    sunsetSource:
      'MicrosoftDocs/Advertising advertising/bingads-13/campaign-management-service/applyofflineconversions.md (v13 REST production URL; no sunset announced)',
    reviewBy: '2027-12-01',
    policy: 'no published lifespan: re-check yearly',
    source: 'https://learn.microsoft.com/en-us/advertising/campaign-management-service/applyofflineconversions?view=bingads-13',
  },
  {
    platform: 'microsoft',
    api: 'Microsoft Advertising Campaign Management ApplyOfflineConversionAdjustments (REST, Retract)',
    version: 'v13',
    endpoint: 'https://campaign.api.bingads.microsoft.com/CampaignManagement/v13/OfflineConversionAdjustments/Apply',
    sunset: null,
    sunsetSource: 'MicrosoftDocs/Advertising advertising/bingads-13/campaign-management-service/applyofflineconversionadjustments.md',
    reviewBy: '2027-12-01',
    policy: 'no published lifespan: re-check yearly',
    source: 'https://learn.microsoft.com/en-us/advertising/campaign-management-service/applyofflineconversionadjustments?view=bingads-13',
  },
  {
    platform: 'tiktok',
    api: 'TikTok Events API 2.0 POST /event/track/',
    version: 'v1.3',
    endpoint: 'https://business-api.tiktok.com/open_api/v1.3/event/track/',
    sunset: null,
    sunsetSource: 'no sunset of Business API v1.3 found in TikTok or connector documentation (docs.tealium.com TikTok Events connector)',
    reviewBy: '2027-06-01',
    policy: 'no published lifespan: re-check every six months (weakest-sourced row, see docs/platforms.md)',
    source: 'https://docs.tealium.com/server-side-connectors/tiktok-events-connector/',
  },
  {
    platform: 'linkedin',
    api: 'LinkedIn Conversions API POST /rest/conversionEvents',
    version: LINKEDIN_VERSION,
    endpoint: 'https://api.linkedin.com/rest/conversionEvents',
    sunset: '2027-03-16',
    sunsetSource:
      'https://learn.microsoft.com/it-it/linkedin/marketing/integrations/migrations ("version 202603 (March 2026) … March 16, 2027 | Active")',
    policy:
      'https://learn.microsoft.com/it-it/linkedin/marketing/versioning: versions "are supported and stable for a minimum of one year before sunset"',
    source:
      'https://learn.microsoft.com/en-us/linkedin/marketing/versioning (LinkedIn-Version: YYYYMM; base path https://api.linkedin.com/rest/)',
  },
];

/**
 * Versions already sunset, with the published dates: a default or a workspace
 * override naming one of these fails at the platform.
 */
export const SUNSET_VERSIONS: ReadonlyArray<{ platform: ApiContract['platform']; version: string; sunset: string; source: string }> = [
  {
    platform: 'google',
    version: 'v18',
    sunset: '2025-08-20',
    source: 'https://developers.google.com/ads/blog/posts/2025/07/google-ads-api-v18-sunset-reminder',
  },
  {
    platform: 'google',
    version: 'v19',
    sunset: '2026-02-11',
    source: 'https://developers.google.com/ads/blog/posts/2025/12/google-ads-api-v19-sunset-reminder',
  },
  {
    platform: 'google',
    version: 'v20',
    sunset: '2026-06-10',
    source: 'https://developers.google.com/ads/blog/posts/2026/04/google-ads-api-v20-sunset-reminder',
  },
  {
    platform: 'google',
    version: 'v21',
    sunset: '2026-08-05',
    source: 'https://developers.google.com/ads/blog/posts/2026/06/google-ads-api-v21-sunset-reminder',
  },
  {
    platform: 'google',
    version: 'v22',
    sunset: '2026-10-07',
    source: 'https://developers.google.com/ads/blog/posts/2026/09/google-ads-api-v22-sunset-reminder',
  },
  {
    platform: 'meta',
    version: 'v22.0',
    sunset: '2026-02-19',
    source: 'https://developers.facebook.com/documentation/ads-commerce/marketing-api/marketing-api-changelog/versions.md',
  },
  {
    platform: 'meta',
    version: 'v23.0',
    sunset: '2026-06-09',
    source: 'https://developers.facebook.com/documentation/ads-commerce/marketing-api/marketing-api-changelog/versions.md',
  },
  {
    platform: 'meta',
    version: 'v24.0',
    sunset: '2026-11-10',
    source: 'https://developers.facebook.com/documentation/ads-commerce/marketing-api/marketing-api-changelog/versions.md',
  },
  {
    platform: 'linkedin',
    version: '202510',
    sunset: '2026-10-15',
    source: 'https://learn.microsoft.com/it-it/linkedin/marketing/integrations/migrations',
  },
  {
    platform: 'linkedin',
    version: '202511',
    sunset: '2026-11-16',
    source: 'https://learn.microsoft.com/it-it/linkedin/marketing/integrations/migrations',
  },
];

/** The date after which a contract must not be used any more: its sunset, or its review date. */
export function contractDeadline(c: Pick<ApiContract, 'sunset' | 'reviewBy'>): string {
  return c.sunset ?? c.reviewBy ?? '1970-01-01'; // a row with neither fails closed
}

/** The known sunset of a version named in a URL or header, if it is one of the sunset ones. */
export function knownSunset(platform: ApiContract['platform'], version: string): string | undefined {
  return SUNSET_VERSIONS.find((s) => s.platform === platform && s.version === version)?.sunset;
}

export function contractFor(platform: ApiContract['platform'], apiIncludes: string): ApiContract {
  const c = API_CONTRACTS.find((x) => x.platform === platform && x.api.includes(apiIncludes));
  if (!c) throw new Error(`no API contract for ${platform} ${apiIncludes}`);
  return c;
}

// ---------------------------------------------------------------------------
// Request facts shared by export (shared/export) and retraction (shared/lifecycle).

/** Google wants "yyyy-mm-dd hh:mm:ss+|-hh:mm" with the offset; we always send UTC. */
export function googleDateTime(d: Date): string {
  const iso = d.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}+00:00`;
}

/**
 * Microsoft ConversionTime / AdjustmentTime: UTC xs:dateTime without fractions.
 * Export and retraction must format the conversion time identically: Microsoft
 * identifies the conversion to retract by MicrosoftClickId + ConversionName + ConversionTime.
 */
export function microsoftDateTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The one Microsoft Advertising authentication, for export and deletion alike.
 * The REST request header table of the Bing Ads API v13 documents `Authorization`
 * carrying the OAuth access token "prefixed with 'Bearer '" plus DeveloperToken,
 * CustomerId and CustomerAccountId (MicrosoftDocs/Advertising
 * advertising/bingads-13/customer-management-service/includes/request-header-rest.md;
 * `AuthenticationToken` is the SOAP header element).
 */
export function microsoftHeaders(creds: {
  accessToken?: string;
  developerToken?: string;
  customerId?: string;
  customerAccountId?: string;
}): Record<string, string> {
  const h: Record<string, string> = {};
  if (creds.accessToken) h.Authorization = `Bearer ${creds.accessToken}`;
  if (creds.developerToken) h.DeveloperToken = creds.developerToken;
  if (creds.customerId) h.CustomerId = creds.customerId;
  if (creds.customerAccountId) h.CustomerAccountId = creds.customerAccountId;
  return h;
}

/** Google Ads REST headers (https://developers.google.com/google-ads/api/rest/auth). */
export function googleHeaders(creds: { accessToken?: string; developerToken?: string; loginCustomerId?: string }): Record<string, string> {
  const h: Record<string, string> = {};
  if (creds.accessToken) h.authorization = `Bearer ${creds.accessToken}`;
  if (creds.developerToken) h['developer-token'] = creds.developerToken;
  if (creds.loginCustomerId) h['login-customer-id'] = creds.loginCustomerId;
  return h;
}

export const GOOGLE_CLICK_ID_FIELDS = ['gclid', 'gbraid', 'wbraid'] as const;
