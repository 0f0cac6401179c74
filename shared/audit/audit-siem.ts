import { PassThrough } from 'node:stream';
import type pg from 'pg';
import { z } from 'zod';
import type { Region } from '../config/config.ts';
import type { FieldCrypto } from '../crypto/field-cipher.ts';
import { BadRequestError } from '../errors/errors.ts';
import { describeOutbound, type OutboundClient } from '../http/outbound-client.ts';
import { exportAuditStream } from './audit-export.ts';
import type { AuditParts } from './audit-platform.ts';
import type { AuditEventInput } from './audit-types.ts';

export const SIEM_ACTOR: AuditEventInput['actor'] = {
  id: 'service:broker-siem',
  kind: 'service',
  role: 'siem-push',
  displayName: 'SIEM push',
};
const AUTH_CTX = { table: 'audit_siem_destinations', column: 'auth_header' };
const MAX_EVENTS_PER_PUSH = 50_000;
const MAX_BACKOFF_SECONDS = 3600;

export const siemInput = z.object({
  url: z.string().trim().max(2000).url(),
  format: z.enum(['jsonl', 'csv']).default('jsonl'),
  /** The Authorization header the SIEM expects (e.g. "Bearer …", "Splunk …"). Omitted: keep; null: remove. */
  authorization: z.string().min(1).max(2000).nullish(),
  intervalSeconds: z.coerce.number().int().min(60).max(86400).default(300),
  enabled: z.boolean().default(true),
});

/**
 * Early feedback when a destination is configured: https, no credentials in the
 * URL, and a name that resolves to public addresses only (unless the development
 * allow-list says otherwise). The real check runs again on every push, when the
 * outbound client connects (shared/http/outbound-client.ts): DNS can change.
 */
export async function checkDestination(raw: string, outbound: OutboundClient): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new BadRequestError('the SIEM URL is not a URL', 'invalid_siem_url');
  }
  if (url.protocol !== 'https:') throw new BadRequestError('the SIEM URL must use https', 'invalid_siem_url');
  if (url.username || url.password)
    throw new BadRequestError('put credentials in the authorization field, not the URL', 'invalid_siem_url');
  const verdict = await outbound.precheck(url.href);
  if (!verdict.allowed)
    throw new BadRequestError('the SIEM host is, or resolves to, a private or loopback (non-public) address', 'invalid_siem_url');
  return url;
}

/** A push failure whose text may be shown to the customer (a category, never a socket error). */
class PushFailure extends Error {}

interface DestinationRow {
  workspace_id: string;
  url: string;
  format: 'jsonl' | 'csv';
  auth_header: Buffer | null;
  interval_seconds: number;
  enabled: boolean;
  last_pushed_seq: string;
  failures: number;
  last_error: string | null;
  last_success_at: Date | null;
  next_attempt_at: Date;
}

export interface SiemDeps {
  parts: AuditParts;
  fieldCrypto: FieldCrypto;
  /** The customer-destination client: address checked at connect time, no redirects, categorised failures. */
  outbound: OutboundClient;
  log?: (msg: string, extra?: Record<string, unknown>) => void;
}

/** Scheduled push of each workspace's new audit events to the customer's SIEM, with backoff. */
export function createSiemService(deps: SiemDeps) {
  const pool = (region: Region): pg.Pool => deps.parts.poolFor(region);

  async function configure(ws: { id: string; region: Region }, input: z.input<typeof siemInput>) {
    const v = siemInput.parse(input);
    await checkDestination(v.url, deps.outbound);
    const auth = v.authorization ? await deps.fieldCrypto.encrypt(ws.id, ws.region, AUTH_CTX, v.authorization) : null;
    await pool(ws.region).query(
      `INSERT INTO wact.audit_siem_destinations (workspace_id, url, format, auth_header, interval_seconds, enabled, next_attempt_at)
       VALUES ($1, $2, $3, $4, $5, $6, now())
       ON CONFLICT (workspace_id) DO UPDATE SET url = EXCLUDED.url, format = EXCLUDED.format,
         auth_header = CASE WHEN $7 THEN EXCLUDED.auth_header ELSE wact.audit_siem_destinations.auth_header END,
         interval_seconds = EXCLUDED.interval_seconds, enabled = EXCLUDED.enabled, failures = 0, last_error = NULL,
         next_attempt_at = now(), updated_at = now()`,
      [ws.id, v.url, v.format, auth, v.intervalSeconds, v.enabled, v.authorization !== undefined],
    );
    return get(ws);
  }

  async function get(ws: { id: string; region: Region }) {
    const { rows } = await pool(ws.region).query<DestinationRow>('SELECT * FROM wact.audit_siem_destinations WHERE workspace_id = $1', [
      ws.id,
    ]);
    const r = rows[0];
    if (!r) return null;
    return {
      url: r.url,
      format: r.format,
      hasAuthorization: r.auth_header !== null,
      intervalSeconds: r.interval_seconds,
      enabled: r.enabled,
      lastPushedSeq: r.last_pushed_seq,
      failures: r.failures,
      lastError: r.last_error,
      lastSuccessAt: r.last_success_at?.toISOString() ?? null,
      nextAttemptAt: r.next_attempt_at.toISOString(),
    };
  }

  async function remove(ws: { id: string; region: Region }): Promise<void> {
    await pool(ws.region).query('DELETE FROM wact.audit_siem_destinations WHERE workspace_id = $1', [ws.id]);
  }

  /** One delivery; resolves to what happened (never throws for a failing SIEM). */
  async function pushOne(region: Region, r: DestinationRow): Promise<{ workspaceId: string; ok: boolean; events: number; error?: string }> {
    const db = pool(region);
    // Nothing new except our own previous push events: nothing to send.
    const news = await db.query(
      `SELECT 1 FROM audit.events WHERE stream_id = $1 AND seq > $2 AND NOT (action = 'audit.export' AND actor_id = $3) LIMIT 1`,
      [r.workspace_id, r.last_pushed_seq, SIEM_ACTOR.id],
    );
    if (!news.rowCount) {
      await db.query(
        `UPDATE wact.audit_siem_destinations SET next_attempt_at = now() + make_interval(secs => interval_seconds) WHERE workspace_id = $1`,
        [r.workspace_id],
      );
      return { workspaceId: r.workspace_id, ok: true, events: 0 };
    }
    let events = 0;
    let lastSeq: string | null = null;
    try {
      const url = await checkDestination(r.url, deps.outbound).catch(() => {
        throw new PushFailure('destination not allowed (not a public https address)');
      });
      // The push is an export: recorded (durably) before anything leaves.
      await deps.parts.audit.append({
        action: 'audit.export',
        actor: SIEM_ACTOR,
        workspaceId: r.workspace_id,
        region,
        target: { type: 'audit_log', id: r.workspace_id },
        reason: 'scheduled SIEM push configured by the workspace',
        outcome: 'success',
        metadata: { destination: url.host, format: r.format, afterSeq: r.last_pushed_seq },
      });
      const headers: Record<string, string> = { 'content-type': r.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson' };
      if (r.auth_header) headers.authorization = await deps.fieldCrypto.decryptString(r.workspace_id, region, AUTH_CTX, r.auth_header);
      const body = new PassThrough();
      // A refused or failed send must not leave the export writing into a stream nobody reads.
      const sending = deps.outbound.send(url.href, { method: 'POST', headers, body }).then((res) => {
        if (!res.ok) body.destroy();
        return res;
      });
      let exported: Awaited<ReturnType<typeof exportAuditStream>>;
      try {
        exported = await exportAuditStream(
          { poolFor: deps.parts.poolFor, signer: deps.parts.signer },
          {
            database: region,
            streamId: r.workspace_id,
            format: r.format,
            afterSeq: BigInt(r.last_pushed_seq),
            maxEvents: MAX_EVENTS_PER_PUSH,
          },
          body,
        ).finally(() => body.end());
      } catch (err) {
        const res = await sending;
        if (!res.ok) throw new PushFailure(describeOutbound(res));
        throw err;
      }
      const res = await sending;
      if (!res.ok) throw new PushFailure(describeOutbound(res));
      events = exported.events;
      lastSeq = exported.lastSeq;
    } catch (err) {
      // Only categories reach the customer (last_error is shown to the workspace);
      // anything else is ours: logged for the operator, shown as a generic line.
      const message = err instanceof PushFailure ? err.message.slice(0, 120) : 'push failed (internal error, see the broker log)';
      if (!(err instanceof PushFailure))
        deps.log?.('SIEM push failed internally', { workspaceId: r.workspace_id, error: (err as Error).message });
      const failed = await db.query<{ failures: number }>(
        `UPDATE wact.audit_siem_destinations SET failures = failures + 1, last_error = $2,
            next_attempt_at = now() + make_interval(secs => least($3, 30 * power(2, least(failures, 10)))), updated_at = now()
          WHERE workspace_id = $1 RETURNING failures`,
        [r.workspace_id, message, MAX_BACKOFF_SECONDS],
      );
      deps.log?.('SIEM push failed', { workspaceId: r.workspace_id, failures: failed.rows[0]?.failures, error: message });
      return { workspaceId: r.workspace_id, ok: false, events: 0, error: message };
    }
    await db.query(
      `UPDATE wact.audit_siem_destinations SET failures = 0, last_error = NULL, last_success_at = now(),
          last_pushed_seq = greatest(last_pushed_seq, coalesce($2::bigint, last_pushed_seq)),
          next_attempt_at = now() + make_interval(secs => interval_seconds), updated_at = now()
        WHERE workspace_id = $1`,
      [r.workspace_id, lastSeq],
    );
    return { workspaceId: r.workspace_id, ok: true, events };
  }

  /**
   * Pushes every due destination of a region. Destinations are leased (next
   * attempt moved ahead under SKIP LOCKED), so several brokers share the work
   * without sending twice.
   */
  async function pushDue(region: Region, limit = 20) {
    const { rows } = await pool(region).query<DestinationRow>(
      `UPDATE wact.audit_siem_destinations d SET next_attempt_at = now() + interval '10 minutes'
        WHERE d.workspace_id IN (SELECT workspace_id FROM wact.audit_siem_destinations
                                  WHERE enabled AND next_attempt_at <= now() ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
        RETURNING d.*`,
      [limit],
    );
    const results = [];
    for (const r of rows) results.push(await pushOne(region, r));
    return results;
  }

  return { configure, get, remove, pushDue };
}

export type SiemService = ReturnType<typeof createSiemService>;
