import type { Region } from '../config/config-schema.ts';
import type { KeyProvider } from './key-provider-types.ts';
import type { KekDestroyReport, KekRef, WorkspaceKeks } from './workspace-kek.ts';

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
  /** Every key of the workspace, every purpose. */
  listWorkspace(region: Region, workspaceId: string): Promise<StoredKey[]>;
  /** Replaces wrapped/kekId/provider of existing versions, all or nothing; fails if a row is missing. */
  rewrap(region: Region, keys: StoredKey[]): Promise<void>;
  /** Deletes the given versions of one purpose; returns how many rows went. */
  retire(region: Region, workspaceId: string, purpose: string, versions: number[]): Promise<number>;
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
  /**
   * Per-workspace key-encryption keys (outside the database). When set, new
   * workspaces get one and their keys are wrapped by it; without it, keys are
   * wrapped by the region's KEK (the old scheme, still read).
   */
  workspaceKeks?: WorkspaceKeks;
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
  /** Crypto-shredding: destroy the workspace's key-encryption key, delete every key of the workspace and forget them here. */
  destroy(workspaceId: string, region: Region): Promise<number>;
  /** destroy, with what happened to the key-encryption key. */
  destroyWithReport(workspaceId: string, region: Region): Promise<{ keys: number; kek: KekDestroyReport }>;
  /** The key-encryption key of the newest stored key (what new versions are wrapped under); null if none. */
  kekOf(workspaceId: string, region: Region): Promise<KekRef | null>;
  /**
   * Moves a workspace whose keys are wrapped by the regional KEK (older
   * workspaces) onto a key-encryption key of its own. Idempotent.
   */
  protect(workspaceId: string, region: Region): Promise<{ rewrapped: number; kek: KekRef }>;
  /** Re-wraps every key of the workspace under the customer's KMS key (checked first), then destroys our own. */
  useCustomerKey(workspaceId: string, region: Region, arn: string): Promise<{ rewrapped: number; kek: KekRef; previous: KekRef[] }>;
  /** Deletes versions of a purpose older than `keepFrom` (after re-encryption): data under them is gone for good. */
  retire(workspaceId: string, region: Region, purpose: WorkspaceKeyPurpose, keepFrom: number): Promise<number[]>;
  /** Forget cached keys of the workspace (e.g. after another process rotated). */
  evict(workspaceId: string): void;
  /** Forget every cached key (e.g. when announcements of other processes' changes may have been missed). */
  evictAll(): void;
}
