import crypto from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createAuditLog } from '../../shared/audit/audit-service.ts';
import { createBatcher } from '../../shared/audit/audit-batcher.ts';
import { PLATFORM_STREAM, type AuditEventInput } from '../../shared/audit/audit-types.ts';
import { looksLikeIdentifier, toAppendRow } from '../../shared/audit/audit-validation.ts';
import { operatorPools, servicePools } from '../support/db.ts';
import { expectValidChain } from './audit-test-kit.ts';

const op = operatorPools();
const broker = servicePools('broker');
const ingest = servicePools('ingest');
afterAll(async () => Promise.all([op.end(), broker.end(), ingest.end()]));

const ev = (workspaceId: string | null, extra: Partial<AuditEventInput> = {}): AuditEventInput => ({
  action: 'data.read',
  actor: { id: 'svc-ingest', kind: 'service', role: 'ingest', displayName: 'Ingest' },
  workspaceId,
  region: workspaceId ? 'eu' : undefined,
  target: { type: 'conversation', id: crypto.randomUUID() },
  reason: 'conversion export',
  outcome: 'success',
  metadata: { rows: 3, scope: 'masked' },
  ...extra,
});

describe('audit append', () => {
  it('writes a hash chain whose canonical form the TypeScript side reproduces (unicode, nulls, quotes)', async () => {
    const ws = crypto.randomUUID();
    const audit = createAuditLog({ pools: broker });
    await audit.append(
      ev(ws, { actor: { id: 'u-1', kind: 'customer', displayName: 'Zoë "Z" Ödegaard' }, reason: undefined, metadata: undefined }),
    );
    await audit.append(
      ev(ws, {
        reason: 'ticket #4411: résumé ✓ \\ back|slash ~',
        target: { type: 'conversation' },
        sessionId: 's-1',
        clientIp: '::ffff:127.0.0.1',
        userAgent: 'curl/8\n',
      }),
    );
    await audit.append(ev(ws, { metadata: { z: 'last', a: 'first', n: null, ok: true, f: 1.5 } }));
    const events = await expectValidChain(op.region('eu'), ws, 3);
    expect(events[0]).toMatchObject({
      actorKind: 'customer',
      reason: null,
      targetType: 'conversation',
      metadata: '{}',
      actorName: 'Zoë "Z" Ödegaard',
    });
    expect(events[1]).toMatchObject({ targetId: null, clientIp: '::ffff:127.0.0.1', userAgent: 'curl/8' });
    expect(events[2].metadata).toBe('{"a":"first","f":1.5,"n":null,"ok":true,"z":"last"}');
    expect(events[0].occurredAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it('sends platform events (no workspace) to the control database', async () => {
    const audit = createAuditLog({ pools: ingest });
    const before = await op.control.query(`SELECT coalesce(max(seq),0)::int AS n FROM audit.events WHERE stream_id = $1`, [
      PLATFORM_STREAM,
    ]);
    await audit.append({
      action: 'auth.login',
      actor: { id: 'u-2', kind: 'customer' },
      outcome: 'failure',
      metadata: { code: 'bad_totp' },
    });
    const after = await op.control.query(
      `SELECT max(seq)::int AS n, (array_agg(action ORDER BY seq DESC))[1] AS a FROM audit.events WHERE stream_id = $1`,
      [PLATFORM_STREAM],
    );
    expect(after.rows[0].n).toBeGreaterThan(before.rows[0].n);
    expect(after.rows[0].a).toBe('auth.login');
  });

  it('keeps one valid chain per workspace with many concurrent appenders in several processes', async () => {
    const [a, b] = [crypto.randomUUID(), crypto.randomUUID()];
    const extra = [servicePools('broker'), servicePools('ingest')];
    const logs = [
      createAuditLog({ pools: broker }),
      createAuditLog({ pools: ingest }),
      ...extra.map((pools) => createAuditLog({ pools, batching: { maxInFlight: 3, maxBatch: 7 } })),
    ];
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < 400; i++) jobs.push(logs[i % logs.length].append(ev(i % 3 === 0 ? b : a, { metadata: { i } })));
    await Promise.all(jobs);
    await Promise.all(extra.map((p) => p.end()));
    const evA = await expectValidChain(op.region('eu'), a, 400 - Math.ceil(400 / 3));
    await expectValidChain(op.region('eu'), b, Math.ceil(400 / 3));
    // Every append landed exactly once.
    const seen = new Set(evA.map((e) => JSON.parse(e.metadata).i));
    expect(seen.size).toBe(evA.length);
  });

  it('group-commits: concurrent appends share transactions, each promise resolves after its commit', async () => {
    const ws = crypto.randomUUID();
    let connects = 0;
    const pool = op.region('eu');
    const counting = { connect: () => (connects++, pool.connect()) } as unknown as pg.Pool;
    const audit = createAuditLog({ pools: { control: counting, region: () => counting } });
    await Promise.all(Array.from({ length: 200 }, (_, i) => audit.append(ev(ws, { metadata: { i } }))));
    expect(connects).toBeLessThanOrEqual(10);
    await expectValidChain(pool, ws, 200);
  });

  it('rejects (fails closed) when the database cannot be reached', async () => {
    const dead = new pg.Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none', connectionTimeoutMillis: 500 });
    dead.on('error', () => undefined);
    const audit = createAuditLog({ pools: { control: dead, region: () => dead } });
    await expect(audit.append(ev(crypto.randomUUID()))).rejects.toThrow();
    await dead.end();
  });

  it('a bad event in a batch fails alone; the others commit', async () => {
    const ws = crypto.randomUUID();
    const batcher = createBatcher(op.region('eu'));
    const good = toAppendRow(ev(ws)).row;
    const bad = { ...good, actorKind: 'robot' }; // passes nothing in TS; refused by the CHECK constraint
    const results = await Promise.allSettled([batcher.push(good), batcher.push(bad), batcher.push(good)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    await expectValidChain(op.region('eu'), ws, 2);
  });

  it('refuses events that could carry raw identifiers or lack what the model requires', async () => {
    const audit = createAuditLog({ pools: broker });
    const ws = crypto.randomUUID();
    const refused: [string, Partial<AuditEventInput>][] = [
      ['phone in metadata', { metadata: { note: '+44 7700 900123' } }],
      ['bare number string', { metadata: { v: '07700900123' } }],
      ['phone as a number', { metadata: { v: 447700900123 } }],
      ['email in metadata', { metadata: { who: 'jane.doe@example.com' } }],
      ['phone-ish key', { metadata: { phone: 'x' } }],
      ['phone in the reason', { reason: 'customer called from +1 (202) 555-0143' }],
      ['wa_id as target id', { target: { type: 'contact', id: '447700900123' } }],
      ['employee read without a reason', { actor: { id: 'e-1', kind: 'employee', role: 'support' }, reason: '  ' }],
      ['service read without a reason', { reason: undefined }],
      ['too many metadata keys', { metadata: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, i])) }],
      ['long metadata string', { metadata: { v: 'x'.repeat(201) } }],
      ['nested metadata', { metadata: { v: { a: 1 } as unknown as string } }],
      ['undotted action', { action: 'read' }],
      ['unknown actor kind', { actor: { id: 'x', kind: 'robot' as 'service' } }],
      ['workspace without region', { region: undefined }],
    ];
    for (const [what, patch] of refused) {
      await expect(audit.append(ev(ws, patch)), what).rejects.toThrow(/invalid audit event/);
    }
    // What is fine: customer reads without a reason, uuids and hex hashes in metadata.
    await audit.append(
      ev(ws, {
        actor: { id: 'c-1', kind: 'customer', role: 'analyst' },
        reason: undefined,
        metadata: { hash: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678abcdef0123456789abcdef01', id: crypto.randomUUID(), rows: 120000 },
      }),
    );
    const { rows } = await op.region('eu').query('SELECT count(*)::int AS n FROM audit.events WHERE stream_id = $1', [ws]);
    expect(rows[0].n).toBe(1);
  });

  it('identifier detection: property test over formatted phone numbers and e-mail addresses', async () => {
    const fc = await import('fast-check');
    const digits = (n: number) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: n, maxLength: n }).map((d) => d.join(''));
    fc.assert(
      fc.property(
        digits(10),
        fc.constantFrom(' ', '-', '.', ''),
        fc.constantFrom('+44 ', '+1', '00', ''),
        fc.string({ maxLength: 10 }),
        (d, sep, prefix, text) => {
          const formatted = prefix + d.slice(0, 3) + sep + d.slice(3, 6) + sep + d.slice(6);
          return looksLikeIdentifier(formatted) && (prefix.startsWith('+') ? looksLikeIdentifier(`${text} ${formatted} ${text}`) : true);
        },
      ),
    );
    fc.assert(fc.property(fc.emailAddress(), (e) => looksLikeIdentifier(e) && looksLikeIdentifier(`mail ${e} now`)));
    fc.assert(fc.property(fc.uuid(), (u) => !looksLikeIdentifier(u)));
  });
});
