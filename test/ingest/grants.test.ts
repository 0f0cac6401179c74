import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAs, testDb } from '../support/db.ts';
import type pg from 'pg';

/** wact_ingest may insert and read what it handles, nothing more; secrets and keys it only reads. */
describe('ingest grants', () => {
  let c: pg.Client;
  beforeAll(async () => {
    c = await connectAs('eu', 'wact_ingest', testDb().servicePasswords.ingest);
  });
  afterAll(async () => c?.end());

  const refused = async (sql: string) => {
    await expect(c.query(sql)).rejects.toMatchObject({ code: '42501' });
  };

  it('cannot update or delete what it wrote, nor drop partitions', async () => {
    for (const t of ['conversations', 'clicks', 'raw_webhook_payloads', 'webhook_receipts', 'conversions', 'export_attempts']) {
      await refused(`UPDATE wact.${t} SET workspace_id = workspace_id`);
      await refused(`DELETE FROM wact.${t}`);
    }
    await refused('DROP TABLE wact.raw_webhook_payloads');
  });

  it('cannot write secrets, links or API keys (operator and console do)', async () => {
    const ws = randomUUID();
    await refused(`INSERT INTO wact.bsp_credentials (workspace_id, provider, secret_enc) VALUES ('${ws}', 'meta', '\\x00')`);
    await refused(`INSERT INTO wact.api_keys (id, workspace_id, key_hash) VALUES ('${ws}', '${ws}', '${'0'.repeat(64)}')`);
    await refused(`INSERT INTO wact.links (id, workspace_id, wa_number) VALUES ('abcdefgh', '${ws}', '447700900123')`);
    await refused(`UPDATE wact.api_keys SET revoked_at = now()`);
  });

  it('creates partitions and queues only through definer functions, and needs no DDL for pg-boss', async () => {
    await expect(c.query('SELECT wact_private.ensure_ingest_partitions(current_date, 1)')).resolves.toBeTruthy();
    await refused('CREATE TABLE wact.x (id int)');
    await refused("SELECT pgboss.create_queue('x-y', '{}'::json)");
    await expect(c.query(`SELECT wact_private.ensure_job_queue('grants-test-queue', '{"policy":"standard"}'::json)`)).resolves.toBeTruthy();
  });
});
