import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyStore } from '../../../shared/crypto/keyring-dal.ts';
import { createKeyring } from '../../../shared/crypto/keyring-service.ts';
import { createLocalKeyProvider } from '../../../shared/crypto/local-key-provider.ts';
import type { Pools } from '../../../shared/db/pools.ts';
import { ConflictError, CryptoError } from '../../../shared/errors/errors.ts';
import { operatorPools, servicePools } from '../../support/db.ts';

describe('keyring on PostgreSQL (workspace_keys)', () => {
  let operator: Pools;
  let broker: Pools;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-dal-'));

  beforeAll(() => {
    operator = operatorPools();
    broker = servicePools('broker');
  });
  afterAll(async () => {
    await operator.end();
    await broker.end();
    fs.rmSync(home, { recursive: true, force: true });
  });

  async function newWorkspace(): Promise<string> {
    const id = randomUUID();
    await operator.region('eu').query(`insert into wact.workspaces (id, name, region) values ($1, 'dal test', 'eu')`, [id]);
    return id;
  }

  it('stores wrapped keys, lists every version, refuses a duplicate version, destroys them all', async () => {
    const store = createKeyStore({ poolFor: (r) => operator.region(r) });
    const ws = await newWorkspace();
    const key = { workspaceId: ws, purpose: 'dek', version: 1, wrapped: Buffer.from([1, 2, 3]), kekId: 'local:eu:x', provider: 'local' };
    await store.insert('eu', key);
    await store.insert('eu', { ...key, version: 2, wrapped: Buffer.from([4]) });
    await expect(store.insert('eu', key)).rejects.toBeInstanceOf(ConflictError);
    const rows = await store.list('eu', ws, 'dek');
    expect(rows.map((r) => r.version)).toEqual([2, 1]);
    expect(rows[1]).toEqual(key);
    expect(await store.list('eu', ws, 'hmac')).toEqual([]);
    expect(await store.destroy('eu', ws)).toBe(2);
    expect(await store.list('eu', ws, 'dek')).toEqual([]);
  });

  it('runs the keyring end to end: the broker creates and rotates, the operator shreds', async () => {
    const provider = createLocalKeyProvider({ home, region: 'eu' });
    const asBroker = createKeyring({
      providerFor: () => provider,
      store: createKeyStore({ poolFor: (r) => broker.region(r) }),
      ttlMs: 60_000,
    });
    const asOperator = createKeyring({
      providerFor: () => provider,
      store: createKeyStore({ poolFor: (r) => operator.region(r) }),
      ttlMs: 60_000,
    });
    const ws = await newWorkspace();
    await asBroker.createWorkspaceKeys(ws, 'eu');
    const v1 = await asBroker.currentKey(ws, 'eu', 'dek');
    await asBroker.rotate(ws, 'eu');
    const v2 = await asOperator.currentKey(ws, 'eu', 'dek');
    expect(v2.version).toBe(2);
    expect((await asOperator.keyVersion(ws, 'eu', 'dek', 1)).equals(v1.key)).toBe(true);
    const { rows } = await operator.region('eu').query('select wrapped from wact_private.workspace_keys where workspace_id = $1', [ws]);
    for (const r of rows) expect((r.wrapped as Buffer).includes(v1.key)).toBe(false);
    expect(await asOperator.destroy(ws, 'eu')).toBe(4);
    await expect(asOperator.currentKey(ws, 'eu', 'dek')).rejects.toBeInstanceOf(CryptoError);
    const fresh = createKeyring({
      providerFor: () => provider,
      store: createKeyStore({ poolFor: (r) => broker.region(r) }),
      ttlMs: 60_000,
    });
    await expect(fresh.keyVersion(ws, 'eu', 'dek', 1)).rejects.toMatchObject({ code: 'key_version_not_found' });
  });
});
