import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeletionService } from '../../shared/lifecycle/deletion-service.ts';
import { enqueueDeletion, startLifecycleWorker } from '../../shared/lifecycle/lifecycle-jobs.ts';
import type { RunningService, ServiceContext } from '../../shared/runtime/service-types.ts';
import { testConfig } from '../support/db.ts';
import { lifecyclePlatforms, newWorkspace, testActor } from './lifecycle-support.ts';

describe('lifecycle worker (pg-boss)', () => {
  let ctx: Awaited<ReturnType<typeof lifecyclePlatforms>>;
  let worker: RunningService;
  beforeAll(async () => {
    ctx = await lifecyclePlatforms();
    worker = await startLifecycleWorker({ config: ctx.operator.config, databases: ctx.databases } as ServiceContext);
  });
  afterAll(async () => {
    await worker?.close();
    await ctx.close();
  });

  it('schedules retention and the deletion sweep per region, and works a submitted request to completion', async () => {
    for (const region of ['eu', 'us'] as const) {
      const { rows } = await ctx.operator.pools.region(region).query<{ name: string }>('SELECT name FROM pgboss.schedule ORDER BY name');
      expect(rows.map((r) => r.name)).toEqual(expect.arrayContaining(['lifecycle.deletion_sweep', 'lifecycle.retention']));
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
});
