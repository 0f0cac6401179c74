import { z } from 'zod';

/**
 * The BSPs a workspace can connect. The names are part of the workspace's
 * settings (CLI, console, broker) as much as of ingest's webhook URLs, so they
 * live here; ingest's parsers re-export them (ingest/providers/provider-types.ts).
 */
export const PROVIDERS = ['meta', 'twilio', '360dialog', 'bird', 'gupshup'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export function isProviderName(value: string): value is ProviderName {
  return (PROVIDERS as readonly string[]).includes(value);
}

/** The per-workspace secret material a webhook verifier needs. */
export interface ProviderSecret {
  secret: string;
  verifyToken?: string;
}

/** What a listing shows of a stored secret: names and dates, never the secret. */
export interface BspCredentialSummary {
  provider: ProviderName;
  verifyToken: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export const bspCredentialInput = z.object({
  provider: z.enum(PROVIDERS),
  secret: z.string().min(8, 'secret must be at least 8 characters').max(1024),
  verifyToken: z.string().min(8).max(256).optional(),
});
