import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventHash, GENESIS_HASH, headMessage, manifestMessage } from '../../shared/audit/audit-canonical.ts';
import { readEvents } from '../../shared/audit/audit-dal.ts';
import { listDigests } from '../../shared/audit/audit-digests.ts';
import { KeyTrustError, loadTrustedKeys, publishKey } from '../../shared/audit/audit-keys.ts';
import { readDigestDir } from '../../shared/audit/audit-digests.ts';
import { auditKit } from './audit-test-kit.ts';

/**
 * Every forgery class of issue 13 through BOTH verifiers: the reference
 * (shared/audit/audit-verify.ts, what `wact audit verify` runs) and the
 * standalone script (scripts/verify-audit-export.mjs). Each must refuse, and
 * they must agree; genuine exports of any range must pass both.
 */
const kit = auditKit();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-forgery-'));
const SCRIPT = path.resolve('scripts/verify-audit-export.mjs');
let keysFile: string;
let keySet: string;

beforeAll(async () => {
  keySet = await kit.keySetText();
  keysFile = path.join(dir, 'keys.json');
  fs.writeFileSync(keysFile, keySet);
});
afterAll(() => kit.end());

type Rec = Record<string, unknown> & { type: string };
const parse = (text: string): Rec[] =>
  text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Rec);
const render = (recs: Rec[]) => recs.map((r) => JSON.stringify(r)).join('\n') + '\n';

let n = 0;
function script(text: string, opts: { keys?: string; digests?: string; pins?: string[] } = {}): Promise<{ code: number; out: string }> {
  const file = path.join(dir, `case-${++n}.jsonl`);
  fs.writeFileSync(file, text);
  const args = [SCRIPT, file, '--keys', opts.keys ?? keysFile, ...(opts.digests ? ['--digests', opts.digests] : [])];
  for (const p of opts.pins ?? []) args.push('--fingerprint', p);
  return new Promise((resolve) =>
    execFile(process.execPath, args, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    ),
  );
}

/** Both verdicts; they must agree. */
async function both(text: string, opts: { digestsDir?: string } = {}) {
  const digests = opts.digestsDir ? readDigestDir(opts.digestsDir) : undefined;
  const ref = await kit
    .verifyText(text, { digests })
    .catch((err: Error) => ({ ok: false, problems: [{ kind: 'format', message: err.message }] }));
  const alt = await script(text, { digests: opts.digestsDir });
  expect(alt.code === 0, `script: ${alt.out}\nreference: ${JSON.stringify(ref.problems)}`).toBe(ref.ok);
  return { ref, alt };
}

/** An attacker's re-signing with a key of their own (they do not hold WAct's). */
const attacker = crypto.generateKeyPairSync('ed25519');
function resign(recs: Rec[], kid = 'local-attacker'): Rec[] {
  return recs.map((r) => {
    if (r.type === 'header') {
      const m = { ...r, keyId: kid };
      return { ...m, signature: crypto.sign(null, manifestMessage(m), attacker.privateKey).toString('base64') };
    }
    if (r.type === 'signed_head') {
      const h = { ...r, keyId: kid } as Rec & { streamId: string; seq: string; hash: string; signedAt: string; keyId: string };
      return { ...h, signature: crypto.sign(null, headMessage(h), attacker.privateKey).toString('base64') };
    }
    return r;
  });
}

/** Re-chains events from `from` (hashes recomputed), as someone rewriting history would. */
function rechain(recs: Rec[], prevHash: string): Rec[] {
  let prev = prevHash;
  return recs.map((r) => {
    if (r.type !== 'event') return r;
    const e = { ...r, prevHash: prev } as Rec & { prevHash: string; hash: string };
    e.hash = eventHash(prev, e as never);
    prev = e.hash;
    return e;
  });
}

const expectRefused = async (text: string, kind: RegExp | string, opts: { digestsDir?: string } = {}) => {
  const { ref, alt } = await both(text, opts);
  expect(ref.ok).toBe(false);
  expect(alt.code).toBe(1);
  expect(ref.problems.map((p) => `${p.kind}: ${p.message}`).join('\n')).toMatch(kind);
  return ref;
};

describe('forgeries: refused by both verifiers, genuine exports pass both', () => {
  let ws: string;
  let genuine: string;
  beforeAll(async () => {
    ws = await kit.stream(12);
    genuine = await kit.exportText(ws);
  });

  it('genuine exports of any range pass both (whole stream, time ranges, incremental, capped, CSV, empty)', async () => {
    const rows = await readEvents(kit.op.region('eu'), ws, 1, 100);
    const cases = [
      genuine,
      await kit.exportText(ws, { format: 'csv' }),
      await kit.exportText(ws, { afterSeq: 4n }),
      await kit.exportText(ws, { afterSeq: 3n, maxEvents: 5 }),
      await kit.exportText(ws, { to: new Date(Date.parse(rows[6].occurredAt) + 1) }),
      await kit.exportText(ws, { from: new Date(Date.now() + 3600_000) }),
    ];
    for (const text of cases) {
      const { ref } = await both(text);
      expect(ref.problems).toEqual([]);
    }
  });

  it('history rewritten without signatures (re-chained from genesis, actor altered, no signed head)', async () => {
    const recs = parse(genuine).filter((r) => r.type !== 'signed_head');
    const ev = recs.find((r) => r.type === 'event' && r.seq === '3')!;
    ev.actorId = 'emp-innocent';
    ev.actorName = 'Someone Else';
    const forged = rechain(recs, GENESIS_HASH);
    const hdr = forged[0];
    hdr.lastHash = (forged.filter((r) => r.type === 'event').at(-1) as Rec).hash;
    (forged.at(-1) as Rec).signedHeads = 0;
    await expectRefused(render(forged), /unsigned_end: the last event .* is not covered by a signed head/);
    await expectRefused(render(forged), /manifest: the header .*signature by key .* does not verify/);
    // Also without the manifest signature at all.
    await expectRefused(
      render(forged.map((r) => (r.type === 'header' ? { ...r, signature: null } : r))),
      /manifest: the header \(manifest\) is not signed/,
    );
  });

  it('events cut at the end with the header re-labelled (complete: false, new last seq and hash)', async () => {
    const recs = parse(genuine);
    const keep = recs.filter((r) => !(r.type === 'event' && Number(r.seq) > 9));
    const last = keep.filter((r) => r.type === 'event').at(-1)!;
    Object.assign(keep[0], { lastSeq: '9', lastHash: last.hash, complete: false, events: 9 });
    (keep.at(-1) as Rec).events = 9;
    await expectRefused(render(keep), /manifest: .*does not verify/);
    await expectRefused(render(keep), /unsigned_end: the last event seq 9/);
  });

  it('events cut at the start with the header re-labelled', async () => {
    const recs = parse(genuine);
    const keep = recs.filter((r) => !(r.type === 'event' && Number(r.seq) < 4));
    const first = keep.find((r) => r.type === 'event')!;
    Object.assign(keep[0], { firstSeq: '4', anchorSeq: '3', anchorHash: first.prevHash, events: 9, complete: false });
    (keep.at(-1) as Rec).events = 9;
    await expectRefused(render(keep), /manifest: .*does not verify/);
    // Unchanged header: the manifest names the cut.
    const plain = parse(genuine).filter((r) => !(r.type === 'event' && Number(r.seq) < 4));
    await expectRefused(render(plain), /the signed manifest starts at seq 1, the file at seq 4/);
  });

  it('header fields changed: workspace, range, completeness, export time', async () => {
    for (const change of [
      { workspaceId: crypto.randomUUID() },
      { from: '2020-01-01T00:00:00.000000Z' },
      { to: '2030-01-01T00:00:00.000000Z' },
      { complete: false },
      { exportedAt: '2020-01-01T00:00:00.000000Z' },
      { database: 'us' },
    ]) {
      const recs = parse(genuine);
      Object.assign(recs[0], change);
      await expectRefused(render(recs), /manifest: the header .* does not verify: it was changed or forged/);
    }
  });

  it('events spliced in from another workspace', async () => {
    const other = await kit.stream(3);
    const foreign = parse(await kit.exportText(other)).find((r) => r.type === 'event' && r.seq === '2')!;
    const recs = parse(genuine);
    const at = recs.findIndex((r) => r.type === 'event' && r.seq === '6');
    recs.splice(at + 1, 0, foreign);
    await expectRefused(render(recs), new RegExp(`foreign: event seq 2 .*belongs to stream ${other}`));
    // Replacing an event instead of adding one.
    const recs2 = parse(genuine);
    recs2[at] = { ...foreign, seq: '6' };
    await expectRefused(render(recs2), /foreign: event seq 6/);
  });

  it('everything re-signed by a key that is not published (unknown key)', async () => {
    const recs = parse(genuine);
    const ev = recs.find((r) => r.type === 'event' && r.seq === '5')!;
    ev.reason = 'rewritten';
    const forged = rechain(recs, GENESIS_HASH);
    forged[0].lastHash = (forged.filter((r) => r.type === 'event').at(-1) as Rec).hash;
    const evs = forged.filter((r) => r.type === 'event');
    for (const h of forged.filter((r) => r.type === 'signed_head')) h.hash = evs.find((e) => e.seq === h.seq)?.hash ?? h.hash;
    await expectRefused(render(resign(forged)), /signature: the header .*signed by unknown key local-attacker/);
  });

  it('a key that does not match the published fingerprint is refused before anything is checked', async () => {
    const set = JSON.parse(keySet) as { keys: Record<string, unknown>[] };
    const genuineKid = String(set.keys.at(-1)!.kid);
    // The attacker swaps the key material under the genuine kid and fingerprint, and re-signs with it.
    const swapped = {
      keys: set.keys.map((k) =>
        k.kid === genuineKid
          ? { ...k, x: publishKey(attacker.publicKey, { kid: genuineKid, validFrom: '', validTo: null, source: '' }).x }
          : k,
      ),
    };
    const swappedFile = path.join(dir, 'swapped-keys.json');
    fs.writeFileSync(swappedFile, JSON.stringify(swapped));
    expect(() => loadTrustedKeys(JSON.stringify(swapped))).toThrow(KeyTrustError);
    expect(() => loadTrustedKeys(JSON.stringify(swapped))).toThrow(/does not match its published fingerprint/);
    const forged = render(resign(parse(genuine), genuineKid));
    const alt = await script(forged, { keys: swappedFile });
    expect(alt.code).not.toBe(0);
    expect(alt.out).toMatch(/does not match its published fingerprint/);
    // A pinned fingerprint that is not WAct's: nothing is trusted.
    const pin = `sha256:${'ab'.repeat(32)}`;
    expect(() => loadTrustedKeys(keySet, [pin])).toThrow(/no key matches the pinned fingerprint/);
    expect((await script(genuine, { pins: [pin] })).code).not.toBe(0);
  });

  it('generated tamperings (fast-check): both verifiers give the same verdict, and a changed event never passes', async () => {
    const lines = genuine.trim().split('\n');
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record({ op: fc.constant('delete' as const), i: fc.nat(lines.length - 1) }),
          fc.record({ op: fc.constant('swap' as const), i: fc.nat(lines.length - 1), j: fc.nat(lines.length - 1) }),
          fc.record({ op: fc.constant('dup' as const), i: fc.nat(lines.length - 1) }),
          fc.record({
            op: fc.constant('field' as const),
            i: fc.nat(lines.length - 1),
            key: fc.constantFrom(
              'seq',
              'actorId',
              'reason',
              'hash',
              'prevHash',
              'signature',
              'signedAt',
              'keyId',
              'lastSeq',
              'events',
              'anchorHash',
              'streamId',
              'outcome',
            ),
            value: fc.oneof(fc.string({ maxLength: 8 }), fc.constant(null), fc.constantFrom('0', '7', '99', GENESIS_HASH)),
          }),
        ),
        async (t) => {
          const out = [...lines];
          if (t.op === 'delete') out.splice(t.i, 1);
          else if (t.op === 'swap') [out[t.i], out[t.j]] = [out[t.j], out[t.i]];
          else if (t.op === 'dup') out.splice(t.i, 0, out[t.i]);
          else {
            const r = JSON.parse(out[t.i]) as Record<string, unknown>;
            if (!(t.key in r)) return;
            r[t.key] = t.value;
            out[t.i] = JSON.stringify(r);
          }
          const text = out.join('\n') + '\n';
          const { ref } = await both(text);
          // Reordering or duplicating signed heads proves the same claim; any change to the
          // header, an event or the event order must not pass.
          const claim = (x: string) =>
            x
              .split('\n')
              .filter((l) => !l.includes('"type":"signed_head"') && l.trim())
              .join('\n');
          if (claim(text) !== claim(genuine)) expect(ref.ok, text).toBe(false);
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);
});

describe('the witness the customer keeps: digest files', () => {
  it('a superuser who also holds the signing key rewrites one event and re-signs everything: the saved digests name it', async () => {
    const ws = await kit.stream(9);
    await kit.signer.makeDigests('eu');
    for (let i = 10; i <= 14; i++) await kit.audit.append(kit.event(ws, i));
    await kit.signer.makeDigests('eu');
    // The customer downloads and keeps the digests (as /api/…/audit/digests or `wact audit digests` serve them).
    const saved = path.join(dir, `digests-${ws}`);
    fs.mkdirSync(saved);
    const files = await listDigests(kit.op.region('eu'), ws);
    expect(files.length).toBe(2);
    for (const f of files) fs.writeFileSync(path.join(saved, f.name), f.body);
    // A genuine export verifies against them.
    expect((await both(await kit.exportText(ws), { digestsDir: saved })).ref.problems).toEqual([]);

    // The insider: superuser on the database and the signing key itself. Rewrite seq 6, re-chain,
    // drop every signature and digest, and sign again from genesis.
    const db = kit.op.region('eu');
    await db.query(`UPDATE audit.events SET actor_id = 'emp-innocent', actor_name = 'Someone Else' WHERE stream_id = $1 AND seq = 6`, [ws]);
    let prev = (await readEvents(db, ws, 5, 5))[0].hash;
    for (const e of await readEvents(db, ws, 6, 100)) {
      const hash = eventHash(prev, { ...e });
      await db.query(`UPDATE audit.events SET prev_hash = decode($3, 'hex'), hash = decode($4, 'hex') WHERE stream_id = $1 AND seq = $2`, [
        ws,
        e.seq,
        prev,
        hash,
      ]);
      prev = hash;
    }
    await db.query(`UPDATE audit.chain_heads SET hash = decode($2, 'hex') WHERE stream_id = $1`, [ws, prev]);
    await db.query('DELETE FROM audit.signed_heads WHERE stream_id = $1', [ws]);
    await db.query('DELETE FROM audit.digests WHERE stream_id = $1', [ws]);
    await kit.signer.signStreamHead('eu', ws, 'periodic');
    await kit.signer.makeDigests('eu');

    const forged = await kit.exportText(ws);
    // Without the digests the forgery is perfect: both verifiers accept it.
    expect((await both(forged)).ref.ok).toBe(true);
    // With the digests the customer kept, both refuse, and the reference names seq 6.
    const ref = await expectRefused(forged, /digest: event seq 6 \(id [0-9a-f-]+\) was rewritten after digest/, { digestsDir: saved });
    expect(ref.problems.filter((p) => p.kind === 'digest')[0]).toMatchObject({ seq: '6' });
    expect(ref.problems.map((p) => p.message).join('\n')).toMatch(
      /later event\(s\) differ from the digests because they were re-chained \(seq 7–14\)/,
    );
    const alt = await script(forged, { digests: saved });
    expect(alt.out).toMatch(/event seq 6 .*rewritten/);
  }, 60_000);
});
