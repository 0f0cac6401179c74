import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { createScratchDatabases } from './scratch-databases.ts';
import type { ServicePasswords } from '../../shared/runtime/databases.ts';

/**
 * One PostgreSQL server for the whole run: a throw-away embedded server, or
 * the server named by WACT_TEST_DATABASE_URL. Either way the run creates its
 * own databases (control, eu, us with a random prefix), migrates them, and
 * drops them at the end.
 */
export default async function setup(project: TestProject) {
  const db = await createScratchDatabases({ prefix: 'wact_t', serverUrl: process.env.WACT_TEST_DATABASE_URL });
  const { serverUrl, urls, prefix, servicePasswords } = db;

  // One state folder for the whole run: every test process must share the
  // local KEKs, because platform keys (audit signing, identity) wrapped by one
  // test are read by others from the same databases.
  const runHome = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-run-home-'));
  project.provide('wactDb', { serverUrl, urls, prefix, servicePasswords, home: runHome });

  return async () => {
    await db.drop();
    fs.rmSync(runHome, { recursive: true, force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    wactDb: {
      serverUrl: string;
      urls: Record<'control' | 'eu' | 'us', string>;
      prefix: string;
      servicePasswords: ServicePasswords;
      /** The run's shared state folder (local KEKs, dev certificates). */
      home: string;
    };
  }
}
