/**
 * npm run bench:reencrypt [-- <ciphertexts>]   (default 1,000,000; not part of npm test)
 *
 * Rows per second of `wact workspace rotate-keys --reencrypt` on a throw-away
 * embedded server: N ciphertexts of one workspace under data-key v1 in a
 * table of their own (found from the catalog like every workspace table),
 * then rotate + re-encrypt to v2 + retire v1.
 */
import crypto from 'node:crypto';
import { loadConfig } from '../../shared/config/config.ts';
import { encryptField, fieldContext } from '../../shared/crypto/field-cipher.ts';
import { openDatabases } from '../../shared/runtime/databases.ts';
import { createPlatform } from '../../shared/runtime/platform.ts';
import { createScratchDatabases, databaseEnv } from '../support/scratch-databases.ts';

const N = Number(process.argv[2] ?? 1_000_000);
const BATCH = Number(process.env.BATCH ?? 5000);
const actor = { id: 'operator:bench', kind: 'operator', role: 'operator', displayName: 'bench' } as const;

const db = await createScratchDatabases({ prefix: 'wact_bench_reenc' });
try {
  const config = loadConfig({ ...databaseEnv(db), WACT_HOME: db.home });
  const databases = await openDatabases(config, { migrate: false });
  const p = createPlatform(config, databases, 'operator', { poolMax: 4 });
  const ws = await p.workspaces.create({ name: 'bench', region: 'eu' }, actor);
  const eu = p.pools.region('eu');
  await eu.query(`CREATE TABLE wact.bench_ciphertexts (
    workspace_id uuid NOT NULL REFERENCES wact.workspaces (id), id bigint NOT NULL, value_enc bytea, PRIMARY KEY (workspace_id, id))`);
  const dek = await p.keyring.currentKey(ws.id, 'eu', 'dek');
  const ctx = fieldContext(ws.id, 'bench_ciphertexts', 'value_enc');
  let t = Date.now();
  for (let i = 0; i < N; i += 10_000) {
    const ids: number[] = [];
    const cts: Buffer[] = [];
    for (let j = i; j < Math.min(N, i + 10_000); j++) {
      ids.push(j);
      cts.push(encryptField(dek, ctx, `fb.1.${crypto.randomBytes(12).toString('hex')}`));
    }
    await eu.query('INSERT INTO wact.bench_ciphertexts SELECT $1, unnest($2::bigint[]), unnest($3::bytea[])', [ws.id, ids, cts]);
  }
  console.log(`loaded ${N} ciphertexts in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  t = Date.now();
  const report = await p.workspaces.reencrypt(ws.id, actor, { rotate: true, batchSize: BATCH });
  const s = (Date.now() - t) / 1000;
  console.log(
    `re-encrypted ${report.reencrypted} ciphertexts (batch ${BATCH}) in ${s.toFixed(1)} s: ${Math.round(report.reencrypted / s)} rows/s; retired v${report.retiredVersions.join(', v')}`,
  );
  await p.close();
  await databases.close();
} finally {
  await db.drop();
}
