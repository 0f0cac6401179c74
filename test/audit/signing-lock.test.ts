import crypto from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createAuditSigner, SIGN_LOCK_KEY, type AuditSigner } from '../../shared/audit/audit-signing.ts';
import { localSigningKey, type AuditSigningKey } from '../../shared/audit/audit-signing-keys.ts';
import type { Pools } from '../../shared/db/pools.ts';
import { servicePools } from '../support/db.ts';
import { auditKit } from './audit-test-kit.ts';

/**
 * Two signings of one stream never interleave, whoever runs them (two signing
 * workers, a job pg-boss retried while its first run goes on, a sign request,
 * `wact audit sign-heads`): the second waits for the stream's signing lock,
 * then goes on from what the first wrote. Each case holds the first signer
 * inside its signature — checked, not yet written — starts the second, and
 * lets the first go only once the second waits for the lock or has finished
 * on its own (which only happens without the lock, and then both write).
 */
const kit = auditKit();
const opened: Pools[] = [];
afterAll(async () => {
  await Promise.all(opened.map((p) => p.end()));
  await kit.end();
});

/** A signer on pools of its own, as another process would be. */
function signer(key: () => Promise<AuditSigningKey>): AuditSigner {
  const pools = servicePools('signer');
  opened.push(pools);
  return createAuditSigner({ poolFor: (db) => (db === 'control' ? pools.control : pools.region(db)), key });
}

const runKey = () => localSigningKey(kit.config.home);

/** The run's key, whose signatures of `kind` over stream `ws` wait until released. */
function holdSignatures(kind: 'head' | 'digest', ws: string) {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let reach!: () => void;
  const reached = new Promise<void>((r) => (reach = r));
  const key = async (): Promise<AuditSigningKey> => {
    const k = await runKey();
    return {
      ...k,
      async sign(message) {
        const text = message.toString('utf8');
        if (text.startsWith(`wact.audit.${kind}.v1\n`) && text.includes(ws)) {
          reach();
          await released;
        }
        return k.sign(message);
      },
    };
  };
  return { key, reached, release };
}

/** Resolves once a session waits for the stream's signing lock in the eu database. */
async function waitingForLock(ws: string): Promise<void> {
  for (;;) {
    const { rows } = await kit.op.region('eu').query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks l
        WHERE l.locktype = 'advisory' AND NOT l.granted AND l.objsubid = 1
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.classid::bigint = ((${SIGN_LOCK_KEY} >> 32) & 4294967295) AND l.objid::bigint = (${SIGN_LOCK_KEY} & 4294967295)`,
      [ws],
    );
    if (rows[0].n > 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function freshStream(events: number): Promise<string> {
  const ws = crypto.randomUUID();
  for (let i = 1; i <= events; i++) await kit.audit.append(kit.event(ws, i));
  return ws;
}

describe('audit signing: one signing of a stream at a time', () => {
  it('two signers of the same head: the second waits for the first and returns its head; the head is signed once', async () => {
    const ws = await freshStream(3);
    const held = holdSignatures('head', ws);
    const first = signer(held.key).checkpoint('eu', ws, 3n, 'periodic');
    await held.reached;
    const second = signer(runKey).checkpoint('eu', ws, 3n, 'periodic');
    await Promise.race([waitingForLock(ws), second]);
    held.release();
    const [a, b] = await Promise.all([first, second]);
    const { rows } = await kit.op
      .region('eu')
      .query<{ seq: string }>('SELECT seq::text FROM audit.signed_heads WHERE stream_id = $1 ORDER BY seq', [ws]);
    expect(rows.map((r) => r.seq)).toEqual(['3']);
    expect(b).toEqual(a);
  });

  it('a digest started while another signer writes one begins where that one ends: ranges never overlap', async () => {
    const ws = await freshStream(3);
    const held = holdSignatures('digest', ws);
    const first = signer(held.key).digestStream('eu', ws); // the head is at 3
    await held.reached;
    for (let i = 4; i <= 5; i++) await kit.audit.append(kit.event(ws, i));
    const second = signer(runKey).digestStream('eu', ws); // the head is at 5
    await Promise.race([waitingForLock(ws), second]);
    held.release();
    await Promise.all([first, second]);
    const { rows } = await kit.op
      .region('eu')
      .query<{ range: string }>(
        `SELECT first_seq || '-' || last_seq AS range FROM audit.digests WHERE stream_id = $1 ORDER BY first_seq, last_seq`,
        [ws],
      );
    expect(rows.map((r) => r.range)).toEqual(['1-3', '4-5']);
  });
});
