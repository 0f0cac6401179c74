import type { Config } from '../shared/config/config.ts';

/** Ingest's own settings, read once from the validated configuration. */
export interface IngestSettings {
  publicUrl?: string;
  bodyLimitBytes: number;
  conversationWindowMs: number;
  attributionWindowMs: number;
  birdToleranceMs: number;
  writerMaxBatch: number;
  cacheTtlMs: number;
  export: {
    enabled: boolean;
    queue: string;
    retryLimit: number;
    retryDelaySeconds: number;
    timeoutMs: number;
    urls: Record<'meta' | 'google' | 'microsoft' | 'tiktok' | 'linkedin', string>;
  };
}

export function ingestSettings(config: Config): IngestSettings {
  const r = config.raw;
  return {
    publicUrl: r.INGEST_PUBLIC_URL?.replace(/\/+$/, ''),
    bodyLimitBytes: r.INGEST_BODY_LIMIT_BYTES,
    conversationWindowMs: r.INGEST_CONVERSATION_WINDOW_HOURS * 3600_000,
    attributionWindowMs: r.INGEST_ATTRIBUTION_WINDOW_DAYS * 86_400_000,
    birdToleranceMs: r.INGEST_BIRD_TOLERANCE_SECONDS * 1000,
    writerMaxBatch: r.INGEST_WRITER_MAX_BATCH,
    cacheTtlMs: r.INGEST_WORKSPACE_CACHE_SECONDS * 1000,
    export: {
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
    },
  };
}
