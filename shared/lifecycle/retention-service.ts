import { z } from 'zod';
import type pg from 'pg';
import type { AuditEventInput, AuditLog } from '../audit/audit-types.ts';
import type { Region } from '../config/config.ts';
import type { Pools } from '../db/pools.ts';
import { BadRequestError } from '../errors/errors.ts';
import type { WorkspaceService } from '../workspaces/workspace-service.ts';
import { openRegionalWorkspace } from './residency.ts';
import {
  DEFAULT_EVENTS_DAYS,
  DEFAULT_RAW_DAYS,
  type RetentionClass,
  type RetentionRunReport,
  type RetentionSettings,
  type RetentionTableReport,
} from './lifecycle-types.ts';

const DAY_MS = 86_400_000;
const DEFAULTS: Record<RetentionClass, number> = { events: DEFAULT_EVENTS_DAYS, raw: DEFAULT_RAW_DAYS };
/** Only one retention run per regional database at a time (any number of workers may be scheduled). */
const RUN_LOCK = 7_007_500;

export const LIFECYCLE_ACTOR: AuditEventInput['actor'] = { id: 'service:lifecycle', kind: 'service', displayName: 'data lifecycle jobs' };

const days = (max: number) => z.coerce.number().int().min(1).max(max);
export const retentionInput = z
  .object({ eventsDays: z.coerce.number().int().min(1).optional(), rawDays: z.coerce.number().int().min(1).optional() })
  .strict()
  .refine((v) => v.eventsDays !== undefined || v.rawDays !== undefined, { message: 'give eventsDays and/or rawDays' });

interface SettingsRow {
  events_days: number;
  raw_days: number;
  updated_at: Date;
  updated_by: string;
}

interface TableRow {
  table_name: string;
  time_column: string;
  class: RetentionClass;
  partitioned: boolean;
}

function toSettings(workspaceId: string, row: SettingsRow | undefined): RetentionSettings {
  return {
    workspaceId,
    eventsDays: row?.events_days ?? DEFAULT_EVENTS_DAYS,
    rawDays: row?.raw_days ?? DEFAULT_RAW_DAYS,
    isDefault: !row,
    updatedAt: row?.updated_at.toISOString() ?? null,
    updatedBy: row?.updated_by ?? null,
    defaults: { eventsDays: DEFAULT_EVENTS_DAYS, rawDays: DEFAULT_RAW_DAYS },
  };
}

/** Identifiers in SQL text come only from wact_private.retention_tables (CHECKed names) and are quoted anyway. */
function qualified(client: Pick<pg.ClientBase, 'escapeIdentifier'>, name: string): string {
  const [schema, table] = name.split('.');
  return `${client.escapeIdentifier(schema)}.${client.escapeIdentifier(table)}`;
}

function addCounts(into: Record<string, number>, rows: { workspace_id: string; n: string | number }[]): number {
  let total = 0;
  for (const r of rows) {
    const n = Number(r.n);
    into[r.workspace_id] = (into[r.workspace_id] ?? 0) + n;
    total += n;
  }
  return total;
}

/**
 * Retention settings (per workspace, only ever shorter than the defaults) and
 * the run that enforces them: whole time partitions older than the longest
 * allowed retention are dropped, then the boundary is trimmed row-exactly,
 * then workspaces with a shorter setting are trimmed to their own cutoff.
 */
export function createRetentionService(deps: {
  pools: Pick<Pools, 'region' | 'control'>;
  workspaces: Pick<WorkspaceService, 'get'>;
  audit: AuditLog;
}) {
  const { pools, audit } = deps;

  async function getSettings(workspaceId: string): Promise<RetentionSettings> {
    const { workspace, pool } = await openRegionalWorkspace(deps, workspaceId);
    const { rows } = await pool.query<SettingsRow>(
      'SELECT events_days, raw_days, updated_at, updated_by FROM wact.retention_settings WHERE workspace_id = $1',
      [workspace.id],
    );
    return toSettings(workspace.id, rows[0]);
  }

  async function setSettings(workspaceId: string, input: unknown, actor: AuditEventInput['actor']): Promise<RetentionSettings> {
    const parsed = retentionInput.safeParse(input);
    if (!parsed.success) throw new BadRequestError(`invalid retention settings: ${parsed.error.issues[0].message}`, 'invalid_retention');
    const { eventsDays, rawDays } = parsed.data;
    if (eventsDays !== undefined && !days(DEFAULT_EVENTS_DAYS).safeParse(eventsDays).success) {
      throw new BadRequestError(
        `attributed events can be kept at most ${DEFAULT_EVENTS_DAYS} days (24 months): retention can be shortened, not lengthened`,
        'retention_too_long',
      );
    }
    if (rawDays !== undefined && !days(DEFAULT_RAW_DAYS).safeParse(rawDays).success) {
      throw new BadRequestError(
        `raw webhook payloads can be kept at most ${DEFAULT_RAW_DAYS} days: retention can be shortened, not lengthened`,
        'retention_too_long',
      );
    }
    const before = await getSettings(workspaceId);
    const { workspace, pool } = await openRegionalWorkspace(deps, workspaceId);
    const next = { eventsDays: eventsDays ?? before.eventsDays, rawDays: rawDays ?? before.rawDays };
    const { rows } = await pool.query<SettingsRow>(
      `INSERT INTO wact.retention_settings (workspace_id, events_days, raw_days, updated_by) VALUES ($1, $2, $3, $4)
       ON CONFLICT (workspace_id) DO UPDATE SET events_days = EXCLUDED.events_days, raw_days = EXCLUDED.raw_days,
                                                updated_by = EXCLUDED.updated_by, updated_at = now()
       RETURNING events_days, raw_days, updated_at, updated_by`,
      [workspace.id, next.eventsDays, next.rawDays, actor.id.slice(0, 200)],
    );
    await audit.append({
      action: 'retention.update',
      actor,
      workspaceId: workspace.id,
      region: workspace.region,
      target: { type: 'retention_settings', id: workspace.id },
      outcome: 'success',
      metadata: { eventsDaysBefore: before.eventsDays, rawDaysBefore: before.rawDays, eventsDays: next.eventsDays, rawDays: next.rawDays },
    });
    return toSettings(workspace.id, rows[0]);
  }

  /** One retention pass over one regional database. */
  async function run(
    region: Region,
    opts: { actor?: AuditEventInput['actor']; asOf?: Date } = {},
  ): Promise<RetentionRunReport & { skipped?: boolean }> {
    const started = Date.now();
    const client = await pools.region(region).connect();
    const tables: RetentionTableReport[] = [];
    let ranAt = new Date();
    try {
      const lock = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [RUN_LOCK]);
      if (!lock.rows[0].ok) return { region, ranAt: ranAt.toISOString(), tables, totalRemoved: 0, durationMs: 0, skipped: true };
      try {
        // The database's clock decides what is expired (the definer refuses a future cutoff).
        ranAt = (await client.query<{ now: Date }>('SELECT now() AS now')).rows[0].now;
        // A run "as of" an earlier moment removes less, never more (catching up on a backlog in steps).
        if (opts.asOf) {
          if (opts.asOf.getTime() > ranAt.getTime())
            throw new BadRequestError('a retention run cannot be dated in the future', 'invalid_retention_run');
          ranAt = opts.asOf;
        }
        const registered = await client.query<TableRow>(
          `SELECT t.table_name, t.time_column, t.class, c.relkind = 'p' AS partitioned
             FROM wact_private.retention_tables t JOIN pg_class c ON c.oid = to_regclass(t.table_name)
            ORDER BY t.run_order, t.table_name`,
        );
        const shorter = await client.query<{ workspace_id: string; events_days: number; raw_days: number }>(
          'SELECT workspace_id, events_days, raw_days FROM wact.retention_settings',
        );
        for (const t of registered.rows) {
          tables.push(await trimTable(client, t, ranAt, shorter.rows));
        }
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [RUN_LOCK]).catch(() => undefined);
      }
    } finally {
      client.release();
    }

    const byWorkspace = new Map<string, Record<string, number>>();
    let totalRemoved = 0;
    for (const t of tables) {
      for (const [ws, n] of Object.entries(t.removed)) {
        if (!n) continue;
        const m = byWorkspace.get(ws) ?? {};
        m[t.table] = (m[t.table] ?? 0) + n;
        byWorkspace.set(ws, m);
        totalRemoved += n;
      }
    }
    const actor = opts.actor ?? LIFECYCLE_ACTOR;
    const report: RetentionRunReport = { region, ranAt: ranAt.toISOString(), tables, totalRemoved, durationMs: Date.now() - started };
    // Each workspace's own stream says what left it; the platform log has the run as a whole.
    for (const [ws, counts] of byWorkspace) {
      await audit.append({
        action: 'retention.run',
        actor,
        workspaceId: ws,
        region,
        target: { type: 'workspace', id: ws },
        outcome: 'success',
        metadata: counts,
      });
    }
    const metadata: Record<string, number | string> = {
      region,
      totalRemoved,
      partitionsDropped: tables.reduce((n, t) => n + t.droppedPartitions.length, 0),
    };
    for (const t of tables) metadata[t.table] = Object.values(t.removed).reduce((a, b) => a + b, 0);
    await audit.append({
      action: 'retention.run',
      actor,
      workspaceId: null,
      target: { type: 'region', id: region },
      outcome: 'success',
      metadata,
    });
    return report;
  }

  return { getSettings, setSettings, run };
}

/**
 * Trims one table. Partition drops and the boundary DELETE use the longest
 * allowed retention (the default: nobody may keep data longer); workspaces
 * with a shorter setting are then trimmed one by one.
 */
export async function trimTable(
  client: pg.PoolClient | pg.Client,
  t: TableRow,
  now: Date,
  shorter: { workspace_id: string; events_days: number; raw_days: number }[],
): Promise<RetentionTableReport> {
  const removed: Record<string, number> = {};
  const droppedPartitions: string[] = [];
  const table = qualified(client, t.table_name);
  const time = client.escapeIdentifier(t.time_column);
  const cutoff = new Date(now.getTime() - DEFAULTS[t.class] * DAY_MS);

  if (t.partitioned) {
    const parts = await client.query<{ partition: string; lower_bound: Date; upper_bound: Date }>(
      'SELECT partition::text, lower_bound, upper_bound FROM wact_private.time_partitions($1::regclass) WHERE upper_bound <= $2',
      [t.table_name, cutoff],
    );
    if (parts.rows.length) {
      // One transaction: the owner counts each expired partition per workspace (for the audit event) and
      // drops it (wact_private.drop_expired_partitions_counted); one commit for the lot.
      await client.query('BEGIN');
      try {
        const counts = await client.query<{ workspace_id: string; n: string }>(
          'SELECT workspace_id, row_count AS n FROM wact_private.drop_expired_partitions_counted($1::regclass, $2::regclass[], $3)',
          [t.table_name, parts.rows.map((p) => p.partition), cutoff],
        );
        await client.query('COMMIT');
        addCounts(removed, counts.rows);
        droppedPartitions.push(...parts.rows.map((p) => p.partition));
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }
  }

  // The boundary: rows older than the cutoff in the partition that straddles it (or the whole unpartitioned table).
  const boundary = await client.query<{ workspace_id: string; n: string }>(
    `WITH d AS (DELETE FROM ${table} WHERE ${time} < $1 RETURNING workspace_id) SELECT workspace_id, count(*) AS n FROM d GROUP BY workspace_id`,
    [cutoff],
  );
  addCounts(removed, boundary.rows);

  for (const s of shorter) {
    const keepDays = t.class === 'events' ? s.events_days : s.raw_days;
    if (keepDays >= DEFAULTS[t.class]) continue;
    const own = new Date(now.getTime() - keepDays * DAY_MS);
    const res = await client.query(`DELETE FROM ${table} WHERE workspace_id = $1 AND ${time} < $2`, [s.workspace_id, own]);
    if (res.rowCount) removed[s.workspace_id] = (removed[s.workspace_id] ?? 0) + res.rowCount;
  }
  return { table: t.table_name, class: t.class, droppedPartitions, removed };
}
