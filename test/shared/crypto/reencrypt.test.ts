import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFieldCrypto, readKeyVersion } from '../../../shared/crypto/field-cipher.ts';
import { seedSynthetic } from '../../../shared/synthetic/synthetic-seeder.ts';
import { lifecyclePlatforms, newWorkspace, testActor } from '../../lifecycle/lifecycle-support.ts';

const ENC_COLS = ['fbclid_enc', 'gclid_enc', 'msclkid_enc', 'ttclid_enc', 'li_fat_id_enc', 'ctwa_clid_enc'];

describe('rotate-keys --reencrypt', () => {
  let ctx: Awaited<ReturnType<typeof lifecyclePlatforms>>;
  beforeAll(async () => {
    ctx = await lifecyclePlatforms();
  });
  afterAll(async () => ctx.close());

  /** Key version of every ciphertext of the workspace in clicks, conversations and raw payloads, plus bsp_credentials. */
  async function versions(workspaceId: string): Promise<Map<number, number>> {
    const eu = ctx.operator.pools.region('eu');
    const out = new Map<number, number>();
    const add = (b: Buffer | null) => {
      if (b) out.set(readKeyVersion(b), (out.get(readKeyVersion(b)) ?? 0) + 1);
    };
    for (const c of ENC_COLS) {
      for (const r of (await eu.query<{ c: Buffer | null }>(`SELECT ${c} AS c FROM wact.clicks WHERE workspace_id = $1`, [workspaceId]))
        .rows)
        add(r.c);
    }
    for (const r of (
      await eu.query<{ c: Buffer | null }>('SELECT ctwa_clid_enc AS c FROM wact.conversations WHERE workspace_id = $1', [workspaceId])
    ).rows)
      add(r.c);
    for (const r of (
      await eu.query<{ c: Buffer | null }>('SELECT payload_enc AS c FROM wact.raw_webhook_payloads WHERE workspace_id = $1', [workspaceId])
    ).rows)
      add(r.c);
    for (const r of (
      await eu.query<{ c: Buffer | null }>('SELECT secret_enc AS c FROM wact.bsp_credentials WHERE workspace_id = $1', [workspaceId])
    ).rows)
      add(r.c);
    return out;
  }

  it('re-encrypts every ciphertext in resumable batches after an interruption, then retires the old data key; hashes keep matching', async () => {
    const ws = await newWorkspace(ctx.operator, 'eu');
    const other = await newWorkspace(ctx.operator, 'eu');
    const eu = ctx.operator.pools.region('eu');
    for (const w of [ws, other]) {
      await seedSynthetic(
        { pool: eu, keyring: ctx.operator.keyring },
        { workspaceId: w.id, region: 'eu', conversations: 120, days: 5, seed: 5 },
      );
    }
    const fc = createFieldCrypto(ctx.operator.keyring);
    // A row-bound ciphertext (column suffixed with the provider).
    await eu.query(`INSERT INTO wact.bsp_credentials (workspace_id, provider, secret_enc) VALUES ($1, 'twilio', $2)`, [
      ws.id,
      await fc.encrypt(ws.id, 'eu', { table: 'bsp_credentials', column: 'secret_enc:twilio' }, 'auth-token'),
    ]);
    const before = await versions(ws.id);
    const total = [...before.values()].reduce((a, b) => a + b, 0);
    expect([...before.keys()]).toEqual([1]);
    expect(total).toBeGreaterThan(200);
    const sample = (
      await eu.query<{ id: string; c: Buffer }>(
        'SELECT id, fbclid_enc AS c FROM wact.clicks WHERE workspace_id = $1 AND fbclid_enc IS NOT NULL LIMIT 1',
        [ws.id],
      )
    ).rows[0];
    const clear = await fc.decryptString(ws.id, 'eu', { table: 'clicks', column: 'fbclid_enc' }, sample.c);
    const hashesBefore = (await eu.query('SELECT sender_hash FROM wact.conversations WHERE workspace_id = $1 ORDER BY id', [ws.id])).rows;

    // First run: crash after 3 batches of 50.
    const crash = new Error('simulated crash');
    await expect(
      ctx.operator.workspaces.reencrypt(ws.id, testActor, {
        rotate: true,
        batchSize: 50,
        afterBatch: (n) => {
          if (n === 3) throw crash;
        },
      }),
    ).rejects.toBe(crash);
    const mid = await versions(ws.id);
    // Three batches done (a small table's batch may be short), the rest still under version 1.
    expect(mid.get(2)).toBeGreaterThanOrEqual(3);
    expect(mid.get(1)).toBeGreaterThan(0);
    expect((mid.get(1) ?? 0) + (mid.get(2) ?? 0)).toBe(total);
    // Nothing retired yet, nothing lost: both versions decrypt.
    expect(
      (
        await eu.query('SELECT version FROM wact_private.workspace_keys WHERE workspace_id = $1 AND purpose = $2 ORDER BY version', [
          ws.id,
          'dek',
        ])
      ).rows,
    ).toEqual([{ version: 1 }, { version: 2 }]);
    const progress = await eu.query<{ n: string }>(
      'SELECT sum(rows_done) AS n FROM wact_private.key_reencryption WHERE workspace_id = $1',
      [ws.id],
    );
    expect(Number(progress.rows[0].n)).toBeGreaterThan(50);
    expect(Number(progress.rows[0].n)).toBeLessThanOrEqual(150);

    // Resume (no new key version), to the end.
    let lastProgress = { done: 0, total: 0 };
    const report = await ctx.operator.workspaces.reencrypt(ws.id, testActor, {
      rotate: false,
      batchSize: 50,
      onProgress: (p) => (lastProgress = p),
    });
    expect(report.targetVersion).toBe(2);
    expect(report.reencrypted).toBeGreaterThan(0);
    expect(lastProgress.done).toBe(lastProgress.total);
    expect(lastProgress.total).toBe(report.reencrypted);
    expect(report.retiredVersions).toEqual([1]);
    expect([...(await versions(ws.id)).entries()]).toEqual([[2, total]]);
    expect(
      (await eu.query('SELECT version FROM wact_private.workspace_keys WHERE workspace_id = $1 AND purpose = $2', [ws.id, 'dek'])).rows,
    ).toEqual([{ version: 2 }]);
    expect(
      (await eu.query('SELECT count(*)::int AS n FROM wact_private.key_reencryption WHERE workspace_id = $1', [ws.id])).rows[0].n,
    ).toBe(0);

    // Same clear text, new ciphertext; the old ciphertext (a backup) no longer opens: its key is retired.
    const fresh = createFieldCrypto(ctx.broker.keyring);
    const now = (await eu.query<{ c: Buffer }>('SELECT fbclid_enc AS c FROM wact.clicks WHERE id = $1', [sample.id])).rows[0].c;
    expect(await fresh.decryptString(ws.id, 'eu', { table: 'clicks', column: 'fbclid_enc' }, now)).toBe(clear);
    ctx.broker.keyring.evict(ws.id);
    await expect(fresh.decrypt(ws.id, 'eu', { table: 'clicks', column: 'fbclid_enc' }, sample.c)).rejects.toMatchObject({
      code: 'key_version_not_found',
    });
    expect(
      await fresh.decryptString(
        ws.id,
        'eu',
        { table: 'bsp_credentials', column: 'secret_enc:twilio' },
        (await eu.query('SELECT secret_enc FROM wact.bsp_credentials WHERE workspace_id = $1', [ws.id])).rows[0].secret_enc,
      ),
    ).toBe('auth-token');

    // Hashes keep their version and every hashing-key version stays live for matching.
    expect((await eu.query('SELECT sender_hash FROM wact.conversations WHERE workspace_id = $1 ORDER BY id', [ws.id])).rows).toEqual(
      hashesBefore,
    );
    expect(
      (
        await eu.query('SELECT version FROM wact_private.workspace_keys WHERE workspace_id = $1 AND purpose = $2 ORDER BY version', [
          ws.id,
          'hmac',
        ])
      ).rows,
    ).toEqual([{ version: 1 }, { version: 2 }]);
    // The neighbour was not touched.
    expect([...(await versions(other.id)).keys()]).toEqual([1]);
  }, 120_000);

  it('refuses to retire the only data key, and a ciphertext that does not decrypt stops the run with nothing retired', async () => {
    const ws = await newWorkspace(ctx.operator, 'eu');
    const eu = ctx.operator.pools.region('eu');
    await expect(ctx.operator.keyring.retire(ws.id, 'eu', 'dek', 2)).rejects.toMatchObject({ code: 'retire_refused' });
    const fc = createFieldCrypto(ctx.operator.keyring);
    const wrongPlace = await fc.encrypt(ws.id, 'eu', { table: 'elsewhere', column: 'x' }, 'misplaced');
    await eu.query(`INSERT INTO wact.bsp_credentials (workspace_id, provider, secret_enc) VALUES ($1, 'twilio', $2)`, [ws.id, wrongPlace]);
    await expect(ctx.operator.workspaces.reencrypt(ws.id, testActor, { rotate: true })).rejects.toMatchObject({ code: 'reencrypt_failed' });
    expect(
      (
        await eu.query('SELECT count(*)::int AS n FROM wact_private.workspace_keys WHERE workspace_id = $1 AND purpose = $2', [
          ws.id,
          'dek',
        ])
      ).rows[0].n,
    ).toBe(2);
  });
});
