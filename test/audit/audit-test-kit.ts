import crypto from 'node:crypto';
import type pg from 'pg';
import { expect } from 'vitest';
import { eventHash, GENESIS_HASH } from '../../shared/audit/audit-canonical.ts';
import { readEvents } from '../../shared/audit/audit-dal.ts';
import { PassThrough, Readable } from 'node:stream';
import { createAuditLog } from '../../shared/audit/audit-service.ts';
import { createAuditSigner } from '../../shared/audit/audit-signing.ts';
import { localSigningKey } from '../../shared/audit/audit-signing-keys.ts';
import { loadTrustedKeys, type TrustedKeys } from '../../shared/audit/audit-keys.ts';
import { exportAuditStream, type ExportOptions } from '../../shared/audit/audit-export.ts';
import { verifyExport, type VerifyOptions } from '../../shared/audit/audit-verify.ts';
import type { AuditDatabase, AuditEventInput } from '../../shared/audit/audit-types.ts';
import { operatorPools, servicePools, testConfig } from '../support/db.ts';

/** Broker-role pools, a signer (wact_signer) with the run's local key, and export/verify helpers. */
export function auditKit() {
  // One signing key for every audit test file: the run's shared state folder holds
  // the local Ed25519 file, so every file and the CLI sign with the same key.
  const config = testConfig();
  const broker = servicePools('broker');
  const op = operatorPools();
  const poolFor = (db: AuditDatabase) => (db === 'control' ? broker.control : broker.region(db));
  // The signer works under its own role, as the signing worker does (only wact_signer writes keys and heads).
  const signerPools = servicePools('signer');
  const signer = createAuditSigner({
    poolFor: (db) => (db === 'control' ? signerPools.control : signerPools.region(db)),
    key: () => localSigningKey(config.home),
  });
  const audit = createAuditLog({ pools: broker });

  const event = (ws: string, i: number, extra: Partial<AuditEventInput> = {}): AuditEventInput => ({
    action: i % 2 ? 'data.read' : 'db.query',
    actor: { id: `emp-${i % 3}`, kind: 'employee', role: 'engineer', displayName: `Engineer ${i % 3}` },
    workspaceId: ws,
    region: 'eu',
    target: { type: 'conversation', id: crypto.randomUUID() },
    reason: i === 2 ? '=HYPERLINK("http://evil.example","x")' : `ticket T-${i}, "quoted", multi\nline`,
    sessionId: 'sess-1',
    outcome: 'success',
    metadata: { i, note: i === 3 ? '-2+3' : 'ok' },
    ...extra,
  });

  /** A fresh workspace stream with `n` events, head signed. */
  async function stream(n: number): Promise<string> {
    const ws = crypto.randomUUID();
    for (let i = 1; i <= n; i++) await audit.append(event(ws, i));
    await signer.signStreamHead('eu', ws, 'periodic');
    return ws;
  }

  async function exportText(ws: string, opts: Partial<ExportOptions> = {}): Promise<string> {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    await exportAuditStream({ poolFor, signer }, { database: 'eu', streamId: ws, format: 'jsonl', ...opts }, out);
    out.end();
    return Buffer.concat(chunks).toString('utf8');
  }

  /** The published key set, as JSON text (what /.well-known/wact-audit-keys serves). */
  async function keySetText(): Promise<string> {
    for (const db of ['control', 'eu', 'us'] as const) await signer.activeKey(db);
    return JSON.stringify({ keys: await signer.publicKeys(['control', 'eu', 'us']) });
  }

  async function keys(): Promise<TrustedKeys> {
    return loadTrustedKeys(await keySetText());
  }

  async function verifyText(text: string, opts?: VerifyOptions) {
    return verifyExport(Readable.from([text]), await keys(), opts);
  }

  return {
    config,
    broker,
    op,
    poolFor,
    signer,
    audit,
    event,
    stream,
    exportText,
    keys,
    keySetText,
    verifyText,
    end: () => Promise.all([broker.end(), signerPools.end(), op.end()]),
  };
}

/** The fields a gateway connection's events share (connect, statements, checkpoints, disconnect), as the gateway sets them. */
export function gatewayConnectionFields(ws: string, sessionId: string) {
  return {
    actor: { id: 'emp-7', kind: 'employee' as const, role: 'engineer', displayName: 'Erin Engineer' },
    workspaceId: ws,
    region: 'eu' as const,
    target: { type: 'db_session', id: sessionId },
    reason: 'Investigating TICKET-9 attribution gap',
    sessionId,
    clientIp: '127.0.0.1',
  };
}

/** Recomputes a whole stream from the database rows: contiguous seq, links, hashes, and the stored head. */
export async function expectValidChain(pool: pg.Pool, streamId: string, count: number) {
  const events = await readEvents(pool, streamId, 1, 1_000_000);
  expect(events.map((e) => Number(e.seq))).toEqual(Array.from({ length: count }, (_, i) => i + 1));
  let prev = GENESIS_HASH;
  for (const e of events) {
    expect(e.prevHash).toBe(prev);
    expect(eventHash(e.prevHash, e)).toBe(e.hash);
    prev = e.hash;
  }
  const head = await pool.query(`SELECT seq::int, encode(hash,'hex') AS hash FROM audit.chain_heads WHERE stream_id = $1`, [streamId]);
  expect(head.rows[0]).toEqual({ seq: count, hash: prev });
  return events;
}
