import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker } from '../../broker/server.ts';
import { exportAuditStream } from '../../shared/audit/audit-export.ts';
import { createSignerClient, type AuditSigningService } from '../../shared/audit/audit-sign-requests.ts';
import { loadTrustedKeys, type TrustedKeys } from '../../shared/audit/audit-keys.ts';
import { createAuditLog } from '../../shared/audit/audit-service.ts';
import { createAuditSigner } from '../../shared/audit/audit-signing.ts';
import { localSigningKey } from '../../shared/audit/audit-signing-keys.ts';
import type { AuditDatabase } from '../../shared/audit/audit-types.ts';
import { verifyExport } from '../../shared/audit/audit-verify.ts';
import { createPools, type Pools } from '../../shared/db/pools.ts';
import type { RunningService, ServiceContext } from '../../shared/runtime/service-types.ts';
import { startWorker } from '../../worker/worker-server.ts';
import { testConfig } from '../support/db.ts';
import { createScratchDatabases, type ScratchDatabases, databasesOf } from '../support/scratch-databases.ts';

/**
 * Issue 13.2: the broker holds no signing key. It asks the audit signer (its
 * own process, the only holder of kms:Sign) through audit.sign_requests, and
 * the signer signs only what the database proves.
 */
const config = testConfig();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-signer-'));
const SCRIPT = path.resolve('scripts/verify-audit-export.mjs');
let keysFile: string;
let signer: RunningService | undefined;
let scratch: ScratchDatabases;
let pools: Pools;
let signerPools: Pools;
let poolFor: (db: AuditDatabase) => pg.Pool;
let audit: ReturnType<typeof createAuditLog>;
let trusted: TrustedKeys;

beforeAll(async () => {
  // A throw-away server of its own: creating databases resets the service roles' passwords,
  // which are per server, and no other test file's signer may answer these requests.
  scratch = await createScratchDatabases({ prefix: 'wact_sgn' });
  pools = createPools(scratch.urls, { user: 'wact_broker', password: scratch.servicePasswords.broker, max: 3 });
  poolFor = (db) => (db === 'control' ? pools.control : pools.region(db));
  audit = createAuditLog({ pools });
  // The published key set (what /.well-known/wact-audit-keys serves): the signer's local development key.
  signerPools = createPools(scratch.urls, { user: 'wact_signer', password: scratch.servicePasswords.signer, max: 2 });
  const publisher = createAuditSigner({
    poolFor: (db) => (db === 'control' ? signerPools.control : signerPools.region(db)),
    key: () => localSigningKey(config.home),
  });
  for (const db of ['control', 'eu', 'us'] as const) await publisher.activeKey(db);
  const keySet = JSON.stringify({ keys: await publisher.publicKeys(['control', 'eu', 'us']) });
  keysFile = path.join(dir, 'keys.json');
  fs.writeFileSync(keysFile, keySet);
  trusted = loadTrustedKeys(keySet);
}, 120_000);
afterAll(async () => {
  await signer?.close();
  await pools?.end();
  await signerPools?.end();
  await scratch?.drop();
});

const databases = () => databasesOf(scratch);

/** What the broker has: request rows, no key. */
const brokerSide = (timeoutMs: number): AuditSigningService => createSignerClient({ poolFor, timeoutMs });

async function exportVia(service: AuditSigningService, ws: string): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await exportAuditStream({ poolFor, signer: service }, { database: 'eu', streamId: ws, format: 'jsonl' }, out);
  out.end();
  return Buffer.concat(chunks).toString('utf8');
}

function script(text: string): Promise<{ code: number; out: string }> {
  const file = path.join(dir, `${crypto.randomUUID()}.jsonl`);
  fs.writeFileSync(file, text);
  return new Promise((resolve) =>
    execFile(process.execPath, [SCRIPT, file, '--keys', keysFile], (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    ),
  );
}

/** A stream whose events nobody signed yet (the broker cannot, and the signer has not run). */
async function unsignedStream(n: number): Promise<string> {
  const ws = crypto.randomUUID();
  for (let i = 1; i <= n; i++)
    await audit.append({
      action: 'data.read',
      actor: { id: `emp-${i}`, kind: 'employee', role: 'engineer' },
      workspaceId: ws,
      region: 'eu',
      target: { type: 'conversation', id: crypto.randomUUID() },
      reason: `ticket T-${i}`,
      outcome: 'success',
      metadata: { i },
    });
  return ws;
}

const header = (text: string) => JSON.parse(text.split('\n')[0]) as Record<string, unknown>;

async function waitDone(id: string): Promise<{ result: unknown; error: string | null }> {
  for (let i = 0; i < 200; i++) {
    const { rows } = await pools
      .region('eu')
      .query<{ done_at: Date | null; result: unknown; error: string | null }>(
        'SELECT done_at, result, error FROM audit.sign_requests WHERE id = $1',
        [id],
      );
    if (rows[0]?.done_at) return rows[0];
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`request ${id} not answered`);
}

describe('the broker asks the audit signer', () => {
  it('with the signer stopped, the export goes out unsigned within the bound and both verifiers refuse it', async () => {
    const ws = await unsignedStream(4);
    const t0 = Date.now();
    const text = await exportVia(brokerSide(700), ws);
    expect(Date.now() - t0).toBeLessThan(8_000);
    const h = header(text);
    expect(h.signature).toBeNull();
    expect(h.keyId).toBeNull();
    expect(text).not.toContain('"type":"signed_head"');
    const ref = await verifyExport(Readable.from([text]), trusted);
    expect(ref.ok).toBe(false);
    expect(ref.problems.map((p) => p.message).join('\n')).toMatch(/not signed/);
    expect((await script(text)).code).not.toBe(0);
  });

  it('with the signer running, an export made without any key verifies through both verifiers', async () => {
    // The signing worker: only its audit-sign queues, the only process given the key.
    signer = await startWorker({ config, databases: databases() } as ServiceContext, { queues: ['audit-sign'], signRequestPollMs: 200 });
    const ws = await unsignedStream(5);
    const text = await exportVia(brokerSide(10_000), ws);
    const h = header(text);
    expect(h.signature).toEqual(expect.any(String));
    const ref = await verifyExport(Readable.from([text]), trusted);
    expect(ref.problems).toEqual([]);
    expect(ref.ok).toBe(true);
    const alt = await script(text);
    expect(alt.code, alt.out).toBe(0);
    // It went through request rows, each answered by the signer.
    const { rows } = await pools
      .region('eu')
      .query<{ kind: string; error: string | null; answered: boolean }>(
        'SELECT kind, error, done_at IS NOT NULL AS answered FROM audit.sign_requests WHERE stream_id = $1 ORDER BY id',
        [ws],
      );
    expect(rows.map((r) => r.kind)).toEqual(['stream_head', 'checkpoint', 'manifest']);
    expect(rows.every((r) => r.answered && r.error === null)).toBe(true);
  });

  it('refuses a forged request row: a manifest the database does not back, or a purpose nobody may ask for', async () => {
    expect(signer).toBeDefined();
    const ws = await unsignedStream(3);
    const genuine = header(await exportVia(brokerSide(10_000), ws));
    const { type: _t, format: _f, version: _v, canonical: _c, signedAt: _s, keyId: _k, signature: _g, ...manifest } = genuine;
    const ask = async (kind: string, fields: Record<string, unknown>) => {
      const { rows } = await pools
        .region('eu')
        .query<{ id: string }>(
          `INSERT INTO audit.sign_requests (kind, stream_id, seq, purpose, manifest) VALUES ($1, $2, $3, $4, $5) RETURNING id::text`,
          [kind, ws, fields.seq ?? null, fields.purpose ?? null, fields.manifest ? JSON.stringify(fields.manifest) : null],
        );
      await pools.region('eu').query(`SELECT pg_notify('wact_audit_sign', '')`);
      return waitDone(rows[0].id);
    };
    // Control: the untouched manifest, re-requested, is signed.
    const ok = await ask('manifest', { manifest: { ...manifest, exportedAt: new Date().toISOString() } });
    expect(ok.error).toBeNull();
    expect((ok.result as { signature?: string }).signature).toEqual(expect.any(String));

    const forged: [Record<string, unknown>, RegExp][] = [
      [{ ...manifest, lastHash: 'ab'.repeat(32) }, /last event does not have the stated hash/],
      [{ ...manifest, lastSeq: '2', events: 2 }, /complete export must end at the chain head/],
      [{ ...manifest, workspaceId: crypto.randomUUID() }, /workspace and stream disagree/],
      [{ ...manifest, database: 'us' }, /another database or stream/],
      [{ ...manifest, extra: 'x' }, /manifest fields/],
    ];
    for (const [m, why] of forged) {
      const r = await ask('manifest', { manifest: m });
      expect(r.result, JSON.stringify(m)).toBeNull();
      expect(r.error).toMatch(why);
    }
    const periodic = await ask('checkpoint', { seq: '2', purpose: 'periodic' });
    expect(periodic.result).toBeNull();
    expect(periodic.error).toMatch(/may not be requested/);
  });
});

describe('production', () => {
  it('refuses to start a broker given the audit signing key', async () => {
    const base = config;
    const prod = {
      ...base,
      env: 'production' as const,
      raw: { ...base.raw, WACT_AUDIT_SIGNING_KMS_KEY: 'arn:aws:kms:eu-central-1:111122223333:key/abc' },
    };
    await expect(startBroker({ config: prod, databases: databases(), tls: undefined as never }, { port: 0 })).rejects.toThrow(
      /refusing to start the broker with WACT_AUDIT_SIGNING_KMS_KEY set/,
    );
  });
});
