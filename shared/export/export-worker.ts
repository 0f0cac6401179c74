import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AuditLog } from '../audit/audit-types.ts';
import type { Region } from '../config/config.ts';
import type { FieldCrypto } from '../crypto/field-cipher.ts';
import type { WorkspaceDirectory } from '../workspaces/workspace-directory.ts';
import type { AdPlatform } from '../workspaces/platform-credentials/platform-credentials-types.ts';
import { CLICK_COLUMNS } from './export-types.ts';
import { buildPlatformRequest } from './payload-builders.ts';
import type { ExportSender } from './export-sender.ts';
import type { PlatformCredentialService } from '../workspaces/platform-credentials/platform-credentials-service.ts';

export const EXPORTER_ACTOR = { id: 'service:exporter', kind: 'service' as const, role: 'exporter', displayName: 'ad-platform exporter' };

const jobData = z.object({ workspaceId: z.string().uuid(), exportJobId: z.string().uuid() });

/** Thrown to make pg-boss retry (with its backoff). Carries no identifiers. */
export class RetryableExportError extends Error {
  constructor(code: string) {
    super(`export attempt failed (${code}); will retry`);
    this.name = 'RetryableExportError';
  }
}

/**
 * One export job: audit the read first (fail closed: no audit, no read),
 * read the conversion and decrypt the one click id the platform needs and the
 * platform credentials, build the platform's payload, send it to the
 * configured endpoint, append the attempt. 2xx → done; 4xx (other than
 * 408/429) → rejected, not retried; anything else → pg-boss retries.
 */
export function createExportWorker(deps: {
  poolFor: (region: Region) => pg.Pool;
  directory: WorkspaceDirectory;
  audit: AuditLog;
  crypto: FieldCrypto;
  platforms: Pick<PlatformCredentialService, 'get'>;
  sender: ExportSender;
  urls: Record<AdPlatform, string>;
  logger?: Pick<Logger, 'info' | 'warn'>;
}) {
  async function run(data: unknown): Promise<'sent' | 'rejected' | 'skipped'> {
    const { workspaceId, exportJobId } = jobData.parse(data);
    const ws = await deps.directory.resolve(workspaceId);
    const pool = deps.poolFor(ws.region);
    const { rows } = await pool.query<{
      platform: AdPlatform;
      click_kind: string;
      conversion_id: string;
    }>('SELECT platform, click_kind, conversion_id FROM wact.export_jobs WHERE id = $1 AND workspace_id = $2', [exportJobId, ws.id]);
    const job = rows[0];
    if (!job) return 'skipped';
    await deps.audit.append({
      action: 'data.read',
      actor: EXPORTER_ACTOR,
      workspaceId: ws.id,
      region: ws.region,
      target: { type: 'export_job', id: exportJobId },
      reason: `conversion export to ${job.platform}`,
      outcome: 'success',
      metadata: { platform: job.platform, clickKind: job.click_kind },
    });
    const column = CLICK_COLUMNS[job.click_kind];
    const conv = await pool.query<{
      event: string;
      value: string | null;
      currency: string | null;
      occurred_at: Date;
      click_id: string;
      click_created_at: Date;
      enc: Buffer | null;
    }>(
      `SELECT v.event, v.value, v.currency, v.occurred_at, v.click_id, v.click_created_at, c.${column} AS enc
         FROM wact.conversions v
         JOIN wact.clicks c ON c.workspace_id = v.workspace_id AND c.id = v.click_id AND c.created_at = v.click_created_at
        WHERE v.workspace_id = $1 AND v.id = $2`,
      [ws.id, job.conversion_id],
    );
    const row = conv.rows[0];
    const credentials = await deps.platforms.get(ws, job.platform);
    if (!row?.enc || !credentials) {
      await recordAttempt(pool, ws.id, exportJobId, 'rejected', null, !row?.enc ? 'click_missing' : 'platform_not_connected');
      return 'rejected';
    }
    const clickId = await deps.crypto.decryptString(ws.id, ws.region, { table: 'clicks', column }, row.enc);
    let request;
    try {
      request = buildPlatformRequest(
        job.platform,
        {
          eventId: job.conversion_id,
          event: row.event,
          value: row.value === null ? undefined : Number(row.value),
          currency: row.currency ?? undefined,
          occurredAt: row.occurred_at,
          clickKind: job.click_kind,
          clickId,
          clickAt: row.click_created_at,
        },
        credentials,
        deps.urls[job.platform],
      );
    } catch {
      await recordAttempt(pool, ws.id, exportJobId, 'rejected', null, 'invalid_credentials');
      return 'rejected';
    }
    const outcome = await deps.sender.send(request);
    if (outcome.ok) {
      await recordAttempt(pool, ws.id, exportJobId, 'sent', outcome.status, null);
      return 'sent';
    }
    await recordAttempt(pool, ws.id, exportJobId, outcome.retryable ? 'failed' : 'rejected', outcome.status, outcome.errorCode ?? null);
    if (outcome.retryable) throw new RetryableExportError(outcome.errorCode ?? 'failed');
    deps.logger?.warn({ platform: job.platform, status: outcome.status, exportJobId }, 'ad platform rejected an export');
    return 'rejected';
  }

  async function recordAttempt(
    pool: pg.Pool,
    workspaceId: string,
    exportJobId: string,
    outcome: 'sent' | 'failed' | 'rejected',
    status: number | null,
    errorCode: string | null,
  ) {
    await pool.query(
      `INSERT INTO wact.export_attempts (id, workspace_id, export_job_id, attempt, outcome, http_status, error_code)
       SELECT $1, $2, $3, count(*) + 1, $4, $5, $6 FROM wact.export_attempts WHERE export_job_id = $3`,
      [randomUUID(), workspaceId, exportJobId, outcome, status, errorCode],
    );
  }

  return { run };
}

export type ExportWorker = ReturnType<typeof createExportWorker>;
