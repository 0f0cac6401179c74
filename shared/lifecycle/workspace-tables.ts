import type pg from 'pg';

/**
 * The tables of a database that hold workspace rows (a `workspace_id`
 * column), parents of partitions only, ordered so that a table is listed
 * before any table it references (delete in this order, never trip a foreign
 * key). Found from the catalog, so tables other features add are covered
 * without this module knowing them. The audit schema is left to its own rules.
 */
export async function workspaceTables(pool: Pick<pg.Pool, 'query'>): Promise<string[]> {
  const { rows: tables } = await pool.query<{ t: string }>(
    `SELECT c.oid::regclass::text AS t
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'workspace_id' AND NOT a.attisdropped
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
        AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'audit')
      ORDER BY 1`,
  );
  const { rows: edges } = await pool.query<{ child: string; parent: string }>(
    `SELECT DISTINCT conrelid::regclass::text AS child, confrelid::regclass::text AS parent
       FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid
      WHERE c.contype = 'f' AND NOT r.relispartition AND conrelid <> confrelid`,
  );
  const names = new Set(tables.map((r) => r.t));
  // Kahn's algorithm on "child must go before parent".
  const parentsOf = new Map<string, Set<string>>();
  const pendingChildren = new Map<string, number>();
  for (const t of names) pendingChildren.set(t, 0);
  for (const e of edges) {
    if (!names.has(e.child) || !names.has(e.parent)) continue;
    if (!parentsOf.has(e.child)) parentsOf.set(e.child, new Set());
    if (parentsOf.get(e.child)!.has(e.parent)) continue;
    parentsOf.get(e.child)!.add(e.parent);
    pendingChildren.set(e.parent, pendingChildren.get(e.parent)! + 1);
  }
  const ready = [...names].filter((t) => pendingChildren.get(t) === 0).sort();
  const order: string[] = [];
  while (ready.length) {
    const t = ready.shift()!;
    order.push(t);
    for (const p of parentsOf.get(t) ?? []) {
      const n = pendingChildren.get(p)! - 1;
      pendingChildren.set(p, n);
      if (n === 0) ready.push(p);
    }
  }
  // A cycle (none today) would leave tables out: append them, cascades or a retry sort it out.
  for (const t of [...names].sort()) if (!order.includes(t)) order.push(t);
  return order;
}

/** Rows of the workspace left in each workspace table (only non-zero counts). */
export async function remainingRows(pool: Pick<pg.Pool, 'query'>, workspaceId: string, tables?: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of tables ?? (await workspaceTables(pool))) {
    const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t} WHERE workspace_id = $1`, [workspaceId]);
    if (rows[0].n) out[t] = rows[0].n;
  }
  const anchor = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM wact.workspaces WHERE id = $1', [workspaceId]);
  if (anchor.rows[0].n) out['wact.workspaces'] = anchor.rows[0].n;
  return out;
}
