import type { Config } from '../shared/config/config.ts';
import { exportSettings, type ExportSettings } from '../shared/export/export-settings.ts';

/** Ingest's own settings, read once from the validated configuration. */
export interface IngestSettings {
  publicUrl?: string;
  bodyLimitBytes: number;
  conversationWindowMs: number;
  attributionWindowMs: number;
  birdToleranceMs: number;
  writerMaxBatch: number;
  cacheTtlMs: number;
  export: ExportSettings;
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
    export: exportSettings(config),
  };
}
