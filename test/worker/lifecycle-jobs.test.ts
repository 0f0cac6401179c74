import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeletionService } from '../../shared/lifecycle/deletion-service.ts';
import { enqueueDeletion } from '../../shared/lifecycle/lifecycle-jobs.ts';
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
});
