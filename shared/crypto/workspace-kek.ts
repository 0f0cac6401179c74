import { randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { z } from 'zod';
import type { Region } from '../config/config-schema.ts';
import { BadRequestError, CryptoError, KeyUnavailableError } from '../errors/errors.ts';
import { createAwsKmsKeyProvider, KEY_UNUSABLE_ERRORS, kmsErrorName } from './aws-kms-key-provider.ts';
import { DATA_KEY_BYTES, type KeyContext, type KeyProvider } from './key-provider-types.ts';
import { createKeyFile, fingerprint, readKekFile, unwrapWithKek, wrapWithKek } from './local-key-provider.ts';

/**
 * Per-workspace key-encryption keys: the key that wraps a workspace's data and
 * hashing keys lives OUTSIDE the database and its backups, and the wipe
 * destroys it. A restored backup then holds wrapped keys nothing can unwrap.
 *
 *   local-ws      development: <home>/keys/workspaces/<region>/<workspace>.key
 *   kms-ws        production: one KMS key per workspace, created at setup,
 *                 alias alias/wact/<region>/<workspace>, tagged; the wipe
 *                 disables it at once and schedules its deletion
 *   kms-customer  the customer's own KMS key (an ARN granted to us); the
 *                 customer decides its fate, we never disable or delete it
 *
 * workspace_keys.provider names the kind and workspace_keys.kek_id the key
 * (file fingerprint or KMS ARN), so each wrapped row says what unwraps it.
 */
export type WorkspaceKekKind = 'local-ws' | 'kms-ws' | 'kms-customer';
export const WORKSPACE_KEK_KINDS: readonly string[] = ['local-ws', 'kms-ws', 'kms-customer'];
export const isWorkspaceKek = (provider: string): provider is WorkspaceKekKind => WORKSPACE_KEK_KINDS.includes(provider);

export interface KekRef {
  provider: string;
  kekId: string;
}

export interface KekDestroyReport {
  /** Keys made unusable now (file deleted, or KMS key disabled and deletion scheduled). */
  destroyed: string[];
  /** Customer-managed keys: theirs to disable or delete, never ours. */
  customerManaged: string[];
}

export interface WorkspaceKeks {
  /** What new workspaces get. */
  readonly managedKind: 'local-ws' | 'kms-ws';
  /** A new key-encryption key for the workspace. */
  create(workspaceId: string, region: Region): Promise<KekRef>;
  /** wrap/unwrap under one stored reference. */
  provider(ref: KekRef, region: Region): KeyProvider;
  /** Makes the workspace's own keys unusable for good (idempotent; also finds them by name if no reference is left). */
  destroy(workspaceId: string, region: Region, refs: KekRef[]): Promise<KekDestroyReport>;
  /** Validates a customer's key ARN and proves we can encrypt and decrypt with it. */
  customer(arn: string, workspaceId: string, region: Region): Promise<KekRef>;
}

const WS_FILE_HEADER = 'wact-workspace-kek v1 aes-256-gcm';

/**
 * A KMS key ARN, nothing else: key id or alias names would let the key behind
 * them change without us noticing. Multi-Region keys (mrk-…) are allowed.
 */
export const customerKeyArn = z
  .string()
  .trim()
  .regex(
    /^arn:aws(?:-us-gov|-cn)?:kms:[a-z]{2}(?:-gov)?-[a-z]+-\d:\d{12}:key\/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/,
    'expected a KMS key ARN: arn:aws:kms:<aws-region>:<account>:key/<key-id>',
  );

export const arnRegion = (arn: string) => arn.split(':')[3];

export function workspaceKekPath(home: string, region: Region, workspaceId: string): string {
  return path.join(home, 'keys', 'workspaces', region, `${workspaceId}.key`);
}

export const workspaceKekAlias = (region: Region, workspaceId: string) => `alias/wact/${region}/${workspaceId}`;

export interface WorkspaceKeksOptions {
  /** 'local' (development, files in `home`) or 'kms' (production, a KMS key per workspace). */
  managed: 'local' | 'kms';
  home: string;
  /** A KMS client per WAct region (customer keys need one in either mode). */
  clientFor?: (region: Region) => Pick<KMSClient, 'send'>;
  /** AWS region of each WAct region: a customer key must live there (residency). */
  awsRegions?: Record<Region, string>;
  /** Days KMS waits before deleting a wiped workspace's key (7–30; KMS' own bounds). */
  deletionWindowDays?: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function createWorkspaceKeks(opts: WorkspaceKeksOptions): WorkspaceKeks {
  const awsRegions = opts.awsRegions ?? { eu: 'eu-central-1', us: 'us-east-1' };
  const window = opts.deletionWindowDays ?? 7;
  if (!Number.isInteger(window) || window < 7 || window > 30)
    throw new CryptoError('invalid_config', 'KMS deletion window must be 7–30 days');

  function client(region: Region): Pick<KMSClient, 'send'> {
    if (!opts.clientFor) throw new BadRequestError('KMS keys need the aws-kms key provider to be configured', 'kms_not_configured');
    return opts.clientFor(region);
  }

  function checkWorkspace(workspaceId: string): void {
    // The id becomes a file name and a KMS alias: only a UUID may.
    if (typeof workspaceId !== 'string' || !UUID.test(workspaceId)) {
      throw new CryptoError('invalid_key_context', 'workspace id must be a UUID');
    }
  }

  // ---- local files ---------------------------------------------------------

  /** kek_id of a file key: the region, workspace and a fingerprint, so a swapped file is noticed. */
  const localId = (region: Region, workspaceId: string, key: Buffer) => `local-ws:${region}:${workspaceId}:${fingerprint(key)}`;

  function localProvider(ref: KekRef, region: Region): KeyProvider {
    const [, refRegion, workspaceId, print] = ref.kekId.split(':');
    if (refRegion !== region || !UUID.test(workspaceId ?? '') || !print) {
      throw new CryptoError('malformed_kek_ref', 'workspace key reference is malformed');
    }
    const file = workspaceKekPath(opts.home, region, workspaceId);
    // Read on every use, never cached: once the wipe deletes the file, no process can unwrap again.
    async function kek(ctx: KeyContext): Promise<Buffer> {
      if (ctx.workspaceId !== workspaceId || ctx.region !== region) {
        throw new CryptoError('kek_mismatch', 'this key-encryption key belongs to another workspace');
      }
      const key = await readKekFile(file, WS_FILE_HEADER);
      if (!key) throw new CryptoError('key_destroyed', 'the key-encryption key of this workspace has been destroyed');
      if (fingerprint(key) !== print)
        throw new CryptoError('kek_mismatch', 'the workspace key file is not the key these keys were wrapped with');
      return key;
    }
    return {
      name: 'local-ws',
      async generateDataKey(ctx) {
        const plaintext = randomBytes(DATA_KEY_BYTES);
        return { plaintext, wrapped: wrapWithKek(await kek(ctx), plaintext, ctx), kekId: ref.kekId };
      },
      async wrap(plaintext, ctx) {
        return { wrapped: wrapWithKek(await kek(ctx), plaintext, ctx), kekId: ref.kekId };
      },
      async unwrap(wrapped, ctx) {
        return unwrapWithKek(await kek(ctx), wrapped, ctx);
      },
    };
  }

  async function destroyFile(file: string): Promise<boolean> {
    let handle;
    try {
      handle = await fs.open(file, 'r+');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw new CryptoError('kek_destroy_failed', 'could not open the workspace key file to destroy it');
    }
    try {
      // Overwrite before unlinking so the bytes do not linger in the freed blocks (best effort on SSDs).
      const { size } = await handle.stat();
      await handle.write(Buffer.alloc(size), 0, size, 0);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.unlink(file);
    const dir = await fs.open(path.dirname(file), 'r').catch(() => undefined);
    await dir?.sync().catch(() => undefined);
    await dir?.close();
    return true;
  }

  // ---- KMS -----------------------------------------------------------------

  function kmsProvider(ref: KekRef, region: Region): KeyProvider {
    const customer = ref.provider === 'kms-customer';
    const base = createAwsKmsKeyProvider({
      keyId: ref.kekId,
      client: client(region),
      name: customer ? 'kms-customer' : 'kms-ws',
      onError: (operation, name) => {
        if (customer && KEY_UNUSABLE_ERRORS.has(name)) return new KeyUnavailableError(name);
        if (KEY_UNUSABLE_ERRORS.has(name))
          return new CryptoError('key_destroyed', `the key-encryption key of this workspace is unusable (${name})`);
        return new CryptoError('kms_error', `KMS ${operation} failed: ${name}`);
      },
    });
    // Data keys are drawn here and only Encrypt/Decrypt go to KMS: the one grant a customer has to give.
    return {
      ...base,
      async generateDataKey(ctx) {
        const plaintext = randomBytes(DATA_KEY_BYTES);
        const { wrapped, kekId } = await base.wrap(plaintext, ctx);
        return { plaintext, wrapped, kekId };
      },
    };
  }

  async function kmsCreate(workspaceId: string, region: Region): Promise<KekRef> {
    const kms = client(region);
    let arn: string | undefined;
    try {
      const created = await kms.send(
        new CreateKeyCommand({
          Description: `WAct workspace ${workspaceId} (${region}): wraps its data and hashing keys; destroyed by a wipe`,
          KeyUsage: 'ENCRYPT_DECRYPT',
          KeySpec: 'SYMMETRIC_DEFAULT',
          // Tags with the key from its first moment: a key never exists unattributed.
          Tags: [
            { TagKey: 'wact:workspace', TagValue: workspaceId },
            { TagKey: 'wact:region', TagValue: region },
            { TagKey: 'wact:purpose', TagValue: 'workspace-kek' },
          ],
        }),
      );
      arn = created.KeyMetadata?.Arn;
      if (!arn) throw new CryptoError('kms_error', 'KMS CreateKey returned no key ARN');
      await kms.send(new CreateAliasCommand({ AliasName: workspaceKekAlias(region, workspaceId), TargetKeyId: arn }));
      return { provider: 'kms-ws', kekId: arn };
    } catch (err) {
      // Do not leave a half-made key behind (it would cost money and name a workspace that does not exist).
      if (arn) await kmsDestroy(kms, arn).catch(() => undefined);
      if (err instanceof CryptoError) throw err;
      throw new CryptoError('kms_error', `KMS key creation failed: ${kmsErrorName(err)}`);
    }
  }

  /** DisableKey at once (no more Decrypt from this second), then deletion after the window. Idempotent. */
  async function kmsDestroy(kms: Pick<KMSClient, 'send'>, keyId: string): Promise<boolean> {
    const tolerate = async (run: () => Promise<unknown>) => {
      try {
        await run();
        return true;
      } catch (err) {
        const name = kmsErrorName(err);
        // Already pending deletion (disabling or scheduling again is refused) or already gone.
        if (name === 'KMSInvalidStateException' || name === 'NotFoundException') return false;
        throw new CryptoError('kek_destroy_failed', `could not destroy the workspace KMS key: ${name}`);
      }
    };
    const disabled = await tolerate(() => kms.send(new DisableKeyCommand({ KeyId: keyId })));
    const scheduled = await tolerate(() => kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: window })));
    return disabled || scheduled;
  }

  async function customer(arn: string, workspaceId: string, region: Region): Promise<KekRef> {
    checkWorkspace(workspaceId);
    const parsed = customerKeyArn.safeParse(arn);
    if (!parsed.success) throw new BadRequestError(parsed.error.issues[0].message, 'invalid_key_arn');
    if (arnRegion(parsed.data) !== awsRegions[region]) {
      throw new BadRequestError(
        `the key must be in ${awsRegions[region]} (the workspace's data stays in region ${region})`,
        'key_arn_wrong_region',
      );
    }
    const ref = { provider: 'kms-customer', kekId: parsed.data };
    const provider = kmsProvider(ref, region);
    // A round trip with the workspace's context proves Encrypt and Decrypt are granted and the key is enabled.
    const probe = randomBytes(DATA_KEY_BYTES);
    const ctx: KeyContext = { workspaceId, purpose: 'kek-probe', region };
    try {
      const { wrapped } = await provider.wrap(probe, ctx);
      const back = await provider.unwrap(wrapped, ctx);
      if (back.length !== probe.length || !timingSafeEqual(back, probe)) {
        throw new BadRequestError('the key did not return what was encrypted with it', 'customer_key_unusable');
      }
    } catch (err) {
      if (err instanceof KeyUnavailableError) {
        throw new BadRequestError(
          `WAct cannot use that key (${err.reason}): grant kms:Encrypt and kms:Decrypt to WAct and make sure the key is enabled`,
          'customer_key_unusable',
        );
      }
      throw err;
    }
    return ref;
  }

  return {
    managedKind: opts.managed === 'kms' ? 'kms-ws' : 'local-ws',

    async create(workspaceId, region) {
      checkWorkspace(workspaceId);
      if (opts.managed === 'kms') return kmsCreate(workspaceId, region);
      const file = workspaceKekPath(opts.home, region, workspaceId);
      if (await readKekFile(file, WS_FILE_HEADER)) {
        // A file for an id we are creating keys for: left over from somewhere; never reuse a key.
        throw new CryptoError('kek_exists', 'a key file for this workspace already exists');
      }
      const key = await createKeyFile(file, WS_FILE_HEADER);
      return { provider: 'local-ws', kekId: localId(region, workspaceId, key) };
    },

    provider(ref, region) {
      if (ref.provider === 'local-ws') return localProvider(ref, region);
      if (ref.provider === 'kms-ws' || ref.provider === 'kms-customer') return kmsProvider(ref, region);
      throw new CryptoError('provider_mismatch', `not a workspace key-encryption key: ${ref.provider}`);
    },

    async destroy(workspaceId, region, refs) {
      checkWorkspace(workspaceId);
      const report: KekDestroyReport = { destroyed: [], customerManaged: [] };
      const seen = new Set<string>();
      for (const ref of refs) {
        if (seen.has(ref.kekId)) continue;
        seen.add(ref.kekId);
        if (ref.provider === 'kms-customer') report.customerManaged.push(ref.kekId);
        else if (ref.provider === 'kms-ws') {
          await kmsDestroy(client(region), ref.kekId);
          report.destroyed.push(ref.kekId);
        }
      }
      // By name too: a re-run after the rows went, or a key made by a setup that failed half-way.
      if (await destroyFile(workspaceKekPath(opts.home, region, workspaceId))) report.destroyed.push(`file:${workspaceId}`);
      if (opts.managed === 'kms' && !refs.some((r) => r.provider === 'kms-ws')) {
        try {
          const described = await client(region).send(new DescribeKeyCommand({ KeyId: workspaceKekAlias(region, workspaceId) }));
          const arn = described.KeyMetadata?.Arn;
          if (arn && described.KeyMetadata?.KeyState !== 'PendingDeletion' && (await kmsDestroy(client(region), arn))) {
            report.destroyed.push(arn);
          }
        } catch (err) {
          if (err instanceof CryptoError) throw err;
          if (kmsErrorName(err) !== 'NotFoundException') {
            throw new CryptoError('kek_destroy_failed', `could not look up the workspace KMS key: ${kmsErrorName(err)}`);
          }
        }
      }
      return report;
    },

    customer,
  };
}
