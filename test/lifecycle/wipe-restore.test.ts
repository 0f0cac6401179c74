import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../shared/config/config.ts';
import { createFieldCrypto } from '../../shared/crypto/field-cipher.ts';
import { workspaceKekPath } from '../../shared/crypto/workspace-kek.ts';
import { startEmbeddedServer, type EmbeddedServer } from '../../shared/db/embedded-server.ts';
import { createWipeService } from '../../shared/lifecycle/wipe-service.ts';
import { hashPhone } from '../../shared/phone/phone.ts';
import { openDatabases } from '../../shared/runtime/databases.ts';
import { createPlatform, type Platform } from '../../shared/runtime/platform.ts';
import { seedSynthetic } from '../../shared/synthetic/synthetic-seeder.ts';
import { createScratchDatabases, databaseEnv, freePort, type ScratchDatabases } from '../support/scratch-databases.ts';
import { testActor } from './lifecycle-support.ts';

/**
 * The insider with a database backup (issue 14, point 1). A throw-away server
 * of its own: seed two workspaces, stop the server, copy its data directory
 * (a cold physical backup), start it, wipe one workspace, stop, put the copy
 * back, start the product on it. The restored database holds every row and
 * every wrapped key of the wiped workspace again; none of it opens.
 */
describe('a wipe survives a restore of a cold database backup', () => {
  let home: string;
  let port: number;
  let server: EmbeddedServer;
  let db: ScratchDatabases;
  let config: Config;
  const backupDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-cold-backup-'));

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-cold-'));
    fs.chmodSync(home, 0o755); // the embedded server runs as an unprivileged OS user
    port = await freePort();
    // persistent: the data directory must survive a stop (that is the backup).
    server = await startEmbeddedServer({ home, port, persistent: true });
    db = await createScratchDatabases({ prefix: 'wact_cold', serverUrl: server.urlFor('postgres') });
    // Key files live in the state folder next to (not inside) the data directory, as in development.
    config = loadConfig({ ...databaseEnv(db), WACT_HOME: home });
  }, 120_000);

  afterAll(async () => {
    await db?.drop().catch(() => undefined);
    await server?.stop().catch(() => undefined);
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(backupDir, { recursive: true, force: true });
  }, 60_000);

  async function platforms() {
    const databases = await openDatabases(config, { migrate: false });
    const operator = createPlatform(config, databases, 'operator', { poolMax: 2 });
    const broker = createPlatform(config, databases, 'broker', { poolMax: 2 });
    return {
      operator,
      broker,
      close: async () => {
        await operator.close();
        await broker.close();
        await databases.close();
      },
    };
  }

  const CLICK_CT = 'SELECT id, fbclid_enc AS c FROM wact.clicks WHERE workspace_id = $1 AND fbclid_enc IS NOT NULL ORDER BY id LIMIT 1';
  const PHONE = '+447700900123';

  it('nothing of the wiped workspace decrypts and no phone hash can be recomputed; the other workspace still works; every process dropped its keys', async () => {
    let p = await platforms();
    const victim = await p.operator.workspaces.create({ name: 'victim', region: 'eu' }, testActor);
    const other = await p.operator.workspaces.create({ name: 'other', region: 'eu' }, testActor);
    const eu = p.operator.pools.region('eu');
    for (const w of [victim, other]) {
      await seedSynthetic(
        { pool: eu, keyring: p.operator.keyring },
        { workspaceId: w.id, region: 'eu', conversations: 40, days: 5, seed: 3 },
      );
    }
    const victimCt = (await eu.query<{ c: Buffer }>(CLICK_CT, [victim.id])).rows[0].c;
    const otherCt = (await eu.query<{ c: Buffer }>(CLICK_CT, [other.id])).rows[0].c;
    const fc = createFieldCrypto(p.operator.keyring);
    const victimClear = await fc.decryptString(victim.id, 'eu', { table: 'clicks', column: 'fbclid_enc' }, victimCt);
    const otherClear = await fc.decryptString(other.id, 'eu', { table: 'clicks', column: 'fbclid_enc' }, otherCt);
    const otherHash = hashPhone(await p.operator.keyring.keyVersion(other.id, 'eu', 'hmac', 1), PHONE);
    const victimHash = hashPhone(await p.operator.keyring.keyVersion(victim.id, 'eu', 'hmac', 1), PHONE);
    // The keys are wrapped by a key of the workspace's own, outside the database.
    const wrappedBy = await eu.query<{ provider: string }>(
      'SELECT DISTINCT provider FROM wact_private.workspace_keys WHERE workspace_id = $1',
      [victim.id],
    );
    expect(wrappedBy.rows).toEqual([{ provider: 'local-ws' }]);
    expect(fs.existsSync(workspaceKekPath(home, 'eu', victim.id))).toBe(true);
    await p.close();

    // Cold physical backup: server stopped, data directory copied.
    await server.stop();
    copyDataDir(path.join(home, 'pg'), path.join(backupDir, 'pg'));
    server = await startEmbeddedServer({ home, port, persistent: true });

    // The wipe, with a second service process holding the victim's keys in its cache.
    p = await platforms();
    const bystander = createPlatform(config, p.broker.databases, 'broker', { poolMax: 1 });
    try {
      const bfc = createFieldCrypto(bystander.keyring);
      expect(await bfc.decryptString(victim.id, 'eu', { table: 'clicks', column: 'fbclid_enc' }, victimCt)).toBe(victimClear);
      await waitFor(async () => (await listeners(p.operator)) >= 2, 'key-event listeners connected');
      await createWipeService(p.broker).wipe(victim.id, testActor, { reason: 'customer left' });
      expect(fs.existsSync(workspaceKekPath(home, 'eu', victim.id))).toBe(false);
      // Within seconds, not the 5-minute cache period: the bystander's cached keys are gone.
      await waitFor(
        () =>
          bfc.decrypt(victim.id, 'eu', { table: 'clicks', column: 'fbclid_enc' }, victimCt).then(
            () => false,
            () => true,
          ),
        'the bystander process to drop its cached keys',
        5_000,
      );
      expect(await bfc.decryptString(other.id, 'eu', { table: 'clicks', column: 'fbclid_enc' }, otherCt)).toBe(otherClear);
    } finally {
      await bystander.close();
      await p.close();
    }

    // Restore the backup over the wiped database and start the product on it.
    await server.stop();
    fs.rmSync(path.join(home, 'pg'), { recursive: true, force: true });
    copyDataDir(path.join(backupDir, 'pg'), path.join(home, 'pg'));
    server = await startEmbeddedServer({ home, port, persistent: true });
    p = await platforms();
    try {
      const restoredEu = p.broker.pools.region('eu');
      // The restore brought everything back: the rows, the ciphertext, the wrapped keys…
      const back = await restoredEu.query<{ c: Buffer }>(CLICK_CT, [victim.id]);
      expect(back.rows[0].c.equals(victimCt)).toBe(true);
      const keyRows = await restoredEu.query('SELECT purpose FROM wact_private.workspace_keys WHERE workspace_id = $1', [victim.id]);
      expect(keyRows.rowCount).toBe(2);
      // …and none of it opens, for any purpose or version.
      for (const pl of [p.broker, p.operator]) {
        const rfc = createFieldCrypto(pl.keyring);
        await expect(rfc.decrypt(victim.id, 'eu', { table: 'clicks', column: 'fbclid_enc' }, victimCt)).rejects.toMatchObject({
          name: 'CryptoError',
          code: 'key_destroyed',
        });
        await expect(pl.keyring.keyVersion(victim.id, 'eu', 'hmac', 1)).rejects.toMatchObject({ code: 'key_destroyed' });
        await expect(pl.keyring.currentKey(victim.id, 'eu', 'dek')).rejects.toMatchObject({ code: 'key_destroyed' });
      }
      // Every ciphertext column of every row of the victim: not one decrypts.
      const all = await restoredEu.query<{ c: Buffer }>(
        `SELECT coalesce(fbclid_enc, gclid_enc, msclkid_enc, ttclid_enc, li_fat_id_enc, ctwa_clid_enc) AS c FROM wact.clicks WHERE workspace_id = $1`,
        [victim.id],
      );
      expect(all.rowCount).toBeGreaterThan(10);
      const rfc = createFieldCrypto(p.broker.keyring);
      let opened = 0;
      for (const r of all.rows) {
        if (!r.c) continue;
        await rfc.decrypt(victim.id, 'eu', { table: 'clicks', column: 'fbclid_enc' }, r.c).then(
          () => opened++,
          () => undefined,
        );
      }
      expect(opened).toBe(0);
      // The phone hash computed before the wipe cannot be reproduced: there is no hashing key to do it with.
      const stillThere = await p.broker.keyring.keyVersion(victim.id, 'eu', 'hmac', 1).catch(() => null);
      expect(stillThere).toBeNull();
      expect(victimHash).toMatch(/^[0-9a-f]{64}$/);

      // The other workspace works on the restored database as before.
      expect(
        await createFieldCrypto(p.broker.keyring).decryptString(other.id, 'eu', { table: 'clicks', column: 'fbclid_enc' }, otherCt),
      ).toBe(otherClear);
      expect(hashPhone(await p.broker.keyring.keyVersion(other.id, 'eu', 'hmac', 1), PHONE)).toBe(otherHash);
    } finally {
      await p.close();
    }
  }, 240_000);
});

/** cp -a: owner and modes preserved (the server runs as its own OS user and refuses a data directory it does not own). */
function copyDataDir(from: string, to: string): void {
  execFileSync('cp', ['-a', from, to]);
}

async function listeners(p: Platform): Promise<number> {
  const { rows } = await p.pools
    .region('eu')
    .query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'wact-broker-key-events' AND datname = current_database()`,
    );
  return rows[0].n;
}

async function waitFor(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
