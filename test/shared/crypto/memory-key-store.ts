import type { Region } from '../../../shared/config/config-schema.ts';
import type { KeyStore, StoredKey } from '../../../shared/crypto/keyring-types.ts';
import { ConflictError } from '../../../shared/errors/errors.ts';

/** KeyStore in memory for unit tests, with the same duplicate-version refusal as the table's primary key. */
export function createMemoryKeyStore(): KeyStore & { rows: Map<string, StoredKey>; calls: { list: number } } {
  const rows = new Map<string, StoredKey>();
  const id = (region: Region, k: { workspaceId: string; purpose: string; version: number }) =>
    `${region}/${k.workspaceId}/${k.purpose}/${k.version}`;
  const calls = { list: 0 };
  return {
    rows,
    calls,
    async insert(region, key) {
      const k = id(region, key);
      if (rows.has(k)) throw new ConflictError('that key version already exists', 'key_version_conflict');
      rows.set(k, { ...key, wrapped: Buffer.from(key.wrapped) });
    },
    async list(region, workspaceId, purpose) {
      calls.list++;
      return [...rows.entries()]
        .filter(([k, v]) => k.startsWith(`${region}/`) && v.workspaceId === workspaceId && v.purpose === purpose)
        .map(([, v]) => v);
    },
    async listWorkspace(region, workspaceId) {
      return [...rows.entries()].filter(([k, v]) => k.startsWith(`${region}/`) && v.workspaceId === workspaceId).map(([, v]) => v);
    },
    async rewrap(region, keys) {
      for (const key of keys) if (!rows.has(id(region, key))) throw new ConflictError('missing', 'key_rewrap_conflict');
      for (const key of keys) rows.set(id(region, key), { ...key, wrapped: Buffer.from(key.wrapped) });
    },
    async retire(region, workspaceId, purpose, versions) {
      let n = 0;
      for (const v of versions) if (rows.delete(id(region, { workspaceId, purpose, version: v }))) n++;
      return n;
    },
    async destroy(region, workspaceId) {
      let n = 0;
      for (const [k, v] of rows) {
        if (k.startsWith(`${region}/`) && v.workspaceId === workspaceId) {
          rows.delete(k);
          n++;
        }
      }
      return n;
    },
  };
}
