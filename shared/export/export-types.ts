import type { AdPlatform } from '../workspaces/platform-credentials/platform-credentials-types.ts';

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

/** The encrypted column of each click-id kind on wact.clicks (what conversions match on and exports read). */
export const CLICK_COLUMNS: Record<string, string> = {
  fbclid: 'fbclid_enc',
  gclid: 'gclid_enc',
  gbraid: 'gbraid_enc',
  wbraid: 'wbraid_enc',
  msclkid: 'msclkid_enc',
  ttclid: 'ttclid_enc',
  li_fat_id: 'li_fat_id_enc',
  ctwa_clid: 'ctwa_clid_enc',
};
