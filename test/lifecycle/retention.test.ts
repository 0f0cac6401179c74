import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRetentionService } from '../../shared/lifecycle/retention-service.ts';
import { auditEvents, lifecyclePlatforms, newWorkspace, PLATFORM_STREAM_ID, testActor } from './lifecycle-support.ts';

const DAY = 86_400_000;
type Ctx = Awaited<ReturnType<typeof lifecyclePlatforms>>;

/** Creates the partitions that hold a back-dated row, the way ingest creates them (owned by wact_owner). */
async function partitionsFor(ctx: Ctx, at: Date) {
  await ctx.operator.pools.region('eu').query('SELECT wact_private.ensure_ingest_partitions($1::date, 0)', [at.toISOString().slice(0, 10)]);
}

describe('retention', () => {
  let ctx: Ctx;
  beforeAll(async () => {
    ctx = await lifecyclePlatforms();
  });
  afterAll(async () => ctx.close());

  it('refuses to lengthen retention beyond the defaults, accepts shortening, audits the change', async () => {
    const ws = await newWorkspace(ctx.operator);
    const svc = createRetentionService(ctx.broker);
    expect(await svc.getSettings(ws.id)).toMatchObject({ eventsDays: 730, rawDays: 90, isDefault: true });
    await expect(svc.setSettings(ws.id, { rawDays: 91 }, testActor)).rejects.toMatchObject({ status: 400, code: 'retention_too_long' });
    await expect(svc.setSettings(ws.id, { eventsDays: 731 }, testActor)).rejects.toMatchObject({ status: 400, code: 'retention_too_long' });
    await expect(svc.setSettings(ws.id, { rawDays: 0 }, testActor)).rejects.toMatchObject({ status: 400 });
    await expect(svc.setSettings(ws.id, { rawDays: 'x' }, testActor)).rejects.toMatchObject({ status: 400 });
    await expect(svc.setSettings(ws.id, {}, testActor)).rejects.toMatchObject({ status: 400 });
    const s = await svc.setSettings(ws.id, { rawDays: 30 }, testActor);
    expect(s).toMatchObject({ eventsDays: 730, rawDays: 30, isDefault: false });
    const [event] = await auditEvents(ctx.operator.pools.region('eu'), ws.id, 'retention.update');
    expect(event.metadata).toMatchObject({ rawDaysBefore: 90, rawDays: 30 });
  });

  it('removes exactly the expired rows: whole partitions, the boundary, and a shortened workspace', async () => {
    const a = await newWorkspace(ctx.operator);
    const b = await newWorkspace(ctx.operator);
    const svc = createRetentionService(ctx.broker);
    await svc.setSettings(b.id, { rawDays: 30, eventsDays: 200 }, testActor);
    const pool = ctx.operator.pools.region('eu');
    const now = Date.now();
    const H = 3_600_000;
    const rawAges = {
      gone100: 100 * DAY,
      gone90: 90 * DAY + H,
      keep90: 90 * DAY - H,
      age40: 40 * DAY,
      age30plus: 30 * DAY + H,
      age30minus: 30 * DAY - H,
      age10: 10 * DAY,
    };
    const convAges = { gone740: 740 * DAY, gone731: 730 * DAY + 2 * H, keep729: 729 * DAY, age201: 201 * DAY, age199: 199 * DAY };
    for (const ms of [...Object.values(rawAges), ...Object.values(convAges)]) await partitionsFor(ctx, new Date(now - ms));
    const ids = new Map<string, string>();
    for (const ws of [a, b]) {
      for (const [label, ms] of Object.entries(rawAges)) {
        const id = crypto.randomUUID();
        ids.set(`${ws.id}/${label}`, id);
        await pool.query(
          `INSERT INTO wact.raw_webhook_payloads (id, workspace_id, provider, message_hash, conversation_id, payload_enc, received_at)
           VALUES ($1, $2, 'meta', $3, $4, '\\x01'::bytea, $5)`,
          [id, ws.id, crypto.randomBytes(32).toString('hex'), crypto.randomUUID(), new Date(now - ms)],
        );
      }
      for (const [label, ms] of Object.entries(convAges)) {
        const id = crypto.randomUUID();
        ids.set(`${ws.id}/${label}`, id);
        await pool.query(
          `INSERT INTO wact.conversations (id, workspace_id, provider, sender_hash, sender_kind, started_at, created_at)
           VALUES ($1, $2, 'meta', $3, 'phone', $4, $4)`,
          [id, ws.id, crypto.randomBytes(32).toString('hex'), new Date(now - ms)],
        );
      }
    }

    const report = await svc.run('eu', { actor: testActor });
    expect(report.skipped).toBeUndefined();

    const left = async (ws: string, table: string) =>
      (await pool.query<{ id: string }>(`SELECT id FROM ${table} WHERE workspace_id = $1`, [ws])).rows.map((r) => r.id).sort();
    const idsOf = (ws: string, labels: string[]) => labels.map((l) => ids.get(`${ws}/${l}`)!).sort();

    expect(await left(a.id, 'wact.raw_webhook_payloads')).toEqual(idsOf(a.id, ['keep90', 'age40', 'age30plus', 'age30minus', 'age10']));
    expect(await left(b.id, 'wact.raw_webhook_payloads')).toEqual(idsOf(b.id, ['age30minus', 'age10']));
    expect(await left(a.id, 'wact.conversations')).toEqual(idsOf(a.id, ['keep729', 'age201', 'age199']));
    expect(await left(b.id, 'wact.conversations')).toEqual(idsOf(b.id, ['age199']));

    const removed = (ws: string, table: string) => report.tables.find((t) => t.table === table)!.removed[ws] ?? 0;
    expect(removed(a.id, 'wact.raw_webhook_payloads')).toBe(2);
    expect(removed(b.id, 'wact.raw_webhook_payloads')).toBe(5);
    expect(removed(a.id, 'wact.conversations')).toBe(2);
    expect(removed(b.id, 'wact.conversations')).toBe(4);
    // The 100-day-old raw partition went as a whole.
    const raw = report.tables.find((t) => t.table === 'wact.raw_webhook_payloads')!;
    expect(raw.droppedPartitions.length).toBeGreaterThanOrEqual(1);

    const platform = (await auditEvents(ctx.operator.pools.control, PLATFORM_STREAM_ID, 'retention.run')).find(
      (e) => e.metadata.region === 'eu',
    )!;
    expect(platform.metadata.totalRemoved).toBeGreaterThanOrEqual(13);
    const [own] = await auditEvents(pool, b.id, 'retention.run');
    expect(own.metadata).toMatchObject({ 'wact.raw_webhook_payloads': 5, 'wact.conversations': 4 });
  });

  it('cannot be used to drop tables that are not registered for retention, or partitions not yet expired', async () => {
    const pool = ctx.broker.pools.region('eu');
    await expect(
      pool.query(
        "SELECT * FROM wact_private.drop_expired_partitions_counted('wact.links', ARRAY['wact.links'::regclass], now() - interval '1 day')",
      ),
    ).rejects.toThrow(/not registered for retention/);
    const today = `wact.raw_webhook_payloads_p${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`;
    await expect(
      pool.query(
        "SELECT * FROM wact_private.drop_expired_partitions_counted('wact.raw_webhook_payloads', ARRAY[$1::regclass], now() - interval '90 days')",
        [today],
      ),
    ).rejects.toThrow(/does not lie wholly before the cutoff/);
    await expect(
      pool.query("SELECT wact_private.drop_expired_partition('wact.links', 'wact.links', now() - interval '1 day')"),
    ).rejects.toThrow(/not registered for retention/);
  });
});
