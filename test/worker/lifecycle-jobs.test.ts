import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeletionService } from '../../shared/lifecycle/deletion-service.ts';
import { enqueueDeletion } from '../../shared/lifecycle/lifecycle-jobs.ts';
import { createWipeService } from '../../shared/lifecycle/wipe-service.ts';
import type { RunningService, ServiceContext } from '../../shared/runtime/service-types.ts';
import { startWorker } from '../../worker/worker-server.ts';
import { testConfig } from '../support/db.ts';
import { lifecyclePlatforms, newWorkspace, testActor } from '../lifecycle/lifecycle-support.ts';

describe('worker: lifecycle jobs (pg-boss)', () => {
  let ctx: Awaited<ReturnType<typeof lifecyclePlatforms>>;
  let worker: RunningService;
  beforeAll(async () => {
    ctx = await lifecyclePlatforms();
    worker = await startWorker({ config: ctx.operator.config, databases: ctx.databases } as ServiceContext, { queues: ['lifecycle'] });
  });
  afterAll(async () => {
    await worker?.close();
    await ctx.close();
  });

  it('schedules retention and the deletion sweep per region, and works a submitted request to completion', async () => {
    for (const region of ['eu', 'us'] as const) {
      const { rows } = await ctx.operator.pools.region(region).query<{ name: string }>('SELECT name FROM pgboss.schedule ORDER BY name');
      expect(rows.map((r) => r.name)).toEqual(expect.arrayContaining(['lifecycle.deletion_sweep', 'lifecycle.retention']));
      // Scheduled queues never run two at a time, whatever the number of workers.
      const policies = await ctx.operator.pools
        .region(region)
        .query<{ name: string; policy: string }>(`SELECT name, policy FROM pgboss.queue WHERE name LIKE 'lifecycle.%' ORDER BY name`);
      expect(policies.rows).toEqual(
        expect.arrayContaining([
          { name: 'lifecycle.deletion_sweep', policy: 'stately' },
          { name: 'lifecycle.retention', policy: 'stately' },
        ]),
      );
    }
    const ws = await newWorkspace(ctx.operator, 'us');
    const svc = createDeletionService({
      ...ctx.broker,
      config: testConfig(),
      enqueue: ({ workspaceId, requestId, region }) => enqueueDeletion(ctx.broker.pools.region(region), { workspaceId, requestId }),
    });
    const req = await svc.submit(ws.id, { phone: '+12125550199' }, testActor);
    const deadline = Date.now() + 30_000;
    let status = req.status;
    while (status !== 'completed' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      status = (await svc.get(ws.id, req.id)).status;
    }
    expect(status).toBe('completed');
  }, 60_000);

  it('a wipe made without the owner credential (as the broker does) has its audit stream erased by the worker, tombstone first', async () => {
    const ws = await newWorkspace(ctx.operator, 'eu');
    await ctx.broker.audit.append({
      action: 'data.read',
      actor: testActor,
      workspaceId: ws.id,
      region: 'eu',
      target: { type: 'workspace', id: ws.id },
      outcome: 'success',
    });
    const eu = ctx.operator.pools.region('eu');
    const stream = async () =>
      (await eu.query<{ n: number }>('SELECT count(*)::int AS n FROM audit.events WHERE stream_id = $1', [ws.id])).rows[0].n;
    // The broker's service: pools, keyring and audit only — no operator URLs.
    const { pools, keyring, audit } = ctx.broker;
    const report = await createWipeService({ pools, keyring, audit }).wipe(ws.id, testActor, { history: 'queue' });
    expect(report.auditStream).toBeNull();
    expect(report.historyErasureJob).toEqual(expect.any(String));
    for (const deadline = Date.now() + 30_000; Date.now() < deadline && (await stream()) > 0;) await new Promise((r) => setTimeout(r, 300));
    expect(await stream()).toBe(0);
    expect((await eu.query('SELECT 1 FROM wact.workspaces WHERE id = $1', [ws.id])).rowCount).toBe(0);
    const tombstones = await ctx.operator.pools.control.query(
      `SELECT actor_id FROM audit.events WHERE action = 'audit.stream.tombstone' AND target_id = $1`,
      [ws.id],
    );
    expect(tombstones.rows).toEqual([{ actor_id: testActor.id }]);
  }, 60_000);
});
