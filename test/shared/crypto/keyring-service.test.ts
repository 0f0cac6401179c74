import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { KeyProvider } from '../../../shared/crypto/key-provider-types.ts';
import { createKeyring } from '../../../shared/crypto/keyring-service.ts';
import { createLocalKeyProvider } from '../../../shared/crypto/local-key-provider.ts';
import { CryptoError } from '../../../shared/errors/errors.ts';
import { createMemoryKeyStore } from './memory-key-store.ts';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-keyring-'));
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));
const local = createLocalKeyProvider({ home, region: 'eu' });

let seq = 0;
const newWorkspace = () => `3f6c1b9e-0000-4000-8000-${String(++seq).padStart(12, '0')}`;

/** Counts unwraps and can hold them back to prove concurrent misses share one. */
function countingProvider(base: KeyProvider = local) {
  const stats = { unwraps: 0, generates: 0 };
  let gate: Promise<void> | undefined;
  const provider: KeyProvider = {
    name: base.name,
    async generateDataKey(ctx) {
      stats.generates++;
      return base.generateDataKey(ctx);
    },
    wrap: (p, c) => base.wrap(p, c),
    async unwrap(w, c) {
      stats.unwraps++;
      if (gate) await gate;
      return base.unwrap(w, c);
    },
  };
  return {
    provider,
    stats,
    hold() {
      let release!: () => void;
      gate = new Promise((r) => (release = r));
      return () => {
        gate = undefined;
        release();
      };
    },
  };
}

function setup(ttlMs = 1000) {
  const clock = { t: 1_000_000 };
  const counting = countingProvider();
  const store = createMemoryKeyStore();
  const keyring = createKeyring({ providerFor: () => counting.provider, store, ttlMs, now: () => clock.t });
  // A second keyring on the same store: a cold process, so unwraps really happen.
  const cold = () => createKeyring({ providerFor: () => counting.provider, store, ttlMs, now: () => clock.t });
  return { clock, counting, store, keyring, cold };
}

async function rejectsCrypto(p: Promise<unknown>, code: string) {
  const err = await p.then(
    () => {
      throw new Error('expected a CryptoError');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CryptoError);
  expect((err as CryptoError).code).toBe(code);
}

describe('keyring', () => {
  it('creates version 1 of dek and hmac, stored only wrapped', async () => {
    const { keyring, store } = setup();
    const ws = newWorkspace();
    expect(await keyring.createWorkspaceKeys(ws, 'eu')).toEqual({ dek: 1, hmac: 1 });
    const dek = await keyring.currentKey(ws, 'eu', 'dek');
    const hmac = await keyring.currentKey(ws, 'eu', 'hmac');
    expect(dek.version).toBe(1);
    expect(dek.key.length).toBe(32);
    expect(dek.key.equals(hmac.key)).toBe(false);
    for (const row of store.rows.values()) {
      expect(row.provider).toBe('local');
      expect(row.wrapped.includes(dek.key)).toBe(false);
      expect(row.wrapped.includes(hmac.key)).toBe(false);
    }
    // idempotent: a retried workspace creation keeps the keys
    expect(await keyring.createWorkspaceKeys(ws, 'eu')).toEqual({ dek: 1, hmac: 1 });
    expect(store.rows.size).toBe(2);
  });

  it('survives concurrent creation of the same workspace keys: one version 1 stands', async () => {
    const { store, cold } = setup();
    const ws = newWorkspace();
    const rings = [cold(), cold(), cold()];
    const results = await Promise.all(rings.map((r) => r.createWorkspaceKeys(ws, 'eu')));
    for (const r of results) expect(r).toEqual({ dek: 1, hmac: 1 });
    expect(store.rows.size).toBe(2);
    const keys = await Promise.all(rings.map((r) => r.currentKey(ws, 'eu', 'dek')));
    for (const k of keys) expect(k.key.equals(keys[0].key)).toBe(true);
  });

  it('rotates: new writes get v2, v1 still available', async () => {
    const { keyring, cold } = setup();
    const ws = newWorkspace();
    await keyring.createWorkspaceKeys(ws, 'eu');
    const v1 = await keyring.currentKey(ws, 'eu', 'dek');
    expect(await keyring.rotate(ws, 'eu')).toEqual({ dek: 2, hmac: 2 });
    const v2 = await keyring.currentKey(ws, 'eu', 'dek');
    expect(v2.version).toBe(2);
    expect(v2.key.equals(v1.key)).toBe(false);
    expect((await keyring.keyVersion(ws, 'eu', 'dek', 1)).equals(v1.key)).toBe(true);
    // a cold process sees the same keys
    const other = cold();
    expect((await other.keyVersion(ws, 'eu', 'dek', 1)).equals(v1.key)).toBe(true);
    expect((await other.currentKey(ws, 'eu', 'dek')).key.equals(v2.key)).toBe(true);
    await rejectsCrypto(keyring.keyVersion(ws, 'eu', 'dek', 3), 'key_version_not_found');
  });

  it('finds a version rotated by another process even within the TTL', async () => {
    const { keyring, cold } = setup();
    const ws = newWorkspace();
    await keyring.createWorkspaceKeys(ws, 'eu');
    const reader = cold();
    expect((await reader.currentKey(ws, 'eu', 'dek')).version).toBe(1);
    await keyring.rotate(ws, 'eu');
    // the reader's version list is cached, but an unknown version triggers one fresh look
    expect((await reader.keyVersion(ws, 'eu', 'dek', 2)).equals((await keyring.currentKey(ws, 'eu', 'dek')).key)).toBe(true);
  });

  it('refuses to rotate a workspace without keys', async () => {
    const { keyring } = setup();
    await rejectsCrypto(keyring.rotate(newWorkspace(), 'eu'), 'key_not_found');
    await rejectsCrypto(keyring.currentKey(newWorkspace(), 'eu', 'dek'), 'key_not_found');
  });

  it('unwraps once per workspace+purpose+version per TTL, and again after it', async () => {
    const { keyring, cold, counting, clock } = setup(1000);
    const ws = newWorkspace();
    await keyring.createWorkspaceKeys(ws, 'eu');
    const reader = cold();
    counting.stats.unwraps = 0;
    for (let i = 0; i < 50; i++) {
      await reader.currentKey(ws, 'eu', 'dek');
      await reader.keyVersion(ws, 'eu', 'dek', 1);
      await reader.currentKey(ws, 'eu', 'hmac');
    }
    expect(counting.stats.unwraps).toBe(2); // dek v1, hmac v1
    clock.t += 999;
    await reader.currentKey(ws, 'eu', 'dek');
    expect(counting.stats.unwraps).toBe(2);
    clock.t += 1;
    await reader.currentKey(ws, 'eu', 'dek');
    await reader.currentKey(ws, 'eu', 'dek');
    expect(counting.stats.unwraps).toBe(3);
  });

  it('shares one unwrap among concurrent misses (single flight)', async () => {
    const { keyring, cold, counting } = setup();
    const ws = newWorkspace();
    await keyring.createWorkspaceKeys(ws, 'eu');
    const reader = cold();
    counting.stats.unwraps = 0;
    const release = counting.hold();
    const pending = [
      ...Array.from({ length: 20 }, () => reader.currentKey(ws, 'eu', 'dek').then((k) => k.key)),
      ...Array.from({ length: 20 }, () => reader.keyVersion(ws, 'eu', 'dek', 1)),
    ];
    await new Promise((r) => setTimeout(r, 10));
    release();
    const keys = await Promise.all(pending);
    expect(counting.stats.unwraps).toBe(1);
    for (const k of keys) expect(k.equals(keys[0])).toBe(true);
  });

  it('does not cache a failed unwrap', async () => {
    const store = createMemoryKeyStore();
    const counting = countingProvider();
    let fail = true;
    const flaky: KeyProvider = {
      ...counting.provider,
      name: 'local',
      unwrap: async (w, c) =>
        fail ? Promise.reject(new CryptoError('kms_error', 'KMS Decrypt failed: ThrottlingException')) : counting.provider.unwrap(w, c),
    };
    const writer = createKeyring({ providerFor: () => local, store, ttlMs: 60_000 });
    const ws = newWorkspace();
    await writer.createWorkspaceKeys(ws, 'eu');
    const reader = createKeyring({ providerFor: () => flaky, store, ttlMs: 60_000 });
    await rejectsCrypto(reader.currentKey(ws, 'eu', 'dek'), 'kms_error');
    fail = false;
    expect((await reader.currentKey(ws, 'eu', 'dek')).key.equals((await writer.currentKey(ws, 'eu', 'dek')).key)).toBe(true);
  });

  it('crypto-shreds: destroy deletes every key, and everything fails closed afterwards', async () => {
    const { keyring, store, cold } = setup();
    const ws = newWorkspace();
    const keep = newWorkspace();
    await keyring.createWorkspaceKeys(ws, 'eu');
    await keyring.createWorkspaceKeys(keep, 'eu');
    await keyring.rotate(ws, 'eu');
    await keyring.currentKey(ws, 'eu', 'dek'); // cached
    expect(await keyring.destroy(ws, 'eu')).toBe(4);
    for (const row of store.rows.values()) expect(row.workspaceId).toBe(keep);
    await rejectsCrypto(keyring.currentKey(ws, 'eu', 'dek'), 'key_destroyed');
    await rejectsCrypto(keyring.keyVersion(ws, 'eu', 'dek', 1), 'key_destroyed');
    await rejectsCrypto(keyring.rotate(ws, 'eu'), 'key_destroyed');
    await rejectsCrypto(keyring.createWorkspaceKeys(ws, 'eu'), 'key_destroyed');
    // another (cold) process finds nothing to unwrap
    await rejectsCrypto(cold().currentKey(ws, 'eu', 'dek'), 'key_not_found');
    await rejectsCrypto(cold().keyVersion(ws, 'eu', 'hmac', 1), 'key_version_not_found');
    // other workspaces are untouched
    expect((await keyring.currentKey(keep, 'eu', 'dek')).version).toBe(1);
  });

  it('does not let an unwrap in flight during destroy repopulate the cache', async () => {
    const { keyring, cold, counting } = setup();
    const ws = newWorkspace();
    await keyring.createWorkspaceKeys(ws, 'eu');
    const reader = cold();
    const release = counting.hold();
    const inflight = reader.currentKey(ws, 'eu', 'dek');
    await new Promise((r) => setTimeout(r, 10));
    await reader.destroy(ws, 'eu');
    release();
    await rejectsCrypto(inflight, 'key_destroyed');
    await rejectsCrypto(reader.currentKey(ws, 'eu', 'dek'), 'key_destroyed');
  });

  it('evict forgets cached keys so the next use unwraps again', async () => {
    const { keyring, counting } = setup();
    const ws = newWorkspace();
    await keyring.createWorkspaceKeys(ws, 'eu');
    await keyring.currentKey(ws, 'eu', 'dek');
    counting.stats.unwraps = 0;
    keyring.evict(ws);
    await keyring.currentKey(ws, 'eu', 'dek');
    expect(counting.stats.unwraps).toBe(1);
  });

  it('refuses a key wrapped by another provider kind', async () => {
    const { keyring, store } = setup();
    const ws = newWorkspace();
    await keyring.createWorkspaceKeys(ws, 'eu');
    for (const row of store.rows.values()) row.provider = 'aws-kms';
    keyring.evict(ws);
    await rejectsCrypto(keyring.currentKey(ws, 'eu', 'dek'), 'provider_mismatch');
  });

  it('fails closed when a stored wrapped key is tampered with', async () => {
    const { keyring, store } = setup();
    const ws = newWorkspace();
    await keyring.createWorkspaceKeys(ws, 'eu');
    for (const row of store.rows.values()) row.wrapped[row.wrapped.length - 1] ^= 1;
    keyring.evict(ws);
    await rejectsCrypto(keyring.currentKey(ws, 'eu', 'dek'), 'unwrap_failed');
  });

  it('rejects bad arguments as promise rejections', async () => {
    const { keyring } = setup();
    await rejectsCrypto(keyring.currentKey('', 'eu', 'dek'), 'invalid_key_context');
    await rejectsCrypto(keyring.currentKey(newWorkspace(), 'eu', 'Bad/Purpose'), 'invalid_key_context');
    await rejectsCrypto(keyring.keyVersion(newWorkspace(), 'eu', 'dek', 0), 'key_version_not_found');
  });
});
