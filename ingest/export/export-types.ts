import { z } from 'zod';
import { knownSunset, LINKEDIN_VERSION } from '../../shared/platforms/platform-contracts.ts';

export const AD_PLATFORMS = ['meta', 'google', 'microsoft', 'tiktok', 'linkedin'] as const;
export type AdPlatform = (typeof AD_PLATFORMS)[number];

/** What a payload builder gets: one conversion and the one click id that platform understands. */
export interface ExportEvent {
  eventId: string; // our conversion id: the platforms' deduplication key
  event: string;
  value?: number;
  currency?: string;
  occurredAt: Date;
  clickKind: string;
  clickId: string;
  clickAt: Date;
}

/** A built request: the sender adds nothing but transport. */
export interface PlatformRequest {
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

/** Per-platform credentials as stored (encrypted JSON). */
export const platformCredentialSchemas = {
  meta: z.object({
    accessToken: z.string().min(1),
    datasetId: z.string().regex(/^\d{1,30}$/),
    wabaId: z
      .string()
      .regex(/^\d{1,30}$/)
      .optional(),
    testEventCode: z.string().max(64).optional(),
  }),
  google: z.object({
    accessToken: z.string().min(1),
    developerToken: z.string().min(1),
    customerId: z.string().regex(/^\d{10}$/),
    conversionActionId: z.string().regex(/^\d{1,20}$/),
    loginCustomerId: z
      .string()
      .regex(/^\d{10}$/)
      .optional(),
  }),
  microsoft: z.object({
    accessToken: z.string().min(1),
    developerToken: z.string().min(1),
    customerId: z.string().regex(/^\d{1,20}$/),
    customerAccountId: z.string().regex(/^\d{1,20}$/),
    conversionName: z.string().min(1).max(100),
  }),
  tiktok: z.object({
    accessToken: z.string().min(1),
    eventSourceId: z.string().min(1).max(64),
    testEventCode: z.string().max(64).optional(),
  }),
  linkedin: z.object({
    accessToken: z.string().min(1),
    conversionRuleId: z.string().regex(/^\d{1,20}$/),
    version: z
      .string()
      .regex(/^\d{6}$/)
      .refine((v) => !knownSunset('linkedin', v), 'this LinkedIn-Version is sunset (see docs/platforms.md)')
      .default(LINKEDIN_VERSION),
  }),
} as const;

export type PlatformCredentials<P extends AdPlatform> = z.infer<(typeof platformCredentialSchemas)[P]>;

/** Which click-id kinds each platform can take, in order of preference. */
export const PLATFORM_CLICK_KINDS: Record<AdPlatform, string[]> = {
  meta: ['ctwa_clid', 'fbclid'],
  google: ['gclid', 'gbraid', 'wbraid'],
  microsoft: ['msclkid'],
  tiktok: ['ttclid'],
  linkedin: ['li_fat_id'],
};

/** Fills {placeholders} of a configured endpoint URL from credential fields (URL-encoded). */
export function endpoint(template: string, fields: Record<string, unknown>): string {
  return template.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(String(fields[k] ?? '')));
}
