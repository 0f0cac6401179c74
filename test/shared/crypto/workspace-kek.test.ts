import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  KMSClient,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createFieldCrypto } from '../../../shared/crypto/field-cipher.ts';
import { createKeyring } from '../../../shared/crypto/keyring-service.ts';
import { createLocalKeyProvider } from '../../../shared/crypto/local-key-provider.ts';
import { createWorkspaceKeks, workspaceKekPath } from '../../../shared/crypto/workspace-kek.ts';
import { CryptoError, KeyUnavailableError } from '../../../shared/errors/errors.ts';
import { errorResponse } from '../../../shared/http/error-handler.ts';
import { createMemoryKeyStore } from './memory-key-store.ts';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-wskek-'));
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

const WS = '5c0f7a7e-2f41-4c3a-9d55-0a1b2c3d4e5f';
const OTHER = '6d1e8b8f-3a52-4d4b-8e66-1b2c3d4e5f60';
const OUR_ARN = 'arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const CUSTOMER_ARN = 'arn:aws:kms:eu-central-1:444455556666:key/0f0e0d0c-0b0a-4909-8807-060504030201';

/**
 * A KMS double that behaves like KMS for Encrypt/Decrypt (the blob names the
 * key and binds the context; a disabled key refuses), so the keyring can be run
 * end to end on it.
 */
const kms = mockClient(KMSClient);
const disabled = new Set<string>();
function kmsError(name: string): Error {
  const e = new Error(`${name}: simulated`);
  e.name = name;
  return e;
}
function installKmsDouble() {
  kms.reset();
  kms.on(EncryptCommand).callsFake((input: { KeyId: string; Plaintext: Uint8Array; EncryptionContext: Record<string, string> }) => {
    if (disabled.has(input.KeyId)) throw kmsError('DisabledException');
    const blob = Buffer.from(
      JSON.stringify({ k: input.KeyId, c: input.EncryptionContext, p: Buffer.from(input.Plaintext).toString('hex') }),
    );
    return { CiphertextBlob: blob, KeyId: input.KeyId };
  });
  kms.on(DecryptCommand).callsFake((input: { KeyId: string; CiphertextBlob: Uint8Array; EncryptionContext: Record<string, string> }) => {
    if (disabled.has(input.KeyId)) throw kmsError('DisabledException');
    const b = JSON.parse(Buffer.from(input.CiphertextBlob).toString()) as { k: string; c: Record<string, string>; p: string };
    if (b.k !== input.KeyId || JSON.stringify(b.c) !== JSON.stringify(input.EncryptionContext))
      throw kmsError('InvalidCiphertextException');
    return { Plaintext: Buffer.from(b.p, 'hex'), KeyId: input.KeyId };
  });
  // The first key made is OUR_ARN, later ones get their own ARN.
  let made = 0;
  kms.on(CreateKeyCommand).callsFake(() => ({
    KeyMetadata: { KeyId: 'k', Arn: made++ === 0 ? OUR_ARN : OUR_ARN.replace('1234567890ab', String(made).padStart(12, '0')) },
  }));
  kms.on(DescribeKeyCommand).rejects(kmsError('NotFoundException'));
  kms.on(CreateAliasCommand).resolves({});
  kms.on(DisableKeyCommand).callsFake((input: { KeyId: string }) => {
    disabled.add(input.KeyId);
    return {};
  });
  kms.on(ScheduleKeyDeletionCommand).resolves({ KeyState: 'PendingDeletion' });
}
beforeEach(() => {
  disabled.clear();
  installKmsDouble();
});

const client = new KMSClient({ region: 'eu-central-1' });
const kmsKeks = () => createWorkspaceKeks({ managed: 'kms', home, clientFor: () => client, deletionWindowDays: 7 });

function keyringWith(keks: ReturnType<typeof createWorkspaceKeks>) {
  const store = createMemoryKeyStore();
  const keyring = createKeyring({
    providerFor: () => createLocalKeyProvider({ home, region: 'eu' }),
    store,
    ttlMs: 60_000,
    workspaceKeks: keks,
  });
  return { keyring, store, fc: createFieldCrypto(keyring) };
}

describe('per-workspace key-encryption key in KMS', () => {
  it('is created at workspace setup with an alias and tags naming workspace and region, and wraps both keys', async () => {
    const { keyring, store } = keyringWith(kmsKeks());
    await keyring.createWorkspaceKeys(WS, 'eu');
    const create = kms.commandCalls(CreateKeyCommand)[0].args[0].input;
    expect(create).toMatchObject({ KeyUsage: 'ENCRYPT_DECRYPT', KeySpec: 'SYMMETRIC_DEFAULT' });
    expect(create.Tags).toEqual(
      expect.arrayContaining([
        { TagKey: 'wact:workspace', TagValue: WS },
        { TagKey: 'wact:region', TagValue: 'eu' },
      ]),
    );
    expect(kms.commandCalls(CreateAliasCommand)[0].args[0].input).toEqual({ AliasName: `alias/wact/eu/${WS}`, TargetKeyId: OUR_ARN });
    const rows = await store.listWorkspace('eu', WS);
    expect(rows.map((r) => [r.purpose, r.provider, r.kekId]).sort()).toEqual([
      ['dek', 'kms-ws', OUR_ARN],
      ['hmac', 'kms-ws', OUR_ARN],
    ]);
    // Every wrap carries the workspace/purpose/region context.
    const contexts = kms.commandCalls(EncryptCommand).map((c) => c.args[0].input.EncryptionContext);
    expect(contexts).toEqual(
      expect.arrayContaining([
        { workspace: WS, purpose: 'dek', region: 'eu' },
        { workspace: WS, purpose: 'hmac', region: 'eu' },
      ]),
    );
  });

  it('a wipe disables the key at once and schedules its deletion; the stored wrapped keys (a backup) no longer unwrap', async () => {
    const { keyring, store, fc } = keyringWith(kmsKeks());
    await keyring.createWorkspaceKeys(WS, 'eu');
    const blob = await fc.encrypt(WS, 'eu', { table: 'clicks', column: 'fbclid_enc' }, 'fb.1.secret');
    const backup = await store.listWorkspace('eu', WS);

    const report = await keyring.destroyWithReport(WS, 'eu');
    expect(report.keys).toBe(2);
    expect(report.kek.destroyed).toEqual([OUR_ARN]);
    expect(kms.commandCalls(DisableKeyCommand)[0].args[0].input).toEqual({ KeyId: OUR_ARN });
    expect(kms.commandCalls(ScheduleKeyDeletionCommand)[0].args[0].input).toEqual({ KeyId: OUR_ARN, PendingWindowInDays: 7 });

    // "Restore": the wrapped rows come back in a fresh process; the key they need is disabled.
    const restored = keyringWith(kmsKeks());
    for (const row of backup) await restored.store.insert('eu', row);
    const err = await restored.fc.decrypt(WS, 'eu', { table: 'clicks', column: 'fbclid_enc' }, blob).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CryptoError);
    expect((err as CryptoError).code).toBe('key_destroyed');
  });

  it('destroying again is a no-op (pending deletion is tolerated), and a re-run without rows finds the key by its alias', async () => {
    const keks = kmsKeks();
    kms.on(DisableKeyCommand).rejects(kmsError('KMSInvalidStateException'));
    kms.on(ScheduleKeyDeletionCommand).rejects(kmsError('KMSInvalidStateException'));
    await expect(keks.destroy(WS, 'eu', [{ provider: 'kms-ws', kekId: OUR_ARN }])).resolves.toMatchObject({ destroyed: [OUR_ARN] });

    installKmsDouble();
    kms.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: 'k', Arn: OUR_ARN, KeyState: 'Enabled' } });
    const report = await keks.destroy(WS, 'eu', []);
    expect(kms.commandCalls(DescribeKeyCommand)[0].args[0].input).toEqual({ KeyId: `alias/wact/eu/${WS}` });
    expect(report.destroyed).toEqual([OUR_ARN]);
    expect(kms.commandCalls(DisableKeyCommand)).toHaveLength(1);
  });

  it('a failed disable fails the destroy (the wipe stops, a re-run retries) and keeps the rows', async () => {
    const { keyring, store } = keyringWith(kmsKeks());
    await keyring.createWorkspaceKeys(WS, 'eu');
    kms.on(DisableKeyCommand).rejects(kmsError('ThrottlingException'));
    await expect(keyring.destroy(WS, 'eu')).rejects.toMatchObject({ code: 'kek_destroy_failed' });
    expect(await store.listWorkspace('eu', WS)).toHaveLength(2);
  });

  it('a half-made key (alias refused) is destroyed, not left behind', async () => {
    kms.on(CreateAliasCommand).rejects(kmsError('AlreadyExistsException'));
    const { keyring, store } = keyringWith(kmsKeks());
    await expect(keyring.createWorkspaceKeys(WS, 'eu')).rejects.toMatchObject({ code: 'kms_error' });
    expect(kms.commandCalls(DisableKeyCommand)[0].args[0].input).toEqual({ KeyId: OUR_ARN });
    expect(await store.listWorkspace('eu', WS)).toEqual([]);
  });
});

describe('customer-managed key', () => {
  it('validates the ARN shape and its AWS region before any KMS call', async () => {
    const { keyring } = keyringWith(kmsKeks());
    await keyring.createWorkspaceKeys(WS, 'eu');
    const calls = kms.calls().length;
    for (const bad of ['alias/mine', '1234abcd-12ab-34cd-56ef-1234567890ab', `${CUSTOMER_ARN}x`, 'arn:aws:kms:eu-central-1:1234:key/abc']) {
      await expect(keyring.useCustomerKey(WS, 'eu', bad)).rejects.toMatchObject({ status: 400, code: 'invalid_key_arn' });
    }
    await expect(keyring.useCustomerKey(WS, 'eu', CUSTOMER_ARN.replace('eu-central-1', 'us-east-1'))).rejects.toMatchObject({
      code: 'key_arn_wrong_region',
    });
    expect(kms.calls().length).toBe(calls);
  });

  it.each(['AccessDeniedException', 'DisabledException', 'KMSInvalidStateException', 'NotFoundException'])(
    'a key WAct cannot use at set time (%s) is refused with a clear 400 and nothing changes',
    async (name) => {
      const { keyring, store } = keyringWith(kmsKeks());
      await keyring.createWorkspaceKeys(WS, 'eu');
      const before = await store.listWorkspace('eu', WS);
      kms.on(EncryptCommand, { KeyId: CUSTOMER_ARN }).rejects(kmsError(name));
      const err = await keyring.useCustomerKey(WS, 'eu', CUSTOMER_ARN).catch((e: unknown) => e);
      expect(errorResponse(err)).toMatchObject({ status: 400, body: { error: { code: 'customer_key_unusable' } } });
      expect((err as Error).message).toContain(name);
      expect(await store.listWorkspace('eu', WS)).toEqual(before);
      expect(kms.commandCalls(DisableKeyCommand)).toHaveLength(0);
    },
  );

  it('re-wraps every key under the customer key, destroys our own, and keeps data readable', async () => {
    const { keyring, store, fc } = keyringWith(kmsKeks());
    await keyring.createWorkspaceKeys(WS, 'eu');
    const blob = await fc.encrypt(WS, 'eu', { table: 'clicks', column: 'gclid_enc' }, 'gclid-1');
    const out = await keyring.useCustomerKey(WS, 'eu', CUSTOMER_ARN);
    expect(out.rewrapped).toBe(2);
    expect((await store.listWorkspace('eu', WS)).map((r) => [r.provider, r.kekId])).toEqual([
      ['kms-customer', CUSTOMER_ARN],
      ['kms-customer', CUSTOMER_ARN],
    ]);
    // Our per-workspace key wrapped these keys until now (backups hold that): it is destroyed.
    expect(kms.commandCalls(DisableKeyCommand).map((c) => c.args[0].input.KeyId)).toEqual([OUR_ARN]);
    const fresh = keyringWith(kmsKeks());
    for (const row of await store.listWorkspace('eu', WS)) await fresh.store.insert('eu', row);
    expect(await fresh.fc.decryptString(WS, 'eu', { table: 'clicks', column: 'gclid_enc' }, blob)).toBe('gclid-1');
    // A wipe never touches the customer's key: theirs to disable or delete.
    expect((await fresh.keyring.destroyWithReport(WS, 'eu')).kek).toEqual({ destroyed: [], customerManaged: [CUSTOMER_ARN] });
    expect(kms.commandCalls(DisableKeyCommand)).toHaveLength(1);
  });

  it.each(['AccessDeniedException', 'DisabledException', 'KMSInvalidStateException', 'NotFoundException'])(
    'when the customer cuts access (%s), reads and writes fail with customer_key_unavailable (503), never a 500; other workspaces work',
    async (name) => {
      const { keyring, store } = keyringWith(kmsKeks());
      await keyring.createWorkspaceKeys(WS, 'eu');
      await keyring.useCustomerKey(WS, 'eu', CUSTOMER_ARN);
      await keyring.createWorkspaceKeys(OTHER, 'eu');
      const other = await createFieldCrypto(keyring).encrypt(OTHER, 'eu', { table: 't', column: 'c' }, 'fine');
      const blob = await createFieldCrypto(keyring).encrypt(WS, 'eu', { table: 't', column: 'c' }, 'secret');

      kms.on(DecryptCommand, { KeyId: CUSTOMER_ARN }).rejects(kmsError(name));
      kms.on(EncryptCommand, { KeyId: CUSTOMER_ARN }).rejects(kmsError(name));
      const fresh = keyringWith(kmsKeks());
      for (const row of [...(await store.listWorkspace('eu', WS)), ...(await store.listWorkspace('eu', OTHER))]) {
        await fresh.store.insert('eu', row);
      }
      const err = await fresh.fc.decrypt(WS, 'eu', { table: 't', column: 'c' }, blob).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KeyUnavailableError);
      expect(errorResponse(err)).toEqual({
        status: 503,
        body: { error: { code: 'customer_key_unavailable', message: expect.stringContaining('customer-managed encryption key') } },
      });
      await expect(fresh.keyring.rotate(WS, 'eu')).rejects.toBeInstanceOf(KeyUnavailableError);
      expect(await fresh.fc.decryptString(OTHER, 'eu', { table: 't', column: 'c' }, other)).toBe('fine');
      // Re-enabled at their end: everything is back, nothing was lost.
      installKmsDouble();
      expect(await fresh.fc.decryptString(WS, 'eu', { table: 't', column: 'c' }, blob)).toBe('secret');
    },
  );
});

describe('per-workspace key file (development)', () => {
  const keks = () => createWorkspaceKeks({ managed: 'local', home });
  const ws = (n: number) => `0b7c8d9e-0000-4000-8000-${String(n).padStart(12, '0')}`;

  it('is created 0600 in the state folder, and the wipe deletes it: a copy of the wrapped rows no longer unwraps', async () => {
    const { keyring, store, fc } = keyringWith(keks());
    await keyring.createWorkspaceKeys(ws(1), 'eu');
    const file = workspaceKekPath(home, 'eu', ws(1));
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const blob = await fc.encrypt(ws(1), 'eu', { table: 't', column: 'c' }, 'x');
    const backup = await store.listWorkspace('eu', ws(1));
    expect(backup.every((r) => r.provider === 'local-ws')).toBe(true);

    await keyring.destroy(ws(1), 'eu');
    expect(fs.existsSync(file)).toBe(false);
    const restored = keyringWith(keks());
    for (const row of backup) await restored.store.insert('eu', row);
    await expect(restored.fc.decrypt(ws(1), 'eu', { table: 't', column: 'c' }, blob)).rejects.toMatchObject({ code: 'key_destroyed' });
  });

  it('a key file swapped for another one is refused (fingerprint), not used', async () => {
    const { keyring, store } = keyringWith(keks());
    await keyring.createWorkspaceKeys(ws(2), 'eu');
    await keyring.createWorkspaceKeys(ws(3), 'eu');
    fs.copyFileSync(workspaceKekPath(home, 'eu', ws(3)), workspaceKekPath(home, 'eu', ws(2)));
    const fresh = keyringWith(keks());
    for (const row of await store.listWorkspace('eu', ws(2))) await fresh.store.insert('eu', row);
    await expect(fresh.keyring.currentKey(ws(2), 'eu', 'dek')).rejects.toMatchObject({ code: 'kek_mismatch' });
  });

  it('an older workspace wrapped by the regional KEK keeps working and is moved onto its own key by protect', async () => {
    const { keyring, store, fc } = keyringWith(keks());
    // Made the old way: no workspace keks.
    const old = createKeyring({ providerFor: () => createLocalKeyProvider({ home, region: 'eu' }), store, ttlMs: 60_000 });
    await old.createWorkspaceKeys(ws(4), 'eu');
    const blob = await createFieldCrypto(old).encrypt(ws(4), 'eu', { table: 't', column: 'c' }, 'legacy');
    expect(await fc.decryptString(ws(4), 'eu', { table: 't', column: 'c' }, blob)).toBe('legacy');
    expect((await store.listWorkspace('eu', ws(4))).every((r) => r.provider === 'local')).toBe(true);

    const out = await keyring.protect(ws(4), 'eu');
    expect(out).toMatchObject({ rewrapped: 2, kek: { provider: 'local-ws' } });
    expect((await store.listWorkspace('eu', ws(4))).every((r) => r.provider === 'local-ws')).toBe(true);
    expect(
      await keyringWith(keks())
        .keyring.protect(ws(4), 'eu')
        .catch(() => 'no rows here'),
    ).toBe('no rows here');
    expect((await keyring.protect(ws(4), 'eu')).rewrapped).toBe(0); // idempotent
    expect(await fc.decryptString(ws(4), 'eu', { table: 't', column: 'c' }, blob)).toBe('legacy');
    // Rotation after protect wraps new versions under the workspace's own key.
    await keyring.rotate(ws(4), 'eu');
    expect((await store.listWorkspace('eu', ws(4))).filter((r) => r.version === 2).every((r) => r.provider === 'local-ws')).toBe(true);
  });
});
