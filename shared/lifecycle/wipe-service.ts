import crypto from 'node:crypto';
import pg from 'pg';
import { z } from 'zod';
import { PLATFORM_STREAM, type AuditEventInput, type AuditLog } from '../audit/audit-types.ts';
import type { Region } from '../config/config.ts';
import type { Keyring } from '../crypto/keyring-types.ts';
import type { Pools } from '../db/pools.ts';
import { connectAsOwner } from '../db/owner-connection.ts';
import type { Databases } from '../runtime/databases.ts';
import { ForbiddenError, NotFoundError } from '../errors/errors.ts';
import { enqueueHistoryErasure } from './lifecycle-jobs.ts';
import { remainingRows, workspaceTables } from './workspace-tables.ts';

export interface WipeReport {
  workspaceId: string;
  region: Region;
  keysDestroyed: number;
  /** Rows deleted per table in the region (and control-side tables, prefixed 'control:'). */
  deleted: Record<string, number>;
  queuedJobsDeleted: number;
  /** The workspace's own audit stream as erased, or null when its erasure was queued for the worker. */
  auditStream: { events: number; lastSeq: number | null; lastHash: string | null } | null;
  /** history 'queue': the worker's job that erases the audit stream (lifecycle.erase_history). */
  historyErasureJob?: string;
  wipedAt: string;
}

export interface WipeOptions {
  reason?: string;
  sessionId?: string;
  /**
   * 'erase' (default): the audit stream is erased now, as wact_owner (the
   * operator's CLI, a move in the worker). 'queue': the broker, which holds no
   * owner credential — keys, rows and sessions go now; the erasure of the
   * stream is a worker job (eraseQueuedHistory) named in the wipe's event.
   */
  history?: 'erase' | 'queue';
}

/** Who a purge without a named actor (a region move's source) is recorded as in the tombstone. */
const LIFECYCLE_ACTOR: AuditEventInput['actor'] = { id: 'service:lifecycle', kind: 'service', role: 'lifecycle', displayName: 'lifecycle' };

/** Control-side tables that only describe membership of the workspace (the directory entry itself stays). */
const CONTROL_WORKSPACE_TABLES = ['wact.invitations', 'wact.memberships', 'wact.workspace_settings'];

/**
 * Wiping a workspace (the customer leaves, or asks for everything to go):
 *  1. the directory entry is marked wiped: from now on nothing resolves it;
 *  2. its keys are destroyed (crypto-shredding): every copy of its ciphertext,
 *     backups included, becomes unreadable;
 *  3. every row of it in its region goes (tables found from the catalog, so
 *     features added later are covered), with its queued jobs and its own
 *     audit stream; then the control-side memberships;
 *  4. nothing must remain (checked), and ONE event goes to the platform log.
 * Re-running it on a half-wiped workspace finishes the job.
 */
export function createWipeService(deps: {
  pools: Pick<Pools, 'control' | 'region'>;
  keyring: Pick<Keyring, 'destroy'>;
  audit: AuditLog;
  /** Operator URLs: the audit history is erased under wact_owner, which no service role is (see eraseHistory). */
  databases?: Pick<Databases, 'urls'>;
}) {
  const { pools, keyring, audit } = deps;

  async function wipe(workspaceId: string, actor: AuditEventInput['actor'], opts: WipeOptions = {}): Promise<WipeReport> {
    if (!z.string().uuid().safeParse(workspaceId).success) throw new NotFoundError('unknown workspace', 'workspace_not_found');
    const { rows } = await pools.control.query<{ id: string; region: Region }>(
      'UPDATE wact.workspaces SET wiped_at = coalesce(wiped_at, now()) WHERE id = $1 RETURNING id, region',
      [workspaceId],
    );
    if (!rows[0]) throw new NotFoundError('unknown workspace', 'workspace_not_found');
    const region = rows[0].region;
    const queued = opts.history === 'queue';
    const purged = await purgeRegion(workspaceId, region, actor, { eraseHistory: !queued });
    const { keysDestroyed, deleted, queuedJobsDeleted, auditStream } = purged;
    for (const t of CONTROL_WORKSPACE_TABLES) {
      const exists = await pools.control.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [t]);
      if (!exists.rows[0].t) continue;
      const res = await pools.control.query(`DELETE FROM ${t} WHERE workspace_id = $1`, [workspaceId]);
      if (res.rowCount) deleted[`control:${t}`] = res.rowCount;
    }

    // Open database sessions on the workspace end now: the gateway closes revoked sessions' connections.
    let sessionsRevoked = 0;
    const sessions = await pools.control.query<{ t: string | null }>("SELECT to_regclass('wact.access_sessions')::text AS t");
    if (sessions.rows[0].t) {
      const res = await pools.control.query(
        `UPDATE wact.access_sessions SET status = 'revoked', revoked_at = now(), revoked_by_name = 'workspace wipe'
          WHERE workspace_id = $1 AND status IN ('pending', 'active')`,
        [workspaceId],
      );
      sessionsRevoked = res.rowCount ?? 0;
    }

    const wipedAt = new Date().toISOString();
    const totalRows = Object.values(deleted).reduce((a, b) => a + b, 0);
    const historyErasureJob = queued ? crypto.randomUUID() : undefined;
    await audit.append({
      action: 'workspace.wipe',
      actor,
      workspaceId: null, // the platform log: the workspace's own stream is gone with it
      target: { type: 'workspace', id: workspaceId },
      reason: opts.reason,
      sessionId: opts.sessionId,
      outcome: 'success',
      metadata: {
        region,
        keysDestroyed,
        rowsDeleted: totalRows,
        tables: Object.keys(deleted).length,
        queuedJobsDeleted,
        sessionsRevoked,
        ...(historyErasureJob
          ? { historyErasureJob }
          : {
              auditEventsErased: auditStream?.events ?? 0,
              auditStreamLastSeq: auditStream?.lastSeq ?? null,
              auditStreamLastHash: auditStream?.lastHash ?? null,
            }),
      },
    });
    // Queued after the event that names it is durable: the job erases nothing that event does not vouch for.
    if (historyErasureJob) await enqueueHistoryErasure(pools.region(region), { workspaceId, jobId: historyErasureJob });
    return { workspaceId, region, keysDestroyed, deleted, queuedJobsDeleted, auditStream, historyErasureJob, wipedAt };
  }

  /**
   * The worker's half of a wipe made through the broker: erases the
   * workspace's audit stream as wact_owner exactly as an inline wipe does
   * (eraseHistory: the tombstone first), the person who wiped as its actor.
   * Refused unless the platform log holds the successful wipe that names this
   * job and the directory marks the workspace wiped: a job row alone never
   * erases history. A retry after the erasure committed finds nothing left.
   */
  async function eraseQueuedHistory(job: { id: string; data: unknown }): Promise<{ events: number } | 'already erased'> {
    const data = z.object({ workspaceId: z.string().uuid() }).strict().parse(job.data);
    const { rows } = await pools.control.query<{
      actor_id: string;
      actor_kind: AuditEventInput['actor']['kind'];
      actor_role: string | null;
      actor_name: string | null;
      region: Region;
    }>(
      `SELECT e.actor_id, e.actor_kind, e.actor_role, e.actor_name, w.region
         FROM audit.events e JOIN wact.workspaces w ON w.id = $1::uuid AND w.wiped_at IS NOT NULL
        WHERE e.stream_id = $2 AND e.action = 'workspace.wipe' AND e.outcome = 'success' AND e.target_id = $1::text
          AND e.metadata::jsonb->>'historyErasureJob' = $3
        ORDER BY e.seq DESC LIMIT 1`,
      [data.workspaceId, PLATFORM_STREAM, job.id],
    );
    const w = rows[0];
    if (!w) throw new ForbiddenError('no wipe in the platform log queued this erasure: refused', 'erasure_not_requested');
    const left = await pools
      .region(w.region)
      .query('SELECT 1 FROM wact.workspaces WHERE id = $1 UNION ALL SELECT 1 FROM audit.chain_heads WHERE stream_id = $1 LIMIT 1', [
        data.workspaceId,
      ]);
    if (!left.rowCount) return 'already erased';
    const actor = { id: w.actor_id, kind: w.actor_kind, role: w.actor_role ?? undefined, displayName: w.actor_name ?? undefined };
    const erased = await eraseHistory(data.workspaceId, w.region, actor);
    return { events: erased.events };
  }

  /**
   * Everything of the workspace in one region: keys first (crypto-shredding),
   * then every row, its queued jobs, its anchor and its own audit stream, then
   * a check that nothing is left. Used by the wipe and by a move (for the source).
   */
  async function purgeRegion(
    workspaceId: string,
    region: Region,
    actor: AuditEventInput['actor'] = LIFECYCLE_ACTOR,
    opts: { eraseHistory?: boolean } = {},
  ): Promise<Omit<WipeReport, 'workspaceId' | 'region' | 'wipedAt'>> {
    const regional = pools.region(region);
    const keysDestroyed = await keyring.destroy(workspaceId, region);
    const deleted: Record<string, number> = {};
    const tables = await workspaceTables(regional);
    for (const t of tables) {
      const res = await regional.query(`DELETE FROM ${t} WHERE workspace_id = $1`, [workspaceId]);
      if (res.rowCount) deleted[t] = res.rowCount;
    }
    const queuedJobsDeleted = await deleteQueuedJobs(workspaceId, region);
    const auditStream = opts.eraseHistory === false ? null : await eraseHistory(workspaceId, region, actor);
    const left = await remainingRows(regional, workspaceId, tables);
    // The anchor goes with the audit stream (erase_workspace_history): when that is the worker's job, it stays until then.
    if (!auditStream) delete left['wact.workspaces'];
    if (Object.keys(left).length) {
      // Something wrote while we deleted (a worker with keys still cached): fail loudly; a re-run finishes.
      throw new Error(`purge incomplete: rows remain in ${Object.keys(left).join(', ')}; run it again`);
    }
    return {
      keysDestroyed,
      deleted,
      queuedJobsDeleted,
      auditStream,
    };
  }

  /**
   * The workspace's own audit stream and its anchor row go, in one owner
   * transaction on the region:
   *  1. SET ROLE wact_owner: wact_private.erase_workspace_history (regional
   *     0330) is executable by no service role, so this step needs the owner
   *     credential (the operator URLs); without it the wipe fails closed here,
   *     before anything of the history is touched;
   *  2. the stream's head is locked (no event can be appended meanwhile) and
   *     a tombstone with its final seq and hash is appended to the platform
   *     log in the control database — before anything is erased;
   *  3. the eraser erases exactly the head the tombstone names.
   * If the commit were lost after the tombstone, the stream stays whole and a
   * re-run writes a second tombstone: a tombstone never hides an erasure.
   */
  async function eraseHistory(workspaceId: string, region: Region, actor: AuditEventInput['actor']) {
    const url = deps.databases?.urls[region];
    const client = url ? await connectAsOwner(url, region, 'wact-wipe-eraser') : await pools.region(region).connect();
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL ROLE wact_owner');
      // Lock the head (if any) on its own: PostgreSQL refuses FOR UPDATE on the nullable side of an outer join.
      await client.query('SELECT 1 FROM audit.chain_heads WHERE stream_id = $1 FOR UPDATE', [workspaceId]);
      const head = await client.query<{ seq: string | null; hash: string | null; events: string; signed: string }>(
        `SELECT h.seq, encode(h.hash, 'hex') AS hash,
                (SELECT count(*) FROM audit.events e WHERE e.stream_id = $1) AS events,
                (SELECT count(*) FROM audit.signed_heads s WHERE s.stream_id = $1) AS signed
           FROM (SELECT 1) one LEFT JOIN audit.chain_heads h ON h.stream_id = $1`,
        [workspaceId],
      );
      const finalSeq = head.rows[0].seq === null ? null : Number(head.rows[0].seq);
      const finalHash = head.rows[0].hash;
      await audit.append({
        action: 'audit.stream.tombstone',
        actor,
        workspaceId: null, // the platform log: it outlives the stream it describes
        target: { type: 'audit_stream', id: workspaceId },
        outcome: 'success',
        metadata: {
          region,
          finalSeq,
          finalHash,
          events: Number(head.rows[0].events),
          signedHeads: Number(head.rows[0].signed),
        },
      });
      const erased = await client.query<{ events: string; last_seq: string | null; last_hash: string | null }>(
        'SELECT events, last_seq, last_hash FROM wact_private.erase_workspace_history($1, $2, $3)',
        [workspaceId, finalSeq, finalHash],
      );
      await client.query('COMMIT');
      return {
        events: Number(erased.rows[0]?.events ?? 0),
        lastSeq: erased.rows[0]?.last_seq ? Number(erased.rows[0].last_seq) : null,
        lastHash: erased.rows[0]?.last_hash ?? null,
      };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      if (url) await (client as pg.Client).end().catch(() => undefined);
      else (client as pg.PoolClient).release();
    }
  }

  /** pg-boss jobs (pending or archived) whose data names the workspace. */
  async function deleteQueuedJobs(workspaceId: string, region: Region): Promise<number> {
    let n = 0;
    for (const table of ['pgboss.job', 'pgboss.archive']) {
      const exists = await pools.region(region).query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [table]);
      if (!exists.rows[0].t) continue;
      const res = await pools
        .region(region)
        // A move purges one region of the workspace while its own job runs: that job (ids only) stays, so its outcome is reported.
        .query(`DELETE FROM ${table} WHERE (data->>'workspaceId' = $1 OR data->>'workspace_id' = $1) AND name <> 'workspace.move'`, [
          workspaceId,
        ]);
      n += res.rowCount ?? 0;
    }
    return n;
  }

  return { wipe, purgeRegion, eraseQueuedHistory };
}

export type WipeService = ReturnType<typeof createWipeService>;
