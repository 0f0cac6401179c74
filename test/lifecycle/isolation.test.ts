import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDatabase } from '../../db/migrator.ts';
import { DATABASE_TARGETS, type DatabaseUrls } from '../../shared/db/database-urls.ts';
import { openDatabases, verifyDatabaseIdentities } from '../../shared/runtime/databases.ts';
import { freshDatabases, testConfig, testDb } from '../support/db.ts';

describe('production isolation', () => {
  let prod: { urls: DatabaseUrls; drop(): Promise<void> };
  beforeAll(async () => {
    prod = await freshDatabases();
    for (const t of DATABASE_TARGETS) await migrateDatabase(prod.urls[t], t, { env: 'production' });
  }, 120_000);
  afterAll(async () => prod.drop());

  const on = (urls: DatabaseUrls, env: Record<string, string> = {}) =>
    testConfig({ DATABASE_URL_CONTROL: urls.control, DATABASE_URL_EU: urls.eu, DATABASE_URL_US: urls.us, ...env });

  it('a staging process refuses a production database (before touching a row)', async () => {
    await expect(openDatabases(on(prod.urls, { WACT_ENV: 'staging' }))).rejects.toThrow(
      /staging process must not use a production database/,
    );
  });

  it('a test or development process refuses it too', async () => {
    await expect(openDatabases(on(prod.urls))).rejects.toThrow(/test process must not use a production database/);
    await expect(verifyDatabaseIdentities(prod.urls, 'development')).rejects.toThrow(/must not use a production database/);
  });

  it('a production process refuses a non-production database', async () => {
    await expect(verifyDatabaseIdentities(testDb().urls as DatabaseUrls, 'production')).rejects.toThrow(
      /production process must not use a test database/,
    );
  });

  it('a database given for the wrong part is refused (eu URL as control)', async () => {
    const urls = testDb().urls as DatabaseUrls;
    await expect(verifyDatabaseIdentities({ ...urls, control: urls.eu }, 'test')).rejects.toThrow(/configured as control is a eu database/);
  });

  it('the same environment is accepted', async () => {
    const dbs = await openDatabases(on(testDb().urls as DatabaseUrls));
    await dbs.close();
    await expect(verifyDatabaseIdentities(prod.urls, 'production')).resolves.toBeUndefined();
  });
});
