import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { migrateDatabase } from '../../db/migrator.ts';
import { databaseNames, DATABASE_TARGETS, withDatabase, type DatabaseUrls } from '../../shared/db/database-urls.ts';
import { startEmbeddedServer, type EmbeddedServer } from '../../shared/db/embedded-server.ts';
import {
  ensureDatabase,
  SERVICE_ROLES,
  setServicePasswords,
  type Databases,
  type ServicePasswords,
} from '../../shared/runtime/databases.ts';

/** A free TCP port on loopback (for a throw-away server). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export interface ScratchDatabases {
  serverUrl: string;
  /** The throw-away embedded server, if one was started (absent when a server URL was given). */
  server?: EmbeddedServer;
  /** A temporary folder (the embedded server's data is in `<home>/pg`); removed by `drop`. */
  home: string;
  prefix: string;
  names: Record<(typeof DATABASE_TARGETS)[number], string>;
  urls: DatabaseUrls;
  servicePasswords: ServicePasswords;
  /** Drops the databases, stops the server if it was ours, removes the folder. */
  drop(): Promise<void>;
}

/**
 * Control, eu and us databases with a random prefix, migrated, with fresh
 * service-role passwords: on `serverUrl` if given, else on a throw-away
 * embedded server. Used by the test run's global setup and the benchmarks.
 */
export async function createScratchDatabases(opts: {
  prefix: string;
  serverUrl?: string;
  /** Lines the throw-away server logs (only when one is started here). */
  onLog?: (line: string) => void;
}): Promise<ScratchDatabases> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `${opts.prefix}-`));
  fs.chmodSync(home, 0o755); // the embedded server runs as an unprivileged OS user
  let server: EmbeddedServer | undefined;
  let serverUrl = opts.serverUrl;
  if (!serverUrl) {
    server = await startEmbeddedServer({ home, port: await freePort(), persistent: false, onLog: opts.onLog });
    serverUrl = server.urlFor('postgres');
  }
  const prefix = `${opts.prefix}${crypto.randomBytes(4).toString('hex')}`;
  const names = databaseNames(prefix);
  const urls = Object.fromEntries(DATABASE_TARGETS.map((t) => [t, withDatabase(serverUrl, names[t])])) as DatabaseUrls;
  const drop = async () => {
    const admin = new pg.Client({ connectionString: serverUrl });
    // A client that never connected queues its queries forever: with nothing else pending, Node then exits 0 —
    // a test run against an unreachable server would "pass" with no test run instead of failing.
    if (
      await admin.connect().then(
        () => true,
        () => false,
      )
    ) {
      for (const t of DATABASE_TARGETS)
        await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(names[t])} WITH (FORCE)`).catch(() => undefined);
      await admin.end().catch(() => undefined);
    }
    if (server) await server.stop();
    fs.rmSync(home, { recursive: true, force: true });
  };
  try {
    for (const t of DATABASE_TARGETS) {
      await ensureDatabase(serverUrl, names[t]);
      await migrateDatabase(urls[t], t, { env: 'test' });
    }
    const servicePasswords = Object.fromEntries(
      SERVICE_ROLES.map((r) => [r, crypto.randomBytes(18).toString('base64url')]),
    ) as ServicePasswords;
    await setServicePasswords(urls.control, servicePasswords);
    return { serverUrl, server, home, prefix, names, urls, servicePasswords, drop };
  } catch (err) {
    await drop();
    throw err;
  }
}

/** The environment of a process (CLI, service) pointed at these databases. */
export function databaseEnv(db: { urls: Record<'control' | 'eu' | 'us', string>; servicePasswords: ServicePasswords }) {
  return {
    WACT_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL_CONTROL: db.urls.control,
    DATABASE_URL_EU: db.urls.eu,
    DATABASE_URL_US: db.urls.us,
    WACT_DB_PASSWORD_INGEST: db.servicePasswords.ingest,
    WACT_DB_PASSWORD_BROKER: db.servicePasswords.broker,
    WACT_DB_PASSWORD_SIGNER: db.servicePasswords.signer,
  };
}

/** A Databases over already-migrated databases with known service passwords (no server owned). */
export function databasesOf(db: { urls: Record<'control' | 'eu' | 'us', string>; servicePasswords: ServicePasswords }): Databases {
  return {
    urls: db.urls,
    servicePasswords: db.servicePasswords,
    credential: (role) => db.servicePasswords[role],
    close: async () => undefined,
  };
}
