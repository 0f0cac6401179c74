import crypto from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { runAuditRetention } from '../../shared/audit/audit-retention.ts';
import { toAppendRow } from '../../shared/audit/audit-validation.ts';
import { connectAs, testDb } from '../support/db.ts';
import { auditKit } from './audit-test-kit.ts';

const kit = auditKit();
afterAll(() => kit.end());
const actor = { id: 'operator:test', kind: 'operator' as const };

/** Events in a past month: only the owner/superuser path (audit.append_at) can date them. */
async function appendAt(ws: string, monthsAgo: number, n: number) {
  const rows = Array.from({ length: n }, (_, i) => toAppendRow(kit.event(ws, i + 1)).row);
  await kit.op
    .region('eu')
    .query(`SELECT audit.append_at($1::jsonb, now() - make_interval(months => $2))`, [JSON.stringify(rows), monthsAgo]);
}

describe('audit retention', () => {
  it('drops whole expired months; the rest of the stream still verifies from the signed anchor', async () => {
    const ws = crypto.randomUUID();
    await appendAt(ws, 16, 3);
    await appendAt(ws, 14, 4);
    for (let i = 0; i < 3; i++) await kit.audit.append(kit.event(ws, i));

    // The database refuses to drop a month whose last event is not anchored by a signed head.
    const oldest = (
      await kit.op.region('eu').query(`SELECT 'events_' || to_char(now() AT TIME ZONE 'UTC' - interval '16 months', 'YYYY_MM') AS p`)
    ).rows[0].p as string;
    const broker = await connectAs('eu', 'wact_broker', testDb().servicePasswords.broker);
    await expect(broker.query('SELECT audit.drop_partition($1, 12)', [oldest])).rejects.toThrow(/not anchored by a signed head/);
    await broker.end();

    await expect(runAuditRetention(kit, 'eu', { keepMonths: 6, actor })).rejects.toThrow(/at least 12 months/);
    const result = await runAuditRetention(kit, 'eu', { keepMonths: 12, actor });
    const mine = result.dropped.map((d) => d.partition);
    expect(mine).toContain(oldest);
    expect(result.dropped.reduce((a, d) => a + d.events, 0)).toBeGreaterThanOrEqual(7);

    const { rows } = await kit.op
      .region('eu')
      .query(`SELECT min(seq)::int AS first, count(*)::int AS n FROM audit.events WHERE stream_id = $1`, [ws]);
    expect(rows[0]).toEqual({ first: 8, n: 5 }); // 3 recent + one retention event per dropped month
    const text = await kit.exportText(ws);
    const header = JSON.parse(text.split('\n')[0]);
    expect(header).toMatchObject({ anchorSeq: '7', version: 2 });
    const report = await kit.verifyText(text);
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ ok: true, anchored: { start: true, end: true }, firstSeq: '8' });
    expect(report.warnings).toEqual([]);
    // What went is recorded in the stream itself.
    expect(text).toContain('"action":"audit.retention.drop"');
  });
});
