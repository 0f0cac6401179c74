import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headMessage } from '../../shared/audit/audit-canonical.ts';
import { exportAuditStream } from '../../shared/audit/audit-export.ts';
import { checkSignature, loadTrustedKeys } from '../../shared/audit/audit-keys.ts';
import { AUDIT_DATABASES } from '../../shared/audit/audit-platform.ts';
import { createAuditLog } from '../../shared/audit/audit-service.ts';
import { createAuditSigner, type AuditSigner } from '../../shared/audit/audit-signing.ts';
import { localSigningKey } from '../../shared/audit/audit-signing-keys.ts';
import type { AuditDatabase } from '../../shared/audit/audit-types.ts';
import { verifyExport } from '../../shared/audit/audit-verify.ts';
import { createPools, type Pools } from '../../shared/db/pools.ts';
import type { DatabaseUrls } from '../../shared/db/database-urls.ts';
import { createScratchDatabases, type ScratchDatabases } from '../support/scratch-databases.ts';

/**
 * Key rotation keeps old exports verifiable (issue 13, point 2), on databases
 * of its own: registering a second signing key in the shared test databases
 * would close the validity of the key every other audit test file signs with.
 *
 * Key A signs, then the signer is configured with key B (what an operator does
 * to rotate). Both exports must verify with the published key set through both
 * verifiers; and key A, still in an insider's hands after the rotation, must no
 * longer make a signature dated after it that a verifier accepts (a backdated
 * one is caught by the customer's digests, not by validity: docs/audit-export.md, Limits).
 */
const SCRIPT = path.resolve('scripts/verify-audit-export.mjs');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-rotation-'));
let scratch: ScratchDatabases;
let pools: Pools;
let brokerPools: Pools;
let poolFor: (db: AuditDatabase) => ReturnType<Pools['region']>;

beforeAll(async () => {
  // No serverUrl: a throw-away embedded server, so nothing here touches the run's key set.
  scratch = await createScratchDatabases({ prefix: 'wact_rot' });
  // The signer's own role: only wact_signer publishes keys and writes signed heads.
  pools = createPools(scratch.urls as DatabaseUrls, { user: 'wact_signer', password: scratch.servicePasswords.signer, max: 3 });
  poolFor = (db) => (db === 'control' ? pools.control : pools.region(db));
  // Events are appended by the services, as in production.
  brokerPools = createPools(scratch.urls as DatabaseUrls, { user: 'wact_broker', password: scratch.servicePasswords.broker, max: 2 });
}, 180_000);
afterAll(async () => {
  await pools?.end();
  await brokerPools?.end();
  await scratch?.drop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A signer with its own local Ed25519 key file (a "configured key"), as the broker builds one. */
async function signerWithKey(name: string): Promise<{ signer: AuditSigner; kid: string }> {
  const home = path.join(tmp, name);
  const key = await localSigningKey(home);
  return { signer: createAuditSigner({ poolFor, key: () => localSigningKey(home) }), kid: key.keyId };
}

async function exportText(signer: AuditSigner, ws: string): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await exportAuditStream({ poolFor, signer }, { database: 'eu', streamId: ws, format: 'jsonl' }, out);
  out.end();
  return Buffer.concat(chunks).toString('utf8');
}

/** What /.well-known/wact-audit-keys serves (broker/audit/well-known-routes.ts does exactly this). */
async function publishedKeySet(signer: AuditSigner): Promise<string> {
  await Promise.all(AUDIT_DATABASES.map((db) => signer.activeKey(db)));
  return JSON.stringify({ keys: await signer.publicKeys(AUDIT_DATABASES) });
}

let n = 0;
function script(text: string, keySet: string): Promise<{ code: number; out: string }> {
  const file = path.join(tmp, `export-${++n}.jsonl`);
  const keysFile = path.join(tmp, `keys-${n}.json`);
  fs.writeFileSync(file, text);
  fs.writeFileSync(keysFile, keySet);
  return new Promise((resolve) =>
    execFile(process.execPath, [SCRIPT, file, '--keys', keysFile], (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    ),
  );
}

/** Both verifiers' verdicts on one export with one key set; they must agree. */
async function bothVerdicts(text: string, keySet: string) {
  const ref = await verifyExport(Readable.from([text]), loadTrustedKeys(keySet));
  const alt = await script(text, keySet);
  expect(alt.code === 0, `script: ${alt.out}\nreference: ${JSON.stringify(ref.problems)}`).toBe(ref.ok);
  return { ref, alt };
}

const records = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown> & { type: string });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('audit signing key rotation', () => {
  it('exports signed by key A and by key B both verify with the published set; A signing after B was registered is refused', async () => {
    const audit = createAuditLog({ pools: brokerPools });
    const ws = crypto.randomUUID();
    const append = (i: number) =>
      audit.append({
        action: 'data.read',
        actor: { id: `emp-${i}`, kind: 'employee', role: 'engineer' },
        workspaceId: ws,
        region: 'eu',
        target: { type: 'conversation', id: `c-${i}` },
        reason: `ticket T-${i}`,
        outcome: 'success',
      });

    // Key A: events 1–5, signed head and export.
    const a = await signerWithKey('key-a');
    for (let i = 1; i <= 5; i++) await append(i);
    await a.signer.signStreamHead('eu', ws, 'periodic');
    const exportA = await exportText(a.signer, ws);
    const setBeforeRotation = await publishedKeySet(a.signer);
    expect(records(exportA)[0]).toMatchObject({ keyId: a.kid, lastSeq: '5' });

    // Rotation: the signer now has key B. Its registration closes A's validity.
    await sleep(20);
    const b = await signerWithKey('key-b');
    expect(b.kid).not.toBe(a.kid);
    // B is first registered in one database only (the others are unreachable, or not signed in yet):
    // A must already be closed in the published set, not left open by the databases that have not seen B.
    await b.signer.activeKey('eu');
    const partly = await b.signer.publicKeys(AUDIT_DATABASES);
    expect(partly.find((k) => k.kid === a.kid)!.validTo).toBe(partly.find((k) => k.kid === b.kid)!.validFrom);
    await sleep(5);
    const setAfterRotation = await publishedKeySet(b.signer);
    for (let i = 6; i <= 8; i++) await append(i);
    const exportB = await exportText(b.signer, ws);
    const recsB = records(exportB);
    expect(recsB[0]).toMatchObject({ keyId: b.kid, firstSeq: '1', lastSeq: '8' });
    // The second export carries heads of both keys: A's old head at 5, B's at the new end.
    const headKids = new Set(recsB.filter((r) => r.type === 'signed_head').map((r) => r.keyId));
    expect(headKids).toEqual(new Set([a.kid, b.kid]));

    // The published set: A retired (validTo = B's validFrom), B open; fingerprints per key.
    const published = (JSON.parse(setAfterRotation) as { keys: { kid: string; validFrom: string; validTo: string | null }[] }).keys;
    const pa = published.find((k) => k.kid === a.kid)!;
    const pb = published.find((k) => k.kid === b.kid)!;
    expect(pa.validTo).not.toBeNull();
    expect(Date.parse(pa.validTo!)).toBe(Date.parse(pb.validFrom));
    expect(pb.validTo).toBeNull();

    // Both exports, through both verifiers, with the set published after the rotation.
    for (const text of [exportA, exportB]) {
      const { ref } = await bothVerdicts(text, setAfterRotation);
      expect(ref.problems).toEqual([]);
      expect(ref.anchored).toEqual({ start: true, end: true });
    }
    // A customer who saved the set before the rotation cannot verify B's export (B unknown to them) —
    // and must not: a key set is trusted only as taken from outside the file.
    const stale = await bothVerdicts(exportB, setBeforeRotation);
    expect(stale.ref.ok).toBe(false);
    expect(stale.ref.problems.map((p) => p.message).join('\n')).toMatch(new RegExp(`unknown key ${b.kid}`));

    // An insider who kept key A signs after the rotation (the signer still finds A registered and uses it).
    await sleep(20);
    const stolen = createAuditSigner({ poolFor, key: () => localSigningKey(path.join(tmp, 'key-a')) });
    await append(9);
    const forged = await exportText(stolen, ws);
    const recsF = records(forged);
    expect(recsF[0]).toMatchObject({ keyId: a.kid, lastSeq: '9' });
    expect(Date.parse(String(recsF[0].signedAt))).toBeGreaterThan(Date.parse(pb.validFrom));
    const { ref, alt } = await bothVerdicts(forged, await publishedKeySet(b.signer));
    expect(ref.ok).toBe(false);
    expect(alt.code).toBe(1);
    const said = ref.problems.map((p) => `${p.kind}: ${p.message}`).join('\n');
    expect(said).toMatch(new RegExp(`manifest: .*outside the validity of key ${a.kid}`));
    expect(said).toMatch(/the last event seq 9 .*is not covered by a signed head/);
    expect(alt.out).toMatch(/validity/);

    // The same at the level of one signature: A's head at 5 counts, A's head at 9 (after B) does not.
    const keys = loadTrustedKeys(setAfterRotation);
    const headAt = (recs: typeof recsF, seq: string) =>
      recs.find((r) => r.type === 'signed_head' && r.seq === seq && r.keyId === a.kid) as
        { streamId: string; seq: string; hash: string; signedAt: string; keyId: string; signature: string } | undefined;
    const old = headAt(recsB, '5')!;
    expect(checkSignature(keys, old.keyId, old.signedAt, headMessage(old), old.signature)).toEqual({ ok: true });
    const late = headAt(recsF, '9')!;
    expect(checkSignature(keys, late.keyId, late.signedAt, headMessage(late), late.signature)).toMatchObject({
      ok: false,
      why: expect.stringMatching(/outside the validity/),
    });
  }, 120_000);
});
