import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWipeService } from '../../shared/lifecycle/wipe-service.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';
import { auditEvents, PLATFORM_STREAM_ID, rowsMentioning } from './lifecycle-support.ts';

describe('lifecycle API (Settings → Data)', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker();
  }, 60_000);
  afterAll(async () => broker?.close());

  it('retention and deletion requests: owners/admins only, shorten only, 201 + list with Content-Range, alerts', async () => {
    const ws = await broker.createWorkspace();
    const admin = await broker.loginAs((await broker.createCustomer(ws.id, 'admin')).identity);
    const analyst = await broker.loginAs((await broker.createCustomer(ws.id, 'analyst')).identity);
    const base = `/api/workspaces/${ws.id}`;

    expect((await analyst.get(`${base}/retention`)).status).toBe(403);
    expect((await analyst.post(`${base}/deletion-requests`, { phone: '+447700900123' })).status).toBe(403);
    const get = await admin.get(`${base}/retention`);
    expect(get.status).toBe(200);
    expect(get.body).toMatchObject({ eventsDays: 730, rawDays: 90 });
    const longer = await admin.put(`${base}/retention`, { rawDays: 120 });
    expect(longer.status).toBe(400);
    expect(longer.body.error.code).toBe('retention_too_long');
    const shorter = await admin.put(`${base}/retention`, { rawDays: 30, eventsDays: 365 });
    expect(shorter.status).toBe(200);
    expect(shorter.body).toMatchObject({ rawDays: 30, eventsDays: 365 });

    const created = await admin.post(`${base}/deletion-requests`, { phone: '+44 7700 900123' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'pending', subjectKind: 'phone', overdue: false });
    expect(created.text).not.toMatch(/7700/);
    const bad = await admin.post(`${base}/deletion-requests`, { phone: 'not a number 5551234' });
    expect(bad.status).toBe(400);
    expect(bad.text).not.toMatch(/5551234/);
    const list = await admin.get(`${base}/deletion-requests?range=[0,9]`);
    expect(list.status).toBe(200);
    expect(list.headers.get('content-range')).toBe('deletion-requests 0-0/1');
    expect(list.body[0].id).toBe(created.body.id);
    const one = await admin.get(`${base}/deletion-requests/${created.body.id}`);
    expect(one.body.id).toBe(created.body.id);
    expect((await admin.get(`${base}/deletion-alerts`)).body).toMatchObject({ overdue: 0 });
    // The request is queued for the worker (pg-boss), by id only.
    const job = await broker.platform.pools
      .region('eu')
      .query(`SELECT data FROM pgboss.job WHERE name = 'lifecycle.deletion' AND data->>'requestId' = $1`, [created.body.id]);
    expect(job.rows[0].data).toEqual({ workspaceId: ws.id, requestId: created.body.id });
    expect((await admin.post(`${base}/wipe`, { confirm: ws.name })).status).toBe(403); // owners only
  });

  it('wipe: owner only, typed confirmation, TOTP step-up when enrolled', async () => {
    const ws = await broker.createWorkspace();
    await broker.platform.pools.control.query('INSERT INTO wact.workspace_settings (workspace_id, require_totp) VALUES ($1, true)', [
      ws.id,
    ]);
    const { identity } = await broker.createCustomer(ws.id, 'owner');
    const owner = await broker.loginAs(identity); // enrolls TOTP (the workspace requires it)
    const base = `/api/workspaces/${ws.id}`;

    expect((await owner.post(`${base}/wipe`, {})).status).toBe(400);
    const mismatch = await owner.post(`${base}/wipe`, { confirm: `${ws.name} ` });
    expect(mismatch.body.error.code).toBe('confirmation_mismatch');
    const noCode = await owner.post(`${base}/wipe`, { confirm: ws.name });
    expect(noCode.status).toBe(403);
    expect(noCode.body.error.code).toBe('step_up_required');
    const wrong = await owner.post(`${base}/wipe`, { confirm: ws.name, totp: '000000' });
    expect(wrong.body.error.code).toBe('step_up_failed');
    expect((await broker.platform.workspaces.get(ws.id)).id).toBe(ws.id); // still there

    const eu = broker.platform.pools.region('eu');
    const streamEvents = async () =>
      (await eu.query<{ n: number }>('SELECT count(*)::int AS n FROM audit.events WHERE stream_id = $1', [ws.id])).rows[0].n;
    const ok = await owner.post(`${base}/wipe`, { confirm: ws.name, totp: await broker.totpCode(identity), reason: 'closing the shop' });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toMatchObject({ workspaceId: ws.id, keysDestroyed: 2, auditStreamErasure: 'queued' });
    const events = (await auditEvents(broker.platform.pools.control, PLATFORM_STREAM_ID, 'workspace.wipe')).filter(
      (e) => e.targetId === ws.id,
    );
    expect(events.map((e) => e.metadata.region ?? e.metadata.stepUp)).toEqual(['eu', 'invalid']);

    // The broker holds no owner credential: keys, rows and sessions went, the workspace's audit stream waits for
    // the worker's job that its wipe event names (ids only in the job).
    const jobId = events[0].metadata.historyErasureJob as string;
    const job = await eu.query(`SELECT name, data FROM pgboss.job WHERE id = $1`, [jobId]);
    expect(job.rows[0]).toEqual({ name: 'lifecycle.erase_history', data: { workspaceId: ws.id } });
    expect(await streamEvents()).toBeGreaterThan(0);
    // A job the platform log does not vouch for erases nothing.
    const worker = createWipeService(broker.platform); // as the worker builds it: with the operator URLs
    await expect(
      worker.eraseQueuedHistory({ id: '00000000-0000-4000-8000-00000000beef', data: { workspaceId: ws.id } }),
    ).rejects.toMatchObject({ code: 'erasure_not_requested' });
    expect(await streamEvents()).toBeGreaterThan(0);
    // Nor does a wipe event written for a workspace that was never wiped (a broker credential can append events).
    const live = await broker.createWorkspace();
    await broker.platform.audit.append({
      action: 'data.read',
      actor: { id: 'emp-1', kind: 'employee', role: 'support' },
      reason: 'ticket T-1',
      workspaceId: live.id,
      region: 'eu',
      target: { type: 'workspace', id: live.id },
      outcome: 'success',
    });
    const liveEvents = (await eu.query<{ n: number }>('SELECT count(*)::int AS n FROM audit.events WHERE stream_id = $1', [live.id]))
      .rows[0].n;
    expect(liveEvents).toBeGreaterThan(0);
    const forged = '00000000-0000-4000-8000-00000000f00d';
    await broker.platform.audit.append({
      action: 'workspace.wipe',
      actor: { id: 'emp-1', kind: 'employee', role: 'support' },
      workspaceId: null,
      target: { type: 'workspace', id: live.id },
      outcome: 'success',
      metadata: { region: 'eu', historyErasureJob: forged },
    });
    await expect(worker.eraseQueuedHistory({ id: forged, data: { workspaceId: live.id } })).rejects.toMatchObject({
      code: 'erasure_not_requested',
    });
    expect((await eu.query<{ n: number }>('SELECT count(*)::int AS n FROM audit.events WHERE stream_id = $1', [live.id])).rows[0].n).toBe(
      liveEvents,
    );
    // The worker's run erases it, tombstone first, naming the owner who wiped; a retry finds nothing left.
    expect(await worker.eraseQueuedHistory({ id: jobId, data: { workspaceId: ws.id } })).toMatchObject({ events: expect.any(Number) });
    expect(await worker.eraseQueuedHistory({ id: jobId, data: { workspaceId: ws.id } })).toBe('already erased');
    expect(await streamEvents()).toBe(0);
    const tombstone = (await auditEvents(broker.platform.pools.control, PLATFORM_STREAM_ID, 'audit.stream.tombstone')).filter(
      (e) => e.targetId === ws.id,
    );
    expect(tombstone).toHaveLength(1);
    expect(tombstone[0].actorId).toBe(events[0].actorId);
    // Nothing of the workspace is left in its region but the finished job's own row (ids only).
    const left = await rowsMentioning(eu, ws.id);
    expect(Object.values(left)).toEqual([1]);
    expect(Object.keys(left)[0]).toMatch(/^pgboss\.j/); // the job's row (pg-boss partitions its job table by queue)
    expect((await owner.get(`${base}/retention`)).status).toBeGreaterThanOrEqual(403);
  });
});
