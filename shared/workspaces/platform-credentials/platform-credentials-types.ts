import { z } from 'zod';
import { knownSunset, LINKEDIN_VERSION } from '../../platforms/platform-contracts.ts';

export const AD_PLATFORMS = ['meta', 'google', 'microsoft', 'tiktok', 'linkedin'] as const;
export type AdPlatform = (typeof AD_PLATFORMS)[number];

export function isAdPlatform(value: string): value is AdPlatform {
  return (AD_PLATFORMS as readonly string[]).includes(value);
}

/** What a listing shows of stored credentials: names and dates, never a token. */
export interface PlatformCredentialSummary {
  platform: AdPlatform;
  createdAt: Date;
  updatedAt: Date;
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
