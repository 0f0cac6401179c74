import dns from 'node:dns/promises';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import type pg from 'pg';
import { request, type Dispatcher } from 'undici';
import { z } from 'zod';
import type { Region } from '../config/config.ts';
import type { FieldCrypto } from '../crypto/field-cipher.ts';
import { BadRequestError } from '../errors/errors.ts';
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

export function isPrivateAddress(ip: string): boolean {
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  if (net.isIPv4(v4)) {
    const [a, b] = v4.split('.').map(Number);
    return (
      a === 10 ||
      a === 127 ||
      a === 0 ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 100 && b >= 64 && b <= 127) ||
      a >= 224
    );
  }
  const l = ip.toLowerCase();
  return (
    l === '::1' ||
    l === '::' ||
    l.startsWith('fc') ||
    l.startsWith('fd') ||
    l.startsWith('fe8') ||
    l.startsWith('fe9') ||
    l.startsWith('fea') ||
    l.startsWith('feb')
  );
}

/**
 * A destination must be HTTPS without credentials in the URL and, unless
 * allowed by configuration, must not resolve to a private or loopback address
 * (the broker must not become a way into the internal network).
 */
export async function checkDestination(raw: string, allowPrivate: boolean): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new BadRequestError('the SIEM URL is not a URL', 'invalid_siem_url');
  }
  if (url.protocol !== 'https:') throw new BadRequestError('the SIEM URL must use https', 'invalid_siem_url');
  if (url.username || url.password)
    throw new BadRequestError('put credentials in the authorization field, not the URL', 'invalid_siem_url');
  if (!allowPrivate) {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const addrs = net.isIP(host) ? [{ address: host }] : await dns.lookup(host, { all: true }).catch(() => []);
    if (addrs.length === 0) throw new BadRequestError('the SIEM host does not resolve', 'invalid_siem_url');
    if (addrs.some((a) => isPrivateAddress(a.address)))
      throw new BadRequestError('the SIEM host is a private or loopback address', 'invalid_siem_url');
  }
  return url;
}

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
  allowPrivate: boolean;
  /** For tests (a CA to trust) and proxies. */
  dispatcher?: Dispatcher;
  log?: (msg: string, extra?: Record<string, unknown>) => void;
}

/** Scheduled push of each workspace's new audit events to the customer's SIEM, with backoff. */
export function createSiemService(deps: SiemDeps) {
  const pool = (region: Region): pg.Pool => deps.parts.poolFor(region);

  async function configure(ws: { id: string; region: Region }, input: z.input<typeof siemInput>) {
    const v = siemInput.parse(input);
    await checkDestination(v.url, deps.allowPrivate);
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
      const url = await checkDestination(r.url, deps.allowPrivate);
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
      const sending = request(url, {
        method: 'POST',
        headers,
        body,
        dispatcher: deps.dispatcher,
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
      });
      sending.catch(() => body.destroy());
      const exported = await exportAuditStream(
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
      const res = await sending;
      await res.body.dump();
      if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`HTTP ${res.statusCode}`);
      events = exported.events;
      lastSeq = exported.lastSeq;
    } catch (err) {
      const message = (err as Error).message.slice(0, 120);
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
