import type { Pools } from '../db/pools.ts';
import type { AuditEventInput, AuditLog, SeriesEvent } from './audit-types.ts';
import { toAppendRow } from './audit-validation.ts';
import { createBatcher, type Batcher, type BatcherOptions } from './audit-batcher.ts';
import { createSeriesWriter, seriesTemplate, type SeriesWriter } from './audit-series.ts';
import type { TranscriptLink } from './transcript-chain.ts';
import { createTranscriptWriter, type TranscriptWriter } from './transcript-writer.ts';

/**
 * The single entry point every service uses to write audit events.
 * Workspace events go to the workspace's stream in its regional database,
 * platform events to the control database. Validation happens before
 * queueing (a refused event rejects at once); concurrent appends to the same
 * database are group-committed (see audit-batcher.ts). `append` resolves
 * only when the event is durable. `series` is the cheap path for many events
 * that share their fields (see audit-series.ts).
 */
export function createAuditLog(deps: { pools: Pick<Pools, 'control' | 'region'>; batching?: BatcherOptions }): AuditLog {
  const poolFor = (database: string) => (database === 'control' ? deps.pools.control : deps.pools.region(database as 'eu' | 'us'));
  const batchers = new Map<string, Batcher>();
  const batcherFor = (database: string): Batcher => {
    let b = batchers.get(database);
    if (!b) {
      b = createBatcher(poolFor(database), deps.batching);
      batchers.set(database, b);
    }
    return b;
  };
  const writers = new Map<string, SeriesWriter>();
  const writerFor = (database: string): SeriesWriter => {
    let w = writers.get(database);
    if (!w) {
      w = createSeriesWriter(poolFor(database));
      writers.set(database, w);
    }
    return w;
  };
  const transcripts = new Map<string, TranscriptWriter>();
  const transcriptWriterFor = (database: string): TranscriptWriter => {
    let w = transcripts.get(database);
    if (!w) {
      w = createTranscriptWriter(poolFor(database));
      transcripts.set(database, w);
    }
    return w;
  };
  return {
    async append(event: AuditEventInput) {
      const { database, row } = toAppendRow(event);
      await batcherFor(database).push(row);
    },
    series(template) {
      const { database, row } = toAppendRow({ ...template, outcome: 'success' });
      const t = seriesTemplate(row);
      const writer = writerFor(database);
      const header = [
        row.actorKind,
        row.actorId,
        row.actorRole ?? null,
        row.actorName ?? null,
        row.reason ?? null,
        row.clientIp ?? null,
      ] as const;
      // A transcript belongs to the series' workspace stream and session, and records what the event says.
      const misfit = (link: TranscriptLink, event: SeriesEvent): string | undefined =>
        database === 'control' || link.streamId !== row.streamId || link.sessionId !== row.sessionId
          ? 'a transcript record belongs to its series’ workspace and session'
          : link.outcome !== event.outcome
            ? 'the transcript record’s outcome differs from the event'
            : undefined;
      return {
        append: (event) => {
          const link = event.transcript;
          if (!link) return writer.push(t, event);
          const wrong = misfit(link, event);
          if (wrong) return Promise.reject(new TypeError(wrong));
          return transcriptWriterFor(database).push(link, header, event.lazy === true);
        },
        replace: (previous, event) => {
          const link = event.transcript;
          if (misfit(link, event) || link.transcriptId !== previous.transcriptId || link.seq !== previous.seq) return false;
          return transcriptWriterFor(database).replace(previous, link);
        },
        waiting: (link) => database !== 'control' && transcriptWriterFor(database).waiting(link),
      };
    },
  };
}
