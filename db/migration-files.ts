import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const DB_DIR = path.dirname(fileURLToPath(import.meta.url));
export type MigrationSet = 'control' | 'regional';

/** One numbered file of db/migrations/<set>: the baseline (0000) or a later change. */
export interface Migration {
  version: string; // the file's numeric prefix, e.g. "0000"
  name: string; // the file name
  sql: string; // with its `\ir` includes expanded
  checksum: string; // sha256 of the expanded text
}

/** One file re-applied on every migrate: a function, view, policy, trigger or upkeep statement. */
export interface SchemaObject {
  kind: (typeof OBJECT_KINDS)[number];
  name: string; // the file name, e.g. "audit.append.sql"
  sql: string;
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

export const BASELINE_VERSION = '0000';

/**
 * The numbered SQL files of one set, in order. A line `\ir <path>` (psql's
 * include-relative, so the files also run under psql) is replaced by that
 * file's text: the audit schema is one file included by both baselines. The
 * checksum covers the expanded text, so editing an included file is editing
 * every migration that includes it.
 */
export function loadMigrations(set: MigrationSet, dir = path.join(DB_DIR, 'migrations', set)): Migration[] {
  const files = fs
    .readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort();
  const seen = new Set<string>();
  return files.map((name) => {
    const version = name.slice(0, 4);
    if (seen.has(version)) throw new MigrationError(`two migrations share version ${version} in ${set}`);
    seen.add(version);
    const sql = expandIncludes(path.join(dir, name), []);
    return { version, name, sql, checksum: crypto.createHash('sha256').update(sql, 'utf8').digest('hex') };
  });
}

function expandIncludes(file: string, stack: string[]): string {
  if (stack.includes(file)) throw new MigrationError(`include cycle: ${[...stack, file].join(' -> ')}`);
  const text = fs.readFileSync(file, 'utf8');
  return text.replace(/^\\ir[ \t]+(\S+)[ \t]*$/gm, (_line, rel: string) => {
    const target = path.resolve(path.dirname(file), rel);
    if (!target.startsWith(DB_DIR + path.sep)) throw new MigrationError(`${file}: include outside db/: ${rel}`);
    return expandIncludes(target, [...stack, file]).trimEnd();
  });
}

/**
 * Re-applied on every migrate, after the numbered migrations, in this order:
 * functions (bodies not checked at creation, so their order does not matter),
 * views (they call functions), policies and triggers (they need both), then
 * upkeep (idempotent statements such as partitions made ahead of time).
 */
export const OBJECT_KINDS = ['functions', 'views', 'policies', 'triggers', 'upkeep'] as const;

/**
 * The object files for one set. Each file's first line says where it runs:
 * `-- databases: control, regional` or `-- databases: regional` (a file
 * without that line is refused, so nothing is applied to a database by
 * accident of its schema name).
 */
export function loadSchemaObjects(set: MigrationSet, root = DB_DIR): SchemaObject[] {
  const out: SchemaObject[] = [];
  for (const kind of OBJECT_KINDS) {
    const dir = path.join(root, kind);
    if (!fs.existsSync(dir)) continue;
    for (const name of fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.sql'))
      .sort()) {
      const sql = fs.readFileSync(path.join(dir, name), 'utf8');
      const header = /^-- databases: ([a-z, ]+)\n/.exec(sql);
      if (!header) throw new MigrationError(`db/${kind}/${name} must start with "-- databases: control, regional" (or one of them)`);
      const sets = header[1].split(',').map((s) => s.trim());
      if (sets.some((s) => s !== 'control' && s !== 'regional'))
        throw new MigrationError(`db/${kind}/${name}: unknown database kind in ${header[1]}`);
      if (sets.includes(set)) out.push({ kind, name, sql });
    }
  }
  return out;
}
