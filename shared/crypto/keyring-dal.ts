import type pg from 'pg';
import type { Region } from '../config/config-schema.ts';
import { ConflictError } from '../errors/errors.ts';
import type { KeyStore, StoredKey } from './keyring-types.ts';

/**
 * The KeyStore on the regional databases: wact_private.workspace_keys holds
 * wrapped keys only. (The table is created by the regional migration.)
 */
export interface KeyStoreOptions {
  poolFor: (region: Region) => Pick<pg.Pool, 'query'>;
}

interface KeyRow {
  workspace_id: string;
  purpose: string;
  version: number;
  wrapped: Buffer;
  kek_id: string;
  provider: string;
}

export function createKeyStore(opts: KeyStoreOptions): KeyStore {
  const { poolFor } = opts;
  return {
    async insert(region, key) {
      try {
        await poolFor(region).query(
          `insert into wact_private.workspace_keys (workspace_id, purpose, version, wrapped, kek_id, provider)
           values ($1, $2, $3, $4, $5, $6)`,
          [key.workspaceId, key.purpose, key.version, key.wrapped, key.kekId, key.provider],
        );
      } catch (err) {
        // Two rotations raced for the same version: the loser retries, nothing is overwritten.
        if ((err as { code?: string }).code === '23505') throw new ConflictError('that key version already exists', 'key_version_conflict');
        throw err;
      }
    },

    async list(region, workspaceId, purpose) {
      const { rows } = await poolFor(region).query<KeyRow>(
        `select workspace_id, purpose, version, wrapped, kek_id, provider
           from wact_private.workspace_keys
          where workspace_id = $1 and purpose = $2
          order by version desc`,
        [workspaceId, purpose],
      );
      return rows.map(toStoredKey);
    },

    async listWorkspace(region, workspaceId) {
      const { rows } = await poolFor(region).query<KeyRow>(
        `select workspace_id, purpose, version, wrapped, kek_id, provider
           from wact_private.workspace_keys
          where workspace_id = $1
          order by purpose, version desc`,
        [workspaceId],
      );
      return rows.map(toStoredKey);
    },

    async rewrap(region, keys) {
      if (!keys.length) return;
      const workspaceId = keys[0].workspaceId;
      if (keys.some((k) => k.workspaceId !== workspaceId)) throw new Error('rewrap: keys of one workspace at a time');
      // One statement: every row moves to the new wrapping, or none does.
      const res = await poolFor(region).query(
        `update wact_private.workspace_keys k
            set wrapped = v.wrapped, kek_id = v.kek_id, provider = v.provider
           from unnest($2::text[], $3::int[], $4::bytea[], $5::text[], $6::text[]) as v(purpose, version, wrapped, kek_id, provider)
          where k.workspace_id = $1 and k.purpose = v.purpose and k.version = v.version`,
        [
          workspaceId,
          keys.map((k) => k.purpose),
          keys.map((k) => k.version),
          keys.map((k) => k.wrapped),
          keys.map((k) => k.kekId),
          keys.map((k) => k.provider),
        ],
      );
      if (res.rowCount !== keys.length) {
        throw new ConflictError('the workspace keys changed while they were re-wrapped; run it again', 'key_rewrap_conflict');
      }
    },

    async retire(region, workspaceId, purpose, versions) {
      const res = await poolFor(region).query(
        'delete from wact_private.workspace_keys where workspace_id = $1 and purpose = $2 and version = any($3::int[])',
        [workspaceId, purpose, versions],
      );
      return res.rowCount ?? 0;
    },

    async destroy(region, workspaceId) {
      const result = await poolFor(region).query('delete from wact_private.workspace_keys where workspace_id = $1', [workspaceId]);
      return result.rowCount ?? 0;
    },
  };
}

function toStoredKey(row: KeyRow): StoredKey {
  return {
    workspaceId: row.workspace_id,
    purpose: row.purpose,
    version: row.version,
    wrapped: row.wrapped,
    kekId: row.kek_id,
    provider: row.provider,
  };
}
