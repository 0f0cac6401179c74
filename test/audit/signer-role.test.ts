import crypto from 'node:crypto';
import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { pruneSignRequests } from '../../shared/audit/audit-sign-requests.ts';
import type { ServiceRole } from '../../shared/runtime/databases.ts';
import { connectAs, operatorPools, testDb } from '../support/db.ts';

/**
 * Issue 13.2, in the database itself: only wact_signer (the signing worker's role) may publish a
 * signing key or write signed heads and digests. A broker or ingest credential that could insert
 * a key of its own would publish it at /.well-known/wact-audit-keys and sign a rewritten
 * history with it. Every write path to each table is tried by each role in every database.
 */
const TARGETS = ['control', 'eu', 'us'] as const;
const op = operatorPools();
const STREAM = crypto.randomUUID();
const keyId = () => `signer-role-test-${crypto.randomBytes(6).toString('hex')}`;

afterAll(async () => {
  for (const t of TARGETS) {
    const pool = t === 'control' ? op.control : op.region(t);
    // The operator is a superuser: the append-only triggers let it clean up.
    await pool.query('DELETE FROM audit.digests WHERE stream_id = $1', [STREAM]);
    await pool.query('DELETE FROM audit.signed_heads WHERE stream_id = $1', [STREAM]);
    await pool.query(`DELETE FROM audit.signing_keys WHERE key_id LIKE 'signer-role-test-%'`);
  }
  await op.end();
});

/** The writes that would let a role sign, publish or plant evidence. */
function writes(existingKey: string): [string, string, unknown[]][] {
  return [
    [
      'publish a signing key',
      `INSERT INTO audit.signing_keys (key_id, public_key, provider, alg) VALUES ($1, $2, 'local-file', 'EdDSA')`,
      [keyId(), crypto.randomBytes(32)],
    ],
    [
      'plant a signed head',
      `INSERT INTO audit.signed_heads (stream_id, seq, hash, signed_at, key_id, purpose, signature) VALUES ($1, 1, $2, now(), $3, 'periodic', $4)`,
      [STREAM, crypto.randomBytes(32), existingKey, crypto.randomBytes(64)],
    ],
    [
      'plant a digest',
      `INSERT INTO audit.digests (stream_id, first_seq, last_seq, period_start, period_end, body) VALUES ($1, 1, 1, now() - interval '1 hour', now(), '{}')`,
      [STREAM],
    ],
    ['retire the published key', `UPDATE audit.signing_keys SET retired_at = now() WHERE key_id = $1`, [existingKey]],
    ['unpublish the key', `DELETE FROM audit.signing_keys WHERE key_id = $1`, [existingKey]],
  ];
}

async function attempt(c: pg.Client, sql: string, params: unknown[]): Promise<string> {
  await c.query('BEGIN');
  try {
    await c.query(sql, params);
    return 'ALLOWED';
  } catch (err) {
    return (err as { code?: string }).code ?? 'error';
  } finally {
    await c.query('ROLLBACK');
  }
}

async function publishedKey(target: (typeof TARGETS)[number]): Promise<string> {
  const pool = target === 'control' ? op.control : op.region(target);
  const id = keyId();
  await pool.query(`INSERT INTO audit.signing_keys (key_id, public_key, provider, alg) VALUES ($1, $2, 'local-file', 'EdDSA')`, [
    id,
    crypto.randomBytes(32),
  ]);
  return id;
}

describe('only wact_signer writes signing keys, signed heads and digests', () => {
  it.each(TARGETS)('%s: ingest and broker credentials are refused every write; the signer only appends', async (target) => {
    const existing = await publishedKey(target);
    const verdicts: Record<string, string> = {};
    for (const role of ['ingest', 'broker', 'signer'] as ServiceRole[]) {
      const c = await connectAs(target, `wact_${role}`, testDb().servicePasswords[role]);
      try {
        for (const [what, sql, params] of writes(existing)) verdicts[`${role}: ${what}`] = await attempt(c, sql, params);
      } finally {
        await c.end();
      }
    }
    expect(verdicts).toEqual({
      'ingest: publish a signing key': '42501',
      'ingest: plant a signed head': '42501',
      'ingest: plant a digest': '42501',
      'ingest: retire the published key': '42501',
      'ingest: unpublish the key': '42501',
      'broker: publish a signing key': '42501',
      'broker: plant a signed head': '42501',
      'broker: plant a digest': '42501',
      'broker: retire the published key': '42501',
      'broker: unpublish the key': '42501',
      // The signer appends; it can neither rewrite nor remove what it published.
      'signer: publish a signing key': 'ALLOWED',
      'signer: plant a signed head': 'ALLOWED',
      'signer: plant a digest': 'ALLOWED',
      'signer: retire the published key': '42501',
      'signer: unpublish the key': '42501',
    });
  });

  it('the signer role cannot write the events it signs, nor act as the broker', async () => {
    const c = await connectAs('eu', 'wact_signer', testDb().servicePasswords.signer);
    try {
      const verdicts = {
        append: await attempt(c, `SELECT audit.append('{"action":"forged"}'::jsonb)`, []),
        insertEvent: await attempt(c, `INSERT INTO audit.events (stream_id, seq) VALUES ($1, 1)`, [STREAM]),
        readWorkspaceData: await attempt(c, 'SELECT count(*) FROM wact.workspaces', []),
        becomeBroker: await attempt(c, 'SET ROLE wact_broker', []),
      };
      expect(verdicts).toEqual({ append: '42501', insertEvent: '42501', readWorkspaceData: '42501', becomeBroker: '42501' });
    } finally {
      await c.end();
    }
  });

  it.each(TARGETS)(
    '%s: answered sign requests older than a day are pruned by the signer only; unanswered and recent ones stay',
    async (target) => {
      const pool = target === 'control' ? op.control : op.region(target);
      const stream = crypto.randomUUID();
      const add = async (requestedAgo: string, doneAgo: string | null) =>
        (
          await pool.query<{ id: string }>(
            `INSERT INTO audit.sign_requests (kind, stream_id, seq, requested_at, done_at, error)
           VALUES ('stream_head', $1, 1, now() - $2::interval, now() - $3::interval, 'test') RETURNING id::text`,
            [stream, requestedAgo, doneAgo],
          )
        ).rows[0].id;
      const old = await add('3 days', '3 days');
      const recent = await add('2 hours', '2 hours');
      const unanswered = await add('3 days', null);
      const left = async () =>
        (await pool.query<{ id: string }>('SELECT id::text FROM audit.sign_requests WHERE stream_id = $1 ORDER BY id', [stream])).rows.map(
          (r) => r.id,
        );
      for (const role of ['ingest', 'broker'] as ServiceRole[]) {
        const c = await connectAs(target, `wact_${role}`, testDb().servicePasswords[role]);
        try {
          expect(await attempt(c, 'SELECT audit.prune_sign_requests()', []), role).toBe('42501');
        } finally {
          await c.end();
        }
      }
      expect(await left()).toEqual([old, recent, unanswered]);
      const signer = await connectAs(target, 'wact_signer', testDb().servicePasswords.signer);
      try {
        expect(await pruneSignRequests(signer)).toBeGreaterThanOrEqual(1);
        // Still no DELETE of its own: only the function's rule.
        expect(await attempt(signer, 'DELETE FROM audit.sign_requests WHERE stream_id = $1', [stream])).toBe('42501');
      } finally {
        await signer.end();
      }
      expect(await left()).toEqual([recent, unanswered]);
    },
  );
});
