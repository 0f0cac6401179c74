import pg from 'pg';

/**
 * A database's schema as a sorted list of lines, one per catalogue fact:
 * schemas, tables and their columns, constraints, indexes, partitioning,
 * row-level security, views, functions (whole definition), policies,
 * triggers, types, every ACL (object, column, default) and a little
 * reference data. Two databases with equal lists have the same schema as far
 * as the application and its roles can tell; `diffCatalogs` says how they
 * differ. Used to prove a squashed baseline equals the migrations it replaced.
 *
 * ACL entries are sorted: their order in the catalogue is the order of the
 * GRANTs, which carries no meaning. A partition's own ACL is left out: rows
 * are reached through the parent (nobody is granted a partition), and which
 * default privileges a partition got depends only on when it was created.
 */
export async function catalogOf(url: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: url, application_name: 'wact-catalog' });
  await c.connect();
  try {
    const lines: string[] = [];
    const add = async (sql: string) => {
      const { rows } = await c.query<{ line: string }>(sql);
      for (const r of rows) lines.push(r.line);
    };
    const ns = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'`;
    const acl = (col: string) => `coalesce((SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(${col}) a), '-')`;
    await add(`SELECT 'schema ' || n.nspname || ' owner=' || pg_get_userbyid(n.nspowner) || ' acl=' || ${acl('n.nspacl')} AS line
                 FROM pg_namespace n WHERE ${ns} AND n.nspname <> 'public'`);
    await add(`SELECT 'relation ' || c.oid::regclass::text || ' kind=' || c.relkind::text || ' owner=' || pg_get_userbyid(c.relowner)
                      || ' acl=' || CASE WHEN c.relispartition THEN 'of-parent' ELSE ${acl('c.relacl')} END || ' rls=' || c.relrowsecurity || '/' || c.relforcerowsecurity
                      || ' options=' || coalesce(array_to_string(c.reloptions, ','), '-')
                      || ' partkey=' || coalesce(pg_get_partkeydef(c.oid), '-')
                      || ' bound=' || coalesce(pg_get_expr(c.relpartbound, c.oid), '-') AS line
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE ${ns} AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')`);
    await add(`SELECT 'column ' || c.oid::regclass::text || '.' || a.attname
                      || ' #' || row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum)
                      || ' ' || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
                      || ' default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '-')
                      || ' identity=' || a.attidentity::text || ' generated=' || a.attgenerated::text
                      || ' acl=' || ${acl('a.attacl')} AS line
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                 LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
                WHERE ${ns} AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`);
    await add(`SELECT 'constraint ' || c.conrelid::regclass::text || ' ' || c.conname || ' ' || pg_get_constraintdef(c.oid) AS line
                 FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
                WHERE ${ns} AND c.conrelid <> 0`);
    await add(`SELECT 'index ' || pg_get_indexdef(i.indexrelid) AS line
                 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE ${ns}`);
    await add(`SELECT 'view ' || c.oid::regclass::text || ' ' || pg_get_viewdef(c.oid) AS line
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${ns} AND c.relkind IN ('v', 'm')`);
    await add(`SELECT 'function ' || p.oid::regprocedure::text || ' owner=' || pg_get_userbyid(p.proowner)
                      || ' acl=' || ${acl('p.proacl')} || E'\\n' || pg_get_functiondef(p.oid) AS line
                 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE ${ns} AND p.prokind IN ('f', 'p')`);
    await add(`SELECT 'policy ' || p.polrelid::regclass::text || ' ' || p.polname || ' cmd=' || p.polcmd::text
                      || ' permissive=' || p.polpermissive
                      || ' roles=' || (SELECT string_agg(CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r) END, ',' ORDER BY 1) FROM unnest(p.polroles) r)
                      || ' using=' || coalesce(pg_get_expr(p.polqual, p.polrelid), '-')
                      || ' check=' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '-') AS line
                 FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${ns}`);
    await add(`SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text AS line
                 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE ${ns} AND NOT t.tgisinternal`);
    await add(`SELECT 'type ' || t.oid::regtype::text || ' kind=' || t.typtype::text || ' owner=' || pg_get_userbyid(t.typowner)
                      || coalesce(' labels=' || (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), '') AS line
                 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                WHERE ${ns} AND t.typtype IN ('e', 'd', 'c') AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')`);
    await add(`SELECT 'default-acl ' || pg_get_userbyid(d.defaclrole) || ' in ' || coalesce(n.nspname, '*') || ' on ' || d.defaclobjtype::text
                      || ' acl=' || ${acl('d.defaclacl')} AS line
                 FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace`);
    await add(`SELECT 'extension ' || extname AS line FROM pg_extension`);
    // Reference data the schema carries.
    await add(`SELECT 'row wact_private.retention_tables ' || t::text AS line FROM wact_private.retention_tables t
                WHERE to_regclass('wact_private.retention_tables') IS NOT NULL`).catch(ignoreMissing);
    await add(`SELECT 'row pgboss.version ' || version AS line FROM pgboss.version`).catch(ignoreMissing);
    return lines.sort();
  } finally {
    await c.end().catch(() => undefined);
  }
}

function ignoreMissing(err: { code?: string }) {
  if (err.code !== '42P01' && err.code !== '3F000') throw err;
}

/** Lines only in `a` and lines only in `b`. */
export function diffCatalogs(a: string[], b: string[]): { onlyA: string[]; onlyB: string[] } {
  const sa = new Set(a);
  const sb = new Set(b);
  return { onlyA: a.filter((l) => !sb.has(l)), onlyB: b.filter((l) => !sa.has(l)) };
}
