import type { Region } from '../config/config-schema.ts';
import type { KeyProvider } from './key-provider-types.ts';

/** The two keys every workspace has. Other purposes (e.g. 'audit-signing') may be added later. */
export const WORKSPACE_KEY_PURPOSES = ['dek', 'hmac'] as const;
export type WorkspaceKeyPurpose = (typeof WORKSPACE_KEY_PURPOSES)[number];

/** One version of one workspace key as persisted: wrapped only, never in clear. */
export interface StoredKey {
  workspaceId: string;
  purpose: string;
  version: number;
  wrapped: Buffer;
  kekId: string;
  provider: string;
}

/** Persistence of wrapped keys: PostgreSQL in keyring-dal.ts, in memory in unit tests. */
export interface KeyStore {
  /** Fails if (workspaceId, purpose, version) already exists. */
  insert(region: Region, key: StoredKey): Promise<void>;
  /** All versions, any order. */
  list(region: Region, workspaceId: string, purpose: string): Promise<StoredKey[]>;
  /** Deletes every key of the workspace; returns how many rows went. */
  destroy(region: Region, workspaceId: string): Promise<number>;
}

export interface VersionedKey {
  version: number;
  /** The cached clear key: shared with other callers, never mutate it. */
  key: Buffer;
}

export interface KeyringOptions {
  providerFor: (region: Region) => KeyProvider;
  store: KeyStore;
  /** How long unwrapped keys (and the list of versions) stay in memory. */
  ttlMs: number;
  /** Injectable clock for tests. */
  now?: () => number;
}

export interface Keyring {
  /** Version 1 of every workspace key purpose; purposes that already have a key are left alone. */
  createWorkspaceKeys(workspaceId: string, region: Region): Promise<Record<WorkspaceKeyPurpose, number>>;
  /** A new version of every purpose; older versions keep decrypting. */
  rotate(workspaceId: string, region: Region): Promise<Record<WorkspaceKeyPurpose, number>>;
  /** The newest version: the one new writes use. */
  currentKey(workspaceId: string, region: Region, purpose: string): Promise<VersionedKey>;
  /** A given version, for reading data written under it. */
  keyVersion(workspaceId: string, region: Region, purpose: string, version: number): Promise<Buffer>;
  /** Crypto-shredding: delete every key of the workspace and forget them here. */
  destroy(workspaceId: string, region: Region): Promise<number>;
  /** Forget cached keys of the workspace (e.g. after another process rotated). */
  evict(workspaceId: string): void;
}
