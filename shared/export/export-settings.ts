import type { Config } from '../config/config.ts';
import type { AdPlatform } from '../workspaces/platform-credentials/platform-credentials-types.ts';

/** The ad-platform export's settings: ingest queues with them, the worker sends with them. */
export interface ExportSettings {
  enabled: boolean;
  queue: string;
  retryLimit: number;
  retryDelaySeconds: number;
  timeoutMs: number;
  urls: Record<AdPlatform, string>;
}

export function exportSettings(config: Config): ExportSettings {
  const r = config.raw;
  return {
    enabled: r.EXPORT_ENABLED,
    queue: r.EXPORT_QUEUE,
    retryLimit: r.EXPORT_RETRY_LIMIT,
    retryDelaySeconds: r.EXPORT_RETRY_DELAY_SECONDS,
    timeoutMs: r.EXPORT_TIMEOUT_MS,
    urls: {
      meta: r.EXPORT_URL_META,
      google: r.EXPORT_URL_GOOGLE,
      microsoft: r.EXPORT_URL_MICROSOFT,
      tiktok: r.EXPORT_URL_TIKTOK,
      linkedin: r.EXPORT_URL_LINKEDIN,
    },
  };
}
