import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { z } from 'zod';
import type { AuditEventInput, AuditLog } from '../audit/audit-types.ts';
import type { Config, Region } from '../config/config.ts';
import { createFieldCrypto } from '../crypto/field-cipher.ts';
import type { Keyring } from '../crypto/keyring-types.ts';
import type { Pools } from '../db/pools.ts';
import { withTransaction } from '../db/pools.ts';
import { BadRequestError, NotFoundError } from '../errors/errors.ts';
import { hashPhone, normalisePhone } from '../phone/phone.ts';
import type { WorkspaceService } from '../workspaces/workspace-service.ts';
import { createPlatformCredentialsDal } from '../workspaces/platform-credentials/platform-credentials-dal.ts';
import { decryptPlatformCredentials } from '../workspaces/platform-credentials/platform-credentials-service.ts';
import { outboundExtraCa } from '../http/tls.ts';
import {
  buildDeletionCall,
  CLICK_KIND_FOR,
  createDeletionSender,
  deletionEndpoint,
  UNSUPPORTED_REASON,
  type AdPlatform,
  type PlatformCredentials,
  type SyncedConversion,
} from './deletion-platforms.ts';
import { DELETION_DUE_DAYS, type DeletionRequestView, type DeletionTargetView } from './lifecycle-types.ts';
import { openRegionalWorkspace } from './residency.ts';

const DAY_MS = 86_400_000;
const MAX_BACKOFF_MS = 6 * 3_600_000;

export const deletionInput = z.union([
  z
    .object({
      phone: z.string().min(1).max(64),
      defaultRegion: z
        .string()
        .regex(/^[A-Z]{2}$/)
        .optional(),
    })
    .strict(),
  z.object({ conversationId: z.string().uuid() }).strict(),
]);

interface RequestRow {
  id: string;
  workspace_id: string;
  subject_kind: 'phone' | 'conversation';
  subject_hashes: string[];
  conversation_id: string | null;
  status: DeletionRequestView['status'];
  requested_by: string;
  requested_at: Date;
  due_at: Date;
  local_done_at: Date | null;
  completed_at: Date | null;
  deleted_counts: Record<string, number>;
  attempts: number;
  last_error: string | null;
}

interface TargetRow {
  request_id: string;
  platform: string;
  endpoint: string;
  status: DeletionTargetView['status'];
  payload: Buffer | null;
  identifier_count: number;
  attempts: number;
  last_attempt_at: Date | null;
  response_status: number | null;
  response_summary: string | null;
  completed_at: Date | null;
}

const REQUEST_COLUMNS =
  'id, workspace_id, subject_kind, subject_hashes, conversation_id, status, requested_by, requested_at, due_at, local_done_at, completed_at, deleted_counts, attempts, last_error';
const TARGET_COLUMNS =
  'request_id, platform, endpoint, status, payload, identifier_count, attempts, last_attempt_at, response_status, response_summary, completed_at';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function toView(r: RequestRow, targets: TargetRow[], now: number): DeletionRequestView {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    subjectKind: r.subject_kind,
    status: r.status,
    overdue: r.status === 'overdue' || (r.status !== 'completed' && r.due_at.getTime() < now),
    requestedBy: r.requested_by,
    requestedAt: r.requested_at.toISOString(),
    dueAt: r.due_at.toISOString(),
    localDoneAt: iso(r.local_done_at),
    completedAt: iso(r.completed_at),
    deletedCounts: r.deleted_counts,
    attempts: r.attempts,
    lastError: r.last_error,
    targets: targets.map((t) => ({
      platform: t.platform,
      endpoint: t.endpoint,
      status: t.status,
      identifierCount: t.identifier_count,
      attempts: t.attempts,
      lastAttemptAt: iso(t.last_attempt_at),
      responseStatus: t.response_status,
      responseSummary: t.response_summary,
      completedAt: iso(t.completed_at),
    })),
  };
}

export type HttpSender = (
  url: string,
  init: { method: 'POST'; headers: Record<string, string>; body: string; signal: AbortSignal },
) => Promise<{ status: number }>;

export interface DeletionDeps {
  config: Pick<Config, 'raw' | 'env'>;
  pools: Pick<Pools, 'region' | 'control'>;
  keyring: Pick<Keyring, 'currentKey' | 'keyVersion'>;
  workspaces: Pick<WorkspaceService, 'get'>;
  audit: AuditLog;
  /** Wakes the worker for a new request (pg-boss); without it the periodic sweep picks it up. */
  enqueue?: (job: { workspaceId: string; requestId: string; region: Region }) => Promise<void>;
  send?: HttpSender;
  now?: () => number;
}

/**
 * End-user deletion requests: recorded with a due date 30 days out; the worker
 * deletes every record linked to the person in the workspace, then retracts
 * their synced conversions at every ad platform that has a retraction call,
 * retrying with backoff until done or overdue.
 *
 * The phone number is normalised and keyed-hashed in memory (under every
 * version of the workspace's hashing key, so data hashed before a rotation is
 * found) and never stored; even the hashes are cleared once the local
 * deletion is done.
 */
export function createDeletionService(deps: DeletionDeps) {
  const { pools, keyring, audit } = deps;
  const now = deps.now ?? Date.now;
  const fields = createFieldCrypto(keyring);
  // Default: undici with the system roots plus the extra CA, no redirects (createDeletionSender).
  let defaultSender: HttpSender | undefined;
  const send: HttpSender =
    deps.send ??
    ((url, init) => {
      if (!defaultSender) {
        const cfg = deps.config as Partial<Pick<Config, 'env' | 'home' | 'tls'>>;
        const extraCa = cfg.env && cfg.home && cfg.tls ? outboundExtraCa(cfg as Pick<Config, 'env' | 'home' | 'tls'>) : undefined;
        defaultSender = createDeletionSender(extraCa).send;
      }
      return defaultSender(url, init);
    });

  async function subjectHashes(workspaceId: string, region: Region, e164: string): Promise<string[]> {
    const current = await keyring.currentKey(workspaceId, region, 'hmac');
    const hashes = [hashPhone(current.key, e164)];
    for (let v = current.version - 1; v >= 1; v--) hashes.push(hashPhone(await keyring.keyVersion(workspaceId, region, 'hmac', v), e164));
    return hashes;
  }

  async function submit(
    workspaceId: string,
    input: unknown,
    actor: AuditEventInput['actor'],
    meta: { reason?: string; sessionId?: string } = {},
  ): Promise<DeletionRequestView> {
    const parsed = deletionInput.safeParse(input);
    // The message never repeats what was sent: it may be a phone number.
    if (!parsed.success)
      throw new BadRequestError('give either phone (a phone number) or conversationId (a uuid)', 'invalid_deletion_request');
    const { workspace, pool } = await openRegionalWorkspace(deps, workspaceId);
    let kind: 'phone' | 'conversation';
    let hashes: string[];
    let conversationId: string | null = null;
    if ('phone' in parsed.data) {
      const e164 = normalisePhone(parsed.data.phone, { defaultRegion: parsed.data.defaultRegion as never });
      kind = 'phone';
      hashes = await subjectHashes(workspace.id, workspace.region, e164);
    } else {
      kind = 'conversation';
      conversationId = parsed.data.conversationId;
      const { rows } = await pool.query<{ sender_hash: string }>(
        'SELECT sender_hash FROM wact.conversations WHERE workspace_id = $1 AND id = $2 LIMIT 1',
        [workspace.id, conversationId],
      );
      if (!rows[0]) throw new NotFoundError('no such conversation in this workspace', 'conversation_not_found');
      // The person behind the conversation: everything of theirs goes, not only this thread.
      hashes = [rows[0].sender_hash];
    }
    const id = randomUUID();
    const due = new Date(now() + DELETION_DUE_DAYS * DAY_MS);
    const { rows } = await pool.query<RequestRow>(
      `INSERT INTO wact.deletion_requests (id, workspace_id, subject_kind, subject_hashes, conversation_id, requested_by, due_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${REQUEST_COLUMNS}`,
      [id, workspace.id, kind, hashes, conversationId, actor.id.slice(0, 200), due],
    );
    await audit.append({
      action: 'deletion.request',
      actor,
      workspaceId: workspace.id,
      region: workspace.region,
      target: { type: 'deletion_request', id },
      reason: meta.reason,
      sessionId: meta.sessionId,
      outcome: 'success',
      metadata: { subjectKind: kind, dueAt: due.toISOString() },
    });
    await deps.enqueue?.({ workspaceId: workspace.id, requestId: id, region: workspace.region }).catch(() => undefined);
    return toView(rows[0], [], now());
  }

  async function load(pool: pg.Pool, workspaceId: string, requestId: string): Promise<{ request: RequestRow; targets: TargetRow[] }> {
    if (!z.string().uuid().safeParse(requestId).success) throw new NotFoundError('no such deletion request', 'deletion_request_not_found');
    const { rows } = await pool.query<RequestRow>(
      `SELECT ${REQUEST_COLUMNS} FROM wact.deletion_requests WHERE workspace_id = $1 AND id = $2`,
      [workspaceId, requestId],
    );
    if (!rows[0]) throw new NotFoundError('no such deletion request', 'deletion_request_not_found');
    const targets = await pool.query<TargetRow>(
      `SELECT ${TARGET_COLUMNS} FROM wact.deletion_targets WHERE request_id = $1 ORDER BY platform`,
      [requestId],
    );
    return { request: rows[0], targets: targets.rows };
  }

  async function get(workspaceId: string, requestId: string): Promise<DeletionRequestView> {
    const { workspace, pool } = await openRegionalWorkspace(deps, workspaceId);
    const { request, targets } = await load(pool, workspace.id, requestId);
    return toView(request, targets, now());
  }

  const SORTABLE = { requestedAt: 'requested_at', dueAt: 'due_at', status: 'status' } as const;

  async function list(
    workspaceId: string,
    q: {
      offset: number;
      limit: number;
      sort?: { field: keyof typeof SORTABLE; order: 'ASC' | 'DESC' };
      status?: string;
      overdue?: boolean;
    },
  ): Promise<{ rows: DeletionRequestView[]; total: number }> {
    const { workspace, pool } = await openRegionalWorkspace(deps, workspaceId);
    const where = ['workspace_id = $1'];
    const params: unknown[] = [workspace.id];
    if (q.status) {
      params.push(q.status);
      where.push(`status = $${params.length}`);
    }
    if (q.overdue) where.push(`(status = 'overdue' OR (status <> 'completed' AND due_at < now()))`);
    const order = q.sort ? `${SORTABLE[q.sort.field]} ${q.sort.order === 'ASC' ? 'ASC' : 'DESC'}` : 'requested_at DESC';
    const total = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM wact.deletion_requests WHERE ${where.join(' AND ')}`,
      params,
    );
    const { rows } = await pool.query<RequestRow>(
      `SELECT ${REQUEST_COLUMNS} FROM wact.deletion_requests WHERE ${where.join(' AND ')} ORDER BY ${order}, id LIMIT ${q.limit} OFFSET ${q.offset}`,
      params,
    );
    const targets = rows.length
      ? (
          await pool.query<TargetRow>(`SELECT ${TARGET_COLUMNS} FROM wact.deletion_targets WHERE request_id = ANY($1) ORDER BY platform`, [
            rows.map((r) => r.id),
          ])
        ).rows
      : [];
    return {
      rows: rows.map((r) =>
        toView(
          r,
          targets.filter((t) => t.request_id === r.id),
          now(),
        ),
      ),
      total: total.rows[0].n,
    };
  }

  /** Overdue requests of a workspace: what the console raises as an alert. */
  async function alerts(workspaceId: string): Promise<{ overdue: number; oldestDueAt: string | null; requestIds: string[] }> {
    const { workspace, pool } = await openRegionalWorkspace(deps, workspaceId);
    const { rows } = await pool.query<{ id: string; due_at: Date }>(
      `SELECT id, due_at FROM wact.deletion_requests
        WHERE workspace_id = $1 AND (status = 'overdue' OR (status <> 'completed' AND due_at < now()))
        ORDER BY due_at LIMIT 100`,
      [workspace.id],
    );
    return { overdue: rows.length, oldestDueAt: iso(rows[0]?.due_at ?? null), requestIds: rows.map((r) => r.id) };
  }

  /** Deletes everything linked to the subject in one transaction and prepares the platform targets. */
  async function deleteLocally(workspaceId: string, region: Region, pool: pg.Pool, request: RequestRow): Promise<Record<string, number>> {
    const ws = workspaceId;
    return withTransaction(pool, async (c) => {
      const convs = await c.query<{ id: string; matched_click_id: string | null; ctwa_clid_enc: Buffer | null }>(
        `SELECT id, matched_click_id, ctwa_clid_enc FROM wact.conversations WHERE workspace_id = $1 AND (sender_hash = ANY($2) OR id = $3)`,
        [ws, request.subject_hashes, request.conversation_id],
      );
      const convIds = [...new Set(convs.rows.map((r) => r.id))];
      const conversions = await c.query<{ id: string; click_id: string | null; event: string; occurred_at: Date; conversation_id: string }>(
        'SELECT id, click_id, event, occurred_at, conversation_id FROM wact.conversions WHERE workspace_id = $1 AND conversation_id = ANY($2)',
        [ws, convIds],
      );
      const conversionIds = conversions.rows.map((r) => r.id);
      const exportsRows = await c.query<{ id: string; conversion_id: string; platform: AdPlatform; click_kind: string; sent: boolean }>(
        `SELECT e.id, e.conversion_id, e.platform, e.click_kind,
                EXISTS (SELECT 1 FROM wact.export_attempts a WHERE a.export_job_id = e.id AND a.outcome = 'sent') AS sent
           FROM wact.export_jobs e WHERE e.workspace_id = $1 AND e.conversion_id = ANY($2)`,
        [ws, conversionIds],
      );
      const clickIds = [
        ...new Set(
          [...convs.rows.map((r) => r.matched_click_id), ...conversions.rows.map((r) => r.click_id)].filter((x): x is string => !!x),
        ),
      ];
      const clicks = await c.query<Record<string, Buffer | string | null>>(
        'SELECT id, gclid_enc, gbraid_enc, wbraid_enc, msclkid_enc FROM wact.clicks WHERE workspace_id = $1 AND id = ANY($2)',
        [ws, clickIds],
      );

      // What each synced platform needs to retract (read before the rows go).
      const perPlatform = new Map<AdPlatform, SyncedConversion[]>();
      for (const e of exportsRows.rows) {
        if (!e.sent) continue;
        const list = perPlatform.get(e.platform) ?? [];
        perPlatform.set(e.platform, list);
        if (e.platform !== 'google' && e.platform !== 'microsoft') continue;
        const conv = conversions.rows.find((r) => r.id === e.conversion_id)!;
        const click = clicks.rows.find((r) => r.id === conv.click_id);
        if (!click) continue;
        // The kind the export used first (its id is what the platform holds), then the others.
        for (const kind of [e.click_kind, ...CLICK_KIND_FOR[e.platform].filter((k) => k !== e.click_kind)]) {
          if (!CLICK_KIND_FOR[e.platform].includes(kind)) continue;
          const enc = click[`${kind}_enc`] as Buffer | null;
          if (!enc) continue;
          const clickId = await fields.decryptString(ws, region, { table: 'clicks', column: `${kind}_enc` }, enc);
          list.push({ conversionId: conv.id, clickKind: kind, clickId, event: conv.event, occurredAt: conv.occurred_at.toISOString() });
          break;
        }
      }
      for (const [platform, list] of perPlatform) {
        const endpoint = deletionEndpoint(deps.config, platform);
        const unsupported = UNSUPPORTED_REASON[platform] ?? (endpoint ? null : 'no deletion endpoint configured');
        const needed = !unsupported && list.length > 0;
        const payload = needed
          ? await fields.encrypt(ws, region, { table: 'deletion_targets', column: 'payload' }, JSON.stringify(list))
          : null;
        await c.query(
          `INSERT INTO wact.deletion_targets (request_id, workspace_id, platform, endpoint, status, payload, identifier_count, response_summary, completed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (request_id, platform) DO NOTHING`,
          [
            request.id,
            ws,
            platform,
            endpoint ?? '-',
            needed ? 'pending' : 'not_needed',
            payload,
            list.length,
            needed ? null : (unsupported ?? 'no retractable conversion was synced'),
            needed ? null : new Date(now()),
          ],
        );
      }

      const counts: Record<string, number> = {};
      const del = async (label: string, sql: string, params: unknown[]) => {
        const r = await c.query(sql, params);
        counts[label] = (counts[label] ?? 0) + (r.rowCount ?? 0);
      };
      const hashes = await c.query<{ message_hash: string; provider: string }>(
        'SELECT message_hash, provider FROM wact.raw_webhook_payloads WHERE workspace_id = $1 AND conversation_id = ANY($2)',
        [ws, convIds],
      );
      await del('rawPayloads', 'DELETE FROM wact.raw_webhook_payloads WHERE workspace_id = $1 AND conversation_id = ANY($2)', [
        ws,
        convIds,
      ]);
      await del('receipts', 'DELETE FROM wact.webhook_receipts WHERE workspace_id = $1 AND message_hash = ANY($2)', [
        ws,
        hashes.rows.map((h) => h.message_hash),
      ]);
      const exportIds = exportsRows.rows.map((e) => e.id);
      await del(
        'queuedJobs',
        `DELETE FROM pgboss.job WHERE state < 'active' AND (data->>'exportJobId' = ANY($1) OR data->>'conversionId' = ANY($2))`,
        [exportIds, conversionIds],
      );
      await del('exports', 'DELETE FROM wact.export_jobs WHERE workspace_id = $1 AND id = ANY($2)', [ws, exportIds]);
      await del('conversionKeys', 'DELETE FROM wact.conversion_keys WHERE workspace_id = $1 AND conversion_id = ANY($2)', [
        ws,
        conversionIds,
      ]);
      await del('conversions', 'DELETE FROM wact.conversions WHERE workspace_id = $1 AND id = ANY($2)', [ws, conversionIds]);
      await del('conversations', 'DELETE FROM wact.conversations WHERE workspace_id = $1 AND id = ANY($2)', [ws, convIds]);
      // A click goes only if nothing that remains still points at it (someone else's conversation from the same ad link).
      await del(
        'clicks',
        `DELETE FROM wact.clicks k WHERE k.workspace_id = $1 AND k.id = ANY($2)
            AND NOT EXISTS (SELECT 1 FROM wact.conversations v WHERE v.workspace_id = $1 AND v.matched_click_id = k.id)
            AND NOT EXISTS (SELECT 1 FROM wact.conversions x WHERE x.workspace_id = $1 AND x.click_id = k.id)`,
        [ws, clickIds],
      );
      const targets = await c.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM wact.deletion_targets WHERE request_id = $1 AND status = 'pending'",
        [request.id],
      );
      await c.query(
        `UPDATE wact.deletion_requests SET local_done_at = now(), deleted_counts = $2, subject_hashes = '{}',
                status = CASE WHEN $3 THEN 'propagating' ELSE 'completed' END,
                completed_at = CASE WHEN $3 THEN NULL ELSE now() END
          WHERE id = $1`,
        [request.id, counts, targets.rows[0].n > 0],
      );
      return counts;
    });
  }

  async function credentialsFor(ws: string, region: Region, pool: pg.Pool, platform: string): Promise<PlatformCredentials> {
    const enc = await createPlatformCredentialsDal(pool).find(ws, platform);
    if (!enc) return {};
    try {
      // Decrypted as the export reads them (one AAD binding for the writer and every reader).
      const json = (await decryptPlatformCredentials(fields, { id: ws, region }, platform, enc)) as Record<string, unknown>;
      const str = (k: string) => (typeof json[k] === 'string' ? (json[k] as string) : undefined);
      return {
        accessToken: str('accessToken'),
        developerToken: str('developerToken'),
        customerId: str('customerId'),
        loginCustomerId: str('loginCustomerId'),
        conversionActionId: str('conversionActionId'),
        customerAccountId: str('customerAccountId'),
        conversionName: str('conversionName'),
      };
    } catch {
      return {}; // unreadable credentials: the call goes without them and the platform's refusal is recorded
    }
  }

  /** One attempt at every due target of a request; marks overdue ones. */
  async function propagate(ws: string, region: Region, pool: pg.Pool, request: RequestRow): Promise<void> {
    const { rows } = await pool.query<TargetRow>(
      `SELECT ${TARGET_COLUMNS} FROM wact.deletion_targets WHERE request_id = $1 AND status = 'pending' AND next_attempt_at <= now()`,
      [request.id],
    );
    const t0 = now();
    for (const t of rows) {
      if (request.due_at.getTime() < t0) {
        await pool.query(`UPDATE wact.deletion_targets SET status = 'overdue', payload = NULL WHERE request_id = $1 AND platform = $2`, [
          request.id,
          t.platform,
        ]);
        continue;
      }
      let status: number | null = null;
      let summary: string;
      try {
        const list = JSON.parse(
          await fields.decryptString(ws, region, { table: 'deletion_targets', column: 'payload' }, t.payload!),
        ) as SyncedConversion[];
        const call = buildDeletionCall(
          t.platform as 'google' | 'microsoft',
          t.endpoint,
          list,
          await credentialsFor(ws, region, pool, t.platform),
          new Date(t0),
        );
        if (deps.config.env === 'production' && !call.url.startsWith('https://')) throw new Error('insecure_endpoint'); // refused: production retracts over https only
        const res = await send(call.url, {
          method: 'POST',
          headers: call.headers,
          body: JSON.stringify(call.body),
          signal: AbortSignal.timeout(15_000),
        });
        status = res.status;
        // Only the status is kept: a platform's response body may echo the identifiers.
        summary = `HTTP ${res.status}`;
      } catch (err) {
        // A category (timeout, connection_failed, tls_failed, …), never socket error text: the summary is shown to the workspace.
        const m = (err as Error).message;
        summary = `request failed: ${/^[a-z_]{1,40}$/.test(m) ? m : 'error'}`;
      }
      const ok = status !== null && status >= 200 && status < 300;
      const backoff = Math.min(MAX_BACKOFF_MS, 60_000 * 2 ** Math.min(t.attempts, 12));
      await pool.query(
        `UPDATE wact.deletion_targets
            SET attempts = attempts + 1, last_attempt_at = now(), response_status = $3, response_summary = $4,
                status = CASE WHEN $5 THEN 'done' ELSE status END,
                payload = CASE WHEN $5 THEN NULL ELSE payload END,
                completed_at = CASE WHEN $5 THEN now() ELSE NULL END,
                next_attempt_at = now() + make_interval(secs => $6)
          WHERE request_id = $1 AND platform = $2`,
        [request.id, t.platform, status, summary, ok, backoff / 1000],
      );
    }
  }

  /** Moves one request forward: local deletion once, then propagation; settles its status. */
  async function processRequest(workspaceId: string, requestId: string, actor: AuditEventInput['actor']): Promise<DeletionRequestView> {
    const { workspace, pool } = await openRegionalWorkspace(deps, workspaceId);
    await load(pool, workspace.id, requestId); // 404 before anything else
    // One worker per request at a time (the queued job and the sweep may both pick it up):
    // a session advisory lock, held on a connection of its own while this pass runs.
    const lock = await pool.connect();
    try {
      const got = await lock.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtextextended('wact.deletion:' || $1, 0)) AS ok", [
        requestId,
      ]);
      if (!got.rows[0].ok) return get(workspaceId, requestId);
      try {
        return await processLocked(workspace, pool, requestId, actor);
      } finally {
        await lock.query("SELECT pg_advisory_unlock(hashtextextended('wact.deletion:' || $1, 0))", [requestId]).catch(() => undefined);
      }
    } finally {
      lock.release();
    }
  }

  async function processLocked(
    workspace: { id: string; region: Region },
    pool: pg.Pool,
    requestId: string,
    actor: AuditEventInput['actor'],
  ): Promise<DeletionRequestView> {
    const workspaceId = workspace.id;
    let { request } = await load(pool, workspace.id, requestId);
    if (request.status === 'completed' || request.status === 'overdue') return get(workspaceId, requestId);
    await pool.query('UPDATE wact.deletion_requests SET attempts = attempts + 1 WHERE id = $1', [request.id]);
    if (!request.local_done_at) {
      try {
        const counts = await deleteLocally(workspace.id, workspace.region, pool, request);
        await audit.append({
          action: 'deletion.execute',
          actor,
          workspaceId: workspace.id,
          region: workspace.region,
          target: { type: 'deletion_request', id: request.id },
          outcome: 'success',
          metadata: counts,
        });
      } catch (err) {
        await pool.query('UPDATE wact.deletion_requests SET last_error = $2 WHERE id = $1', [
          request.id,
          (err as Error).message.slice(0, 500),
        ]);
        throw err;
      }
      ({ request } = await load(pool, workspace.id, requestId));
    }
    if (request.status === 'propagating') await propagate(workspace.id, workspace.region, pool, request);

    // Settle: all targets finished → completed; past due with a target unfinished → overdue.
    const { rows } = await pool.query<{ status: string }>('SELECT status FROM wact.deletion_targets WHERE request_id = $1', [request.id]);
    const open = rows.filter((r) => r.status === 'pending').length;
    const overdue = rows.some((r) => r.status === 'overdue') || (open > 0 && request.due_at.getTime() < now());
    if (request.status === 'propagating' && open === 0 && !overdue) {
      await pool.query(`UPDATE wact.deletion_requests SET status = 'completed', completed_at = now() WHERE id = $1`, [request.id]);
      await audit.append({
        action: 'deletion.complete',
        actor,
        workspaceId: workspace.id,
        region: workspace.region,
        target: { type: 'deletion_request', id: request.id },
        outcome: 'success',
        metadata: { targets: rows.length },
      });
    } else if (overdue) {
      await pool.query(`UPDATE wact.deletion_targets SET status = 'overdue', payload = NULL WHERE request_id = $1 AND status = 'pending'`, [
        request.id,
      ]);
      await pool.query(`UPDATE wact.deletion_requests SET status = 'overdue' WHERE id = $1`, [request.id]);
      await audit.append({
        action: 'deletion.overdue',
        actor,
        workspaceId: workspace.id,
        region: workspace.region,
        target: { type: 'deletion_request', id: request.id },
        outcome: 'failure',
        metadata: { openTargets: open },
      });
    }
    return get(workspaceId, requestId);
  }

  /** The periodic pass over one region: every open request whose next step is due. */
  async function sweep(region: Region, actor: AuditEventInput['actor']): Promise<{ processed: number; failed: number }> {
    const { rows } = await pools.region(region).query<{ id: string; workspace_id: string }>(
      `SELECT r.id, r.workspace_id FROM wact.deletion_requests r
        WHERE r.status IN ('pending', 'propagating')
          AND (r.local_done_at IS NULL OR r.due_at < now()
               OR EXISTS (SELECT 1 FROM wact.deletion_targets t WHERE t.request_id = r.id AND t.status = 'pending' AND t.next_attempt_at <= now()))
        ORDER BY r.due_at LIMIT 500`,
    );
    let failed = 0;
    for (const r of rows) {
      await processRequest(r.workspace_id, r.id, actor).catch(() => {
        failed++;
      });
    }
    return { processed: rows.length, failed };
  }

  return { submit, get, list, alerts, processRequest, sweep };
}

export type DeletionService = ReturnType<typeof createDeletionService>;
