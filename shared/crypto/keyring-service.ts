import type { Region } from '../config/config-schema.ts';
import { ConflictError, CryptoError } from '../errors/errors.ts';
import { DATA_KEY_BYTES, type KeyContext, type KeyProvider } from './key-provider-types.ts';
import { isWorkspaceKek, type KekRef } from './workspace-kek.ts';
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
 * key-events.ts makes both reach every process within seconds (LISTEN/NOTIFY → evict).
 *
 * Wrapping: a workspace created with `workspaceKeks` has a key-encryption key
 * of its own outside the database (workspace-kek.ts); its rows say so in
 * `provider`/`kek_id`. Rows of older workspaces name the regional provider.
 */

interface Entry<T> {
  promise: Promise<T>;
  expiresAt: number;
}

const PURPOSE_PATTERN = /^[a-z][a-z0-9-]{1,40}$/; // same rule as the workspace_keys CHECK

export function createKeyring(opts: KeyringOptions): Keyring {
  const { providerFor, store, ttlMs, workspaceKeks } = opts;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, Map<string, Entry<unknown>>>();
  // Workspaces shredded by this process, per region (a move purges the source region of a
  // workspace that lives on in the target): refused even if a load started before the shred.
  const destroyed = new Set<string>();
  const shredKey = (workspaceId: string, region: Region) => `${region}/${workspaceId}`;
  let lastSweep = now();

  function assertAlive(workspaceId: string, region: Region): void {
    if (destroyed.has(shredKey(workspaceId, region)))
      throw new CryptoError('key_destroyed', 'the keys of this workspace have been destroyed');
  }

  function checkArgs(workspaceId: string, purpose: string, region: Region): void {
    if (typeof workspaceId !== 'string' || workspaceId.length === 0) {
      throw new CryptoError('invalid_key_context', 'a workspace id is required');
    }
    if (typeof purpose !== 'string' || !PURPOSE_PATTERN.test(purpose)) {
      throw new CryptoError('invalid_key_context', 'unknown key purpose format');
    }
    assertAlive(workspaceId, region);
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
      assertAlive(workspaceId, region);
      return [...rows].sort((a, b) => b.version - a.version);
    });
  }

  /** The provider that unwraps (and wraps new versions like) a stored row. */
  function providerOf(region: Region, ref: KekRef): KeyProvider {
    if (isWorkspaceKek(ref.provider)) {
      if (!workspaceKeks)
        throw new CryptoError('provider_mismatch', `key was wrapped by a ${ref.provider} key, which is not configured here`);
      return workspaceKeks.provider(ref, region);
    }
    const provider = providerFor(region);
    if (ref.provider !== provider.name) {
      throw new CryptoError('provider_mismatch', `key was wrapped by the ${ref.provider} provider, not ${provider.name}`);
    }
    return provider;
  }

  async function unwrapStored(region: Region, stored: StoredKey): Promise<Buffer> {
    const provider = providerOf(region, stored);
    const ctx: KeyContext = { workspaceId: stored.workspaceId, purpose: stored.purpose, region };
    const key = await provider.unwrap(stored.wrapped, ctx);
    assertAlive(stored.workspaceId, region);
    if (key.length !== DATA_KEY_BYTES) throw new CryptoError('unwrap_failed', 'unwrapped key has the wrong length');
    return key;
  }

  function keyVersion(workspaceId: string, region: Region, purpose: string, version: number): Promise<Buffer> {
    try {
      checkArgs(workspaceId, purpose, region);
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
      checkArgs(workspaceId, purpose, region);
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

  /** Newest row of any purpose: its wrapping is what new versions get. */
  async function kekOf(workspaceId: string, region: Region): Promise<KekRef | null> {
    const rows = await store.listWorkspace(region, workspaceId);
    if (!rows.length) return null;
    const newest = [...rows].sort(
      (a, b) => b.version - a.version || (isWorkspaceKek(b.provider) ? 1 : 0) - (isWorkspaceKek(a.provider) ? 1 : 0),
    )[0];
    return { provider: newest.provider, kekId: newest.kekId };
  }

  /** Generates, stores and caches version `version`. The store refuses a duplicate version. */
  async function addVersion(
    workspaceId: string,
    region: Region,
    purpose: WorkspaceKeyPurpose,
    version: number,
    kek: KekRef | null,
  ): Promise<void> {
    const provider = kek ? providerOf(region, kek) : providerFor(region);
    const { plaintext, wrapped, kekId } = await provider.generateDataKey({ workspaceId, purpose, region });
    await store.insert(region, { workspaceId, purpose, version, wrapped, kekId, provider: provider.name });
    assertAlive(workspaceId, region);
    forget(workspaceId, `list/${region}/${purpose}`);
    forget(workspaceId, `current/${region}/${purpose}`);
    // We hold the clear key already: cache it instead of unwrapping it again.
    seed(workspaceId, `key/${region}/${purpose}/${version}`, plaintext);
  }

  /** Unwraps every row not under `target` and wraps it under `target`, in one all-or-nothing store update. */
  async function rewrapAll(workspaceId: string, region: Region, target: KekRef): Promise<{ rewrapped: number; previous: KekRef[] }> {
    const rows = await store.listWorkspace(region, workspaceId);
    const moving = rows.filter((r) => r.provider !== target.provider || r.kekId !== target.kekId);
    const previous = new Map<string, KekRef>();
    const to = providerOf(region, target);
    const out: StoredKey[] = [];
    for (const row of moving) {
      previous.set(`${row.provider}\0${row.kekId}`, { provider: row.provider, kekId: row.kekId });
      const clear = await unwrapStored(region, row);
      const { wrapped, kekId } = await to.wrap(clear, { workspaceId, purpose: row.purpose, region });
      out.push({ ...row, wrapped, kekId, provider: to.name });
    }
    if (out.length) await store.rewrap(region, out);
    cache.delete(workspaceId);
    return { rewrapped: out.length, previous: [...previous.values()] };
  }

  async function latestStoredVersion(workspaceId: string, region: Region, purpose: string): Promise<number> {
    const rows = await store.list(region, workspaceId, purpose);
    return rows.reduce((max, k) => Math.max(max, k.version), 0);
  }

  async function destroyWithReport(workspaceId: string, region: Region) {
    const shred = shredKey(workspaceId, region);
    const wasDestroyed = destroyed.has(shred);
    // Mark first: loads already in flight must not repopulate the cache.
    destroyed.add(shred);
    cache.delete(workspaceId);
    try {
      // The key-encryption key first: once it is gone, every copy of the wrapped
      // keys (backups, replicas, snapshots) is useless. Then the rows.
      const rows = await store.listWorkspace(region, workspaceId);
      const kek = workspaceKeks
        ? await workspaceKeks.destroy(
            workspaceId,
            region,
            rows.filter((r) => isWorkspaceKek(r.provider)),
          )
        : { destroyed: [], customerManaged: [] };
      return { keys: await store.destroy(region, workspaceId), kek };
    } catch (err) {
      // Keep serving, let the caller retry (a re-run finds the key by name).
      if (!wasDestroyed) destroyed.delete(shred);
      throw err;
    }
  }

  return {
    async createWorkspaceKeys(workspaceId, region) {
      const out = {} as Record<WorkspaceKeyPurpose, number>;
      for (const purpose of WORKSPACE_KEY_PURPOSES) checkArgs(workspaceId, purpose, region);
      // A key-encryption key of its own, made before any key is wrapped (kept if some keys exist already).
      let kek = await kekOf(workspaceId, region);
      let createdKek: KekRef | null = null;
      if (!kek && workspaceKeks) kek = createdKek = await workspaceKeks.create(workspaceId, region);
      try {
        for (const purpose of WORKSPACE_KEY_PURPOSES) out[purpose] = await createFirst(purpose);
      } catch (err) {
        // Nothing stored under a key we just made: destroy it rather than leave it behind.
        if (createdKek && workspaceKeks && !(await store.listWorkspace(region, workspaceId)).length) {
          await workspaceKeks.destroy(workspaceId, region, [createdKek]).catch(() => undefined);
        }
        throw err;
      }
      return out;

      async function createFirst(purpose: WorkspaceKeyPurpose): Promise<number> {
        const latest = await latestStoredVersion(workspaceId, region, purpose);
        if (latest === 0) {
          try {
            await addVersion(workspaceId, region, purpose, 1, kek);
          } catch (err) {
            // A concurrent creation stored version 1 first: theirs stands, ours was never stored.
            if (!(err instanceof ConflictError)) throw err;
          }
        }
        return latest || 1;
      }
    },

    async rotate(workspaceId, region) {
      const out = {} as Record<WorkspaceKeyPurpose, number>;
      const kek = await kekOf(workspaceId, region);
      for (const purpose of WORKSPACE_KEY_PURPOSES) {
        checkArgs(workspaceId, purpose, region);
        const latest = await latestStoredVersion(workspaceId, region, purpose);
        // Rotating must never bring keys back to a workspace that has none (e.g. shredded elsewhere).
        if (latest === 0) throw new CryptoError('key_not_found', 'this workspace has no keys to rotate');
        await addVersion(workspaceId, region, purpose, latest + 1, kek);
        out[purpose] = latest + 1;
      }
      return out;
    },

    currentKey,
    keyVersion,

    destroy: async (workspaceId, region) => (await destroyWithReport(workspaceId, region)).keys,
    destroyWithReport,
    kekOf,

    async protect(workspaceId, region) {
      checkArgs(workspaceId, 'dek', region);
      if (!workspaceKeks) throw new CryptoError('not_configured', 'per-workspace key-encryption keys are not configured');
      const current = await kekOf(workspaceId, region);
      if (!current) throw new CryptoError('key_not_found', 'this workspace has no keys');
      if (isWorkspaceKek(current.provider)) {
        // Already on its own key: finish any row a concurrent rotation wrapped the old way.
        return { ...(await rewrapAll(workspaceId, region, current)), kek: current };
      }
      const kek = await workspaceKeks.create(workspaceId, region);
      try {
        return { ...(await rewrapAll(workspaceId, region, kek)), kek };
      } catch (err) {
        await workspaceKeks.destroy(workspaceId, region, [kek]).catch(() => undefined);
        throw err;
      }
    },

    async useCustomerKey(workspaceId, region, arn) {
      checkArgs(workspaceId, 'dek', region);
      if (!workspaceKeks) throw new CryptoError('not_configured', 'per-workspace key-encryption keys are not configured');
      if (!(await kekOf(workspaceId, region))) throw new CryptoError('key_not_found', 'this workspace has no keys');
      const kek = await workspaceKeks.customer(arn, workspaceId, region);
      const { rewrapped, previous } = await rewrapAll(workspaceId, region, kek);
      // Our own key wrapped these keys until now, and backups hold those wrappings: destroy it,
      // so from now on only the customer's key opens this workspace (the regional KEK cannot be).
      const ours = previous.filter((r) => r.provider === 'local-ws' || r.provider === 'kms-ws');
      if (ours.length) await workspaceKeks.destroy(workspaceId, region, ours);
      return { rewrapped, kek, previous };
    },

    async retire(workspaceId, region, purpose, keepFrom) {
      checkArgs(workspaceId, purpose, region);
      const rows = await store.list(region, workspaceId, purpose);
      const newest = rows.reduce((m, r) => Math.max(m, r.version), 0);
      // Never the newest: new writes need a key.
      if (keepFrom > newest) throw new CryptoError('retire_refused', 'refusing to retire the newest key version');
      const old = rows.map((r) => r.version).filter((v) => v < keepFrom);
      if (old.length) await store.retire(region, workspaceId, purpose, old);
      cache.delete(workspaceId);
      return old.sort((a, b) => a - b);
    },

    evict(workspaceId) {
      cache.delete(workspaceId);
    },

    evictAll() {
      cache.clear();
    },
  };
}
