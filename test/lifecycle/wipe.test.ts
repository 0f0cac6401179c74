import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFieldCrypto } from '../../shared/crypto/field-cipher.ts';
import { createPlatform } from '../../shared/runtime/platform.ts';
import { createWipeService } from '../../shared/lifecycle/wipe-service.ts';
import { createRetentionService } from '../../shared/lifecycle/retention-service.ts';
import { seedSynthetic } from '../../shared/synthetic/synthetic-seeder.ts';
import { auditEvents, lifecyclePlatforms, newWorkspace, PLATFORM_STREAM_ID, rowsMentioning, testActor } from './lifecycle-support.ts';

describe('workspace wipe', () => {
  let ctx: Awaited<ReturnType<typeof lifecyclePlatforms>>;
  beforeAll(async () => {
    ctx = await lifecyclePlatforms();
  });
  afterAll(async () => ctx.close());

  it('shreds the keys first, leaves no row of the workspace in its region, and logs one platform event', async () => {
    const ws = await newWorkspace(ctx.operator, 'eu');
    const other = await newWorkspace(ctx.operator, 'eu');
    const eu = ctx.operator.pools.region('eu');
    for (const w of [ws, other])
      await seedSynthetic(
        { pool: eu, keyring: ctx.operator.keyring },
        { workspaceId: w.id, region: 'eu', conversations: 150, days: 20, seed: 7 },
      );
    const fc = createFieldCrypto(ctx.operator.keyring);
    // A business number (kept in clear by design) outside the fictional mobile range the
    // no-plaintext scans look for: the server's WAL is shared by every test of the run.
    await eu.query(`INSERT INTO wact.links (id, workspace_id, wa_number) VALUES ($1, $2, '442079460001')`, [
      crypto.randomBytes(6).toString('hex'),
      ws.id,
    ]);
    await eu.query(`INSERT INTO wact.api_keys (id, workspace_id, key_hash) VALUES ($1, $2, $3)`, [
      crypto.randomUUID(),
      ws.id,
      crypto.randomBytes(32).toString('hex'),
    ]);
    await eu.query(`INSERT INTO wact.bsp_credentials (workspace_id, provider, secret_enc) VALUES ($1, 'twilio', $2)`, [
      ws.id,
      await fc.encrypt(ws.id, 'eu', { table: 'bsp_credentials', column: 'secret_enc:twilio' }, 'auth-token-secret'),
    ]);
    await eu.query(`INSERT INTO wact.ad_platform_credentials (workspace_id, platform, credentials_enc) VALUES ($1, 'google', $2)`, [
      ws.id,
      await fc.encrypt(ws.id, 'eu', { table: 'ad_platform_credentials', column: 'credentials_enc:google' }, '{"token":"x"}'),
    ]);
    await eu.query(`SELECT wact_private.ensure_job_queue('lifecycle.test', '{"policy":"standard"}'::json)`);
    await eu.query(`INSERT INTO pgboss.job (name, data) VALUES ('lifecycle.test', $1)`, [
      JSON.stringify({ workspaceId: ws.id, exportJobId: crypto.randomUUID() }),
    ]);
    await createRetentionService(ctx.broker).setSettings(ws.id, { rawDays: 10 }, testActor);
    // An employee's pending database session on the workspace.
    const ctl = ctx.operator.pools.control;
    const engineer = crypto.randomUUID();
    const session = crypto.randomUUID();
    await ctl.query(`INSERT INTO wact.users (id, kind, display_name, employee_role) VALUES ($1, 'employee', 'Eng', 'engineer')`, [
      engineer,
    ]);
    await ctl.query(
      `INSERT INTO wact.access_sessions (id, requester_id, requester_name, requester_role, workspace_id, region, scope, reason, ttl_seconds, status)
       VALUES ($1, $2, 'Eng', 'engineer', $3, 'eu', 'full', 'investigating ticket 1234', 300, 'pending')`,
      [session, engineer, ws.id],
    );

    // A "backup" taken before the wipe: a ciphertext and the wrapped key rows.
    const backup = (
      await eu.query<{ c: Buffer }>(
        'SELECT coalesce(fbclid_enc, gclid_enc, msclkid_enc, ttclid_enc, li_fat_id_enc, ctwa_clid_enc) AS c FROM wact.clicks WHERE workspace_id = $1 LIMIT 1',
        [ws.id],
      )
    ).rows[0].c;
    const keysBefore = await eu.query('SELECT * FROM wact_private.workspace_keys WHERE workspace_id = $1', [ws.id]);
    expect(keysBefore.rowCount).toBe(2);
    expect(Object.keys(await rowsMentioning(eu, ws.id)).length).toBeGreaterThan(5);

    const report = await createWipeService(ctx.broker).wipe(ws.id, testActor, { reason: 'customer left' });
    expect(report.keysDestroyed).toBe(2);
    expect(report.deleted['wact.conversations']).toBeGreaterThan(0);
    expect(report.queuedJobsDeleted).toBe(1);

    // No row of the workspace anywhere in the regional database (any column, any schema: audit, pgboss…).
    expect(await rowsMentioning(eu, ws.id)).toEqual({});
    expect(await rowsMentioning(ctx.operator.pools.region('us'), ws.id)).toEqual({});
    // The neighbour is untouched.
    expect((await eu.query('SELECT count(*)::int AS n FROM wact.conversations WHERE workspace_id = $1', [other.id])).rows[0].n).toBe(150);

    // The copied ciphertext no longer decrypts, in any process (fresh keyring: nothing cached).
    const fresh = createPlatform(ctx.operator.config, ctx.databases, 'broker', { poolMax: 1 });
    try {
      await expect(
        createFieldCrypto(fresh.keyring).decrypt(ws.id, 'eu', { table: 'clicks', column: 'fbclid_enc' }, backup),
      ).rejects.toMatchObject({
        name: 'CryptoError',
      });
      await expect(fresh.workspaces.get(ws.id)).rejects.toMatchObject({ status: 404 });
    } finally {
      await fresh.close();
    }
    expect((await ctl.query('SELECT status FROM wact.access_sessions WHERE id = $1', [session])).rows[0].status).toBe('revoked');
    const dir = await ctx.operator.pools.control.query('SELECT wiped_at FROM wact.workspaces WHERE id = $1', [ws.id]);
    expect(dir.rows[0].wiped_at).toBeInstanceOf(Date);

    const events = (await auditEvents(ctx.operator.pools.control, PLATFORM_STREAM_ID, 'workspace.wipe')).filter(
      (e) => e.targetId === ws.id,
    );
    expect(events).toHaveLength(1);
    expect(events[0].metadata).toMatchObject({ region: 'eu', keysDestroyed: 2, queuedJobsDeleted: 1, sessionsRevoked: 1 });
    expect(Number(events[0].metadata.auditEventsErased)).toBeGreaterThan(0);
  });

  it('refuses to erase the audit stream of a live workspace', async () => {
    const ws = await newWorkspace(ctx.operator, 'eu');
    // The superseded eraser: the broker may not call it at all, and even the owner is refused for a live workspace.
    await expect(
      ctx.broker.pools.region('eu').query('SELECT * FROM wact_private.erase_wiped_audit_stream($1)', [ws.id]),
    ).rejects.toMatchObject({
      code: '42501',
    });
    await expect(ctx.operator.pools.region('eu').query('SELECT * FROM wact_private.erase_wiped_audit_stream($1)', [ws.id])).rejects.toThrow(
      /still exists/,
    );
  });

  it('an unknown workspace is a 404, not a partial wipe', async () => {
    await expect(createWipeService(ctx.broker).wipe(crypto.randomUUID(), testActor)).rejects.toMatchObject({ status: 404 });
    await expect(createWipeService(ctx.broker).wipe('not-a-uuid', testActor)).rejects.toMatchObject({ status: 404 });
  });
});
