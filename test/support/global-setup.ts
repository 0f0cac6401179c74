import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedServer, type EmbeddedServer } from '../../shared/db/embedded-server.ts';
import { databaseNames, DATABASE_TARGETS, withDatabase } from '../../shared/db/database-urls.ts';
import { ensureDatabase, setServicePasswords } from '../../shared/runtime/databases.ts';
import { migrateDatabase } from '../../db/migrator.ts';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/**
 * One PostgreSQL server for the whole run: a throw-away embedded server, or
 * the server named by WACT_TEST_DATABASE_URL. Either way the run creates its
 * own databases (control, eu, us with a random prefix), migrates them, and
 * drops them at the end.
 */
export default async function setup(project: TestProject) {
  let server: EmbeddedServer | undefined;
  let tmpHome: string | undefined;
  let serverUrl: string;
  if (process.env.WACT_TEST_DATABASE_URL) {
    serverUrl = process.env.WACT_TEST_DATABASE_URL;
  } else {
    tmpHome = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-test-'));
    fs.chmodSync(tmpHome, 0o755); // the embedded server runs as an unprivileged OS user
    server = await startEmbeddedServer({ home: tmpHome, port: await freePort(), persistent: false });
    serverUrl = server.urlFor('postgres');
  }
  const prefix = `wact_t${crypto.randomBytes(4).toString('hex')}`;
  const names = databaseNames(prefix);
  const urls = Object.fromEntries(DATABASE_TARGETS.map((t) => [t, withDatabase(serverUrl, names[t])])) as Record<string, string>;
  for (const t of DATABASE_TARGETS) {
    await ensureDatabase(serverUrl, names[t]);
    await migrateDatabase(urls[t], t, { env: 'test' });
  }
  const servicePasswords = { ingest: crypto.randomBytes(18).toString('base64url'), broker: crypto.randomBytes(18).toString('base64url') };
  await setServicePasswords(urls.control, servicePasswords);

  // One state folder for the whole run: every test process must share the
  // local KEKs, because platform keys (audit signing, identity) wrapped by one
  // test are read by others from the same databases.
  const runHome = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-run-home-'));
  project.provide('wactDb', { serverUrl, urls, prefix, servicePasswords, home: runHome });

  return async () => {
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect().catch(() => undefined);
    for (const t of DATABASE_TARGETS) {
      await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(names[t])} WITH (FORCE)`).catch(() => undefined);
    }
    await admin.end().catch(() => undefined);
    if (server) await server.stop();
    if (tmpHome) fs.rmSync(tmpHome, { recursive: true, force: true });
    fs.rmSync(runHome, { recursive: true, force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    wactDb: {
      serverUrl: string;
      urls: Record<'control' | 'eu' | 'us', string>;
      prefix: string;
      servicePasswords: { ingest: string; broker: string };
      /** The run's shared state folder (local KEKs, dev certificates). */
      home: string;
    };
  }
}
