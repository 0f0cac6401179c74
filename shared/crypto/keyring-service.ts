import type { Region } from '../config/config-schema.ts';
import { ConflictError, CryptoError } from '../errors/errors.ts';
import { DATA_KEY_BYTES, type KeyContext } from './key-provider-types.ts';
import {
  WORKSPACE_KEY_PURPOSES,
  type Keyring,
  type KeyringOptions,
  type StoredKey,
  type VersionedKey,
  type WorkspaceKeyPurpose,
} from './keyring-types.ts';

/**
 * Per-workspace, versioned keys, stored wrapped by the region's KeyProvider and
 * kept unwrapped in memory for ttlMs so the provider (KMS: a network call that
 * costs money) is asked once per workspace+purpose+version per period.
 *
 * Cache slots per workspace:
 *   list/<region>/<purpose>            the stored versions (so new writes find the newest)
 *   current/<region>/<purpose>         the newest version, unwrapped
 *   key/<region>/<purpose>/<version>   one version, unwrapped
 * A slot holds a promise, so concurrent misses share one load (single flight).
 * Failed loads are never cached.
 *
 * Another process's rotation is seen within ttlMs; its destroy makes our cached
 * keys unusable after at most ttlMs. Within this process destroy is immediate.
 */

interface Entry<T> {
  promise: Promise<T>;
  expiresAt: number;
}

const PURPOSE_PATTERN = /^[a-z][a-z0-9-]{1,40}$/; // same rule as the workspace_keys CHECK

export function createKeyring(opts: KeyringOptions): Keyring {
  const { providerFor, store, ttlMs } = opts;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, Map<string, Entry<unknown>>>();
  // Workspaces shredded by this process: refused even if a load started before the shred.
  const destroyed = new Set<string>();
  let lastSweep = now();

  function assertAlive(workspaceId: string): void {
    if (destroyed.has(workspaceId)) throw new CryptoError('key_destroyed', 'the keys of this workspace have been destroyed');
  }

  function checkArgs(workspaceId: string, purpose: string): void {
    if (typeof workspaceId !== 'string' || workspaceId.length === 0) {
      throw new CryptoError('invalid_key_context', 'a workspace id is required');
    }
    if (typeof purpose !== 'string' || !PURPOSE_PATTERN.test(purpose)) {
      throw new CryptoError('invalid_key_context', 'unknown key purpose format');
    }
    assertAlive(workspaceId);
  }

  function cached<T>(workspaceId: string, slot: string, load: () => Promise<T>): Promise<T> {
    const t = now();
    let slots = cache.get(workspaceId);
    const hit = slots?.get(slot);
    if (hit && hit.expiresAt > t) return hit.promise as Promise<T>;
    sweep(t);
    if (!slots) {
      slots = new Map();
      cache.set(workspaceId, slots);
    }
    const entry = { expiresAt: t + ttlMs } as Entry<T>;
    entry.promise = load().catch((err: unknown) => {
      const current = cache.get(workspaceId);
      if (current?.get(slot) === entry) current.delete(slot);
      throw err;
    });
    slots.set(slot, entry as Entry<unknown>);
    return entry.promise;
  }

  function seed<T>(workspaceId: string, slot: string, value: T): void {
    let slots = cache.get(workspaceId);
    if (!slots) {
      slots = new Map();
      cache.set(workspaceId, slots);
    }
    slots.set(slot, { promise: Promise.resolve(value), expiresAt: now() + ttlMs });
  }

  function forget(workspaceId: string, slot: string): void {
    cache.get(workspaceId)?.delete(slot);
  }

  // Drop expired entries at most once per TTL so clear keys do not outlive it in memory.
  function sweep(t: number): void {
    if (t - lastSweep < ttlMs) return;
    lastSweep = t;
    for (const [workspaceId, slots] of cache) {
      for (const [slot, entry] of slots) if (entry.expiresAt <= t) slots.delete(slot);
      if (slots.size === 0) cache.delete(workspaceId);
    }
  }

  function versions(workspaceId: string, region: Region, purpose: string): Promise<StoredKey[]> {
    return cached(workspaceId, `list/${region}/${purpose}`, async () => {
      const rows = await store.list(region, workspaceId, purpose);
      assertAlive(workspaceId);
      return [...rows].sort((a, b) => b.version - a.version);
    });
  }

  async function unwrapStored(region: Region, stored: StoredKey): Promise<Buffer> {
    const provider = providerFor(region);
    if (stored.provider !== provider.name) {
      throw new CryptoError('provider_mismatch', `key was wrapped by the ${stored.provider} provider, not ${provider.name}`);
    }
    const ctx: KeyContext = { workspaceId: stored.workspaceId, purpose: stored.purpose, region };
    const key = await provider.unwrap(stored.wrapped, ctx);
    assertAlive(stored.workspaceId);
    if (key.length !== DATA_KEY_BYTES) throw new CryptoError('unwrap_failed', 'unwrapped key has the wrong length');
    return key;
  }

  function keyVersion(workspaceId: string, region: Region, purpose: string, version: number): Promise<Buffer> {
    try {
      checkArgs(workspaceId, purpose);
    } catch (err) {
      return Promise.reject(err);
    }
    if (!Number.isInteger(version) || version < 1) {
      return Promise.reject(new CryptoError('key_version_not_found', 'no such key version'));
    }
    return cached(workspaceId, `key/${region}/${purpose}/${version}`, async () => {
      let stored = (await versions(workspaceId, region, purpose)).find((k) => k.version === version);
      if (!stored) {
        // Maybe another process rotated since we listed: look once more, uncached.
        forget(workspaceId, `list/${region}/${purpose}`);
        stored = (await versions(workspaceId, region, purpose)).find((k) => k.version === version);
      }
      if (!stored) throw new CryptoError('key_version_not_found', 'no such key version for this workspace');
      return unwrapStored(region, stored);
    });
  }

  function currentKey(workspaceId: string, region: Region, purpose: string): Promise<VersionedKey> {
    try {
      checkArgs(workspaceId, purpose);
    } catch (err) {
      return Promise.reject(err);
    }
    return cached(workspaceId, `current/${region}/${purpose}`, async () => {
      const list = await versions(workspaceId, region, purpose);
      if (list.length === 0) throw new CryptoError('key_not_found', 'this workspace has no key for that purpose');
      const version = list[0].version;
      return { version, key: await keyVersion(workspaceId, region, purpose, version) };
    });
  }

  /** Generates, stores and caches version `version`. The store refuses a duplicate version. */
  async function addVersion(workspaceId: string, region: Region, purpose: WorkspaceKeyPurpose, version: number): Promise<void> {
    const provider = providerFor(region);
    const { plaintext, wrapped, kekId } = await provider.generateDataKey({ workspaceId, purpose, region });
    await store.insert(region, { workspaceId, purpose, version, wrapped, kekId, provider: provider.name });
    assertAlive(workspaceId);
    forget(workspaceId, `list/${region}/${purpose}`);
    forget(workspaceId, `current/${region}/${purpose}`);
    // We hold the clear key already: cache it instead of unwrapping it again.
    seed(workspaceId, `key/${region}/${purpose}/${version}`, plaintext);
  }

  async function latestStoredVersion(workspaceId: string, region: Region, purpose: string): Promise<number> {
    const rows = await store.list(region, workspaceId, purpose);
    return rows.reduce((max, k) => Math.max(max, k.version), 0);
  }

  return {
    async createWorkspaceKeys(workspaceId, region) {
      const out = {} as Record<WorkspaceKeyPurpose, number>;
      for (const purpose of WORKSPACE_KEY_PURPOSES) {
        checkArgs(workspaceId, purpose);
        const latest = await latestStoredVersion(workspaceId, region, purpose);
        if (latest === 0) {
          try {
            await addVersion(workspaceId, region, purpose, 1);
          } catch (err) {
            // A concurrent creation stored version 1 first: theirs stands, ours was never stored.
            if (!(err instanceof ConflictError)) throw err;
          }
        }
        out[purpose] = latest || 1;
      }
      return out;
    },

    async rotate(workspaceId, region) {
      const out = {} as Record<WorkspaceKeyPurpose, number>;
      for (const purpose of WORKSPACE_KEY_PURPOSES) {
        checkArgs(workspaceId, purpose);
        const latest = await latestStoredVersion(workspaceId, region, purpose);
        // Rotating must never bring keys back to a workspace that has none (e.g. shredded elsewhere).
        if (latest === 0) throw new CryptoError('key_not_found', 'this workspace has no keys to rotate');
        await addVersion(workspaceId, region, purpose, latest + 1);
        out[purpose] = latest + 1;
      }
      return out;
    },

    currentKey,
    keyVersion,

    async destroy(workspaceId, region) {
      const wasDestroyed = destroyed.has(workspaceId);
      // Mark first: loads already in flight must not repopulate the cache.
      destroyed.add(workspaceId);
      cache.delete(workspaceId);
      try {
        return await store.destroy(region, workspaceId);
      } catch (err) {
        // Nothing was deleted (a single DELETE): keep serving, let the caller retry.
        if (!wasDestroyed) destroyed.delete(workspaceId);
        throw err;
      }
    },

    evict(workspaceId) {
      cache.delete(workspaceId);
    },
  };
}
