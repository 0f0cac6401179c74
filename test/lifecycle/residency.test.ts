import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFieldCrypto } from '../../shared/crypto/field-cipher.ts';
import { createKeyStore } from '../../shared/crypto/keyring-dal.ts';
import { createDeletionService } from '../../shared/lifecycle/deletion-service.ts';
import { createMoveService } from '../../shared/lifecycle/move-service.ts';
import { assertAnchoredIn, openRegionalWorkspace } from '../../shared/lifecycle/residency.ts';
import { createRetentionService } from '../../shared/lifecycle/retention-service.ts';
import { keyProviders } from '../../shared/runtime/platform.ts';
import { seedSynthetic, syntheticCrypto } from '../../shared/synthetic/synthetic-seeder.ts';
import { testConfig } from '../support/db.ts';
import { auditEvents, lifecyclePlatforms, newWorkspace, PLATFORM_STREAM_ID, rowsMentioning, testActor } from './lifecycle-support.ts';

describe('residency', () => {
  let ctx: Awaited<ReturnType<typeof lifecyclePlatforms>>;
  beforeAll(async () => {
    ctx = await lifecyclePlatforms();
  });
  afterAll(async () => ctx.close());

  it('a us workspace writes nothing to wact_eu, and a request routed to eu fails closed', async () => {
    const ws = await newWorkspace(ctx.operator, 'us');
    await seedSynthetic(
      { pool: ctx.operator.pools.region('us'), keyring: ctx.operator.keyring },
      { workspaceId: ws.id, region: 'us', conversations: 50, days: 5, seed: 3 },
    );
    await createRetentionService(ctx.broker).setSettings(ws.id, { rawDays: 14 }, testActor);
    const deletion = createDeletionService({ ...ctx.broker, config: testConfig() });
    const req = await deletion.submit(ws.id, { phone: '+12025550100' }, testActor);
    await deletion.processRequest(ws.id, req.id, testActor);

    expect(await rowsMentioning(ctx.operator.pools.region('eu'), ws.id)).toEqual({});
    expect(Object.keys(await rowsMentioning(ctx.operator.pools.region('us'), ws.id)).length).toBeGreaterThan(5);

    await expect(openRegionalWorkspace(ctx.broker, ws.id, 'eu')).rejects.toMatchObject({ code: 'wrong_region' });
    await expect(assertAnchoredIn(ctx.broker.pools.region('eu'), ws.id, 'us')).rejects.toMatchObject({ code: 'wrong_region' }); // eu database, us claim
    await expect(assertAnchoredIn(ctx.broker.pools.region('eu'), ws.id, 'eu')).rejects.toMatchObject({ code: 'wrong_region' });
    // No keys for it under the eu KEK, and the eu database refuses its rows.
    await expect(ctx.broker.keyring.currentKey(ws.id, 'eu', 'dek')).rejects.toMatchObject({ name: 'CryptoError' });
    await expect(
      ctx.operator.pools
        .region('eu')
        .query(`INSERT INTO wact.api_keys (id, workspace_id, key_hash) VALUES (gen_random_uuid(), $1, repeat('a', 64))`, [ws.id]),
    ).rejects.toThrow(/foreign key/);
  });

  it('wact workspace move: re-encrypts under the target keys, keeps phone hashes, verifies, then purges the source', async () => {
    const ws = await newWorkspace(ctx.operator, 'eu');
    const eu = ctx.operator.pools.region('eu');
    const us = ctx.operator.pools.region('us');
    const counts = await seedSynthetic(
      { pool: eu, keyring: ctx.operator.keyring },
      { workspaceId: ws.id, region: 'eu', conversations: 120, days: 40, seed: 11 },
    );
    const euCrypto = await syntheticCrypto(ctx.operator.keyring, ws.id, 'eu');
    const knownHash = euCrypto.senderHash({ kind: 'phone', e164: '+447700900555' });
    await eu.query(
      `INSERT INTO wact.conversations (id, workspace_id, provider, sender_hash, sender_kind, started_at) VALUES (gen_random_uuid(), $1, 'meta', $2, 'phone', now())`,
      [ws.id, knownHash],
    );
    const fc = createFieldCrypto(ctx.operator.keyring);
    await eu.query(`INSERT INTO wact.bsp_credentials (workspace_id, provider, secret_enc) VALUES ($1, 'meta', $2)`, [
      ws.id,
      await fc.encrypt(ws.id, 'eu', { table: 'bsp_credentials', column: 'secret_enc:meta' }, 'app-secret-1'),
    ]);
    const before = (
      await eu.query<{ c: Buffer }>('SELECT payload_enc AS c FROM wact.raw_webhook_payloads WHERE workspace_id = $1 LIMIT 1', [ws.id])
    ).rows[0].c;
    const clear = await createFieldCrypto(ctx.operator.keyring).decryptString(
      ws.id,
      'eu',
      { table: 'raw_webhook_payloads', column: 'payload_enc' },
      before,
    );

    const move = createMoveService({
      ...ctx.operator,
      keyStore: createKeyStore({ poolFor: (r) => ctx.operator.pools.region(r) }),
      providerFor: keyProviders(ctx.operator.config),
    });
    const report = await move.move(ws.id, 'us', testActor);
    expect(report.rows['wact.conversations']).toBe(counts.conversations + 1);
    expect(report.reencrypted).toBeGreaterThan(counts.rawPayloads);
    expect(report.auditEventsCopied).toBeGreaterThan(0);

    expect((await ctx.operator.workspaces.get(ws.id)).region).toBe('us');
    expect(await rowsMentioning(eu, ws.id)).toEqual({});
    // New data key: the same payload decrypts in us, from different ciphertext.
    const after = await us.query<{ c: Buffer }>('SELECT payload_enc AS c FROM wact.raw_webhook_payloads WHERE workspace_id = $1', [ws.id]);
    expect(after.rowCount).toBe(counts.rawPayloads);
    expect(after.rows.some((r) => r.c.equals(before))).toBe(false);
    const fresh = createFieldCrypto(ctx.broker.keyring);
    const texts = await Promise.all(
      after.rows.map((r) => fresh.decryptString(ws.id, 'us', { table: 'raw_webhook_payloads', column: 'payload_enc' }, r.c)),
    );
    expect(texts).toContain(clear);
    const secret = (await us.query<{ c: Buffer }>('SELECT secret_enc AS c FROM wact.bsp_credentials WHERE workspace_id = $1', [ws.id]))
      .rows[0].c;
    expect(await fresh.decryptString(ws.id, 'us', { table: 'bsp_credentials', column: 'secret_enc:meta' }, secret)).toBe('app-secret-1');
    // Same hashing key: a number hashed before the move still matches.
    const usCrypto = await syntheticCrypto(ctx.broker.keyring, ws.id, 'us');
    expect(usCrypto.senderHash({ kind: 'phone', e164: '+447700900555' })).toBe(knownHash);
    expect(
      (await us.query('SELECT 1 FROM wact.conversations WHERE workspace_id = $1 AND sender_hash = $2', [ws.id, knownHash])).rowCount,
    ).toBe(1);
    // The old eu key material is gone; the move is on record.
    expect((await eu.query('SELECT 1 FROM wact_private.workspace_keys WHERE workspace_id = $1', [ws.id])).rowCount).toBe(0);
    const events = (await auditEvents(ctx.operator.pools.control, PLATFORM_STREAM_ID, 'workspace.move')).filter(
      (e) => e.targetId === ws.id,
    );
    expect(events[0].metadata).toMatchObject({ from: 'eu', to: 'us' });
    expect((await auditEvents(us, ws.id, 'workspace.create')).length).toBe(1); // its history moved along
    await expect(move.move(ws.id, 'us', testActor)).rejects.toMatchObject({ code: 'same_region' });
  });
});
