import { randomBytes } from 'node:crypto';
import { DecryptCommand, EncryptCommand, GenerateDataKeyCommand, InvalidCiphertextException, KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createAwsKmsKeyProvider } from '../../../shared/crypto/aws-kms-key-provider.ts';
import type { KeyContext } from '../../../shared/crypto/key-provider-types.ts';
import { CryptoError } from '../../../shared/errors/errors.ts';

const KEY_ID = 'arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const ctx: KeyContext = { workspaceId: '5c0f7a7e-2f41-4c3a-9d55-0a1b2c3d4e5f', purpose: 'hmac', region: 'eu' };
const expectedContext = { workspace: ctx.workspaceId, purpose: 'hmac', region: 'eu' };

const kms = mockClient(KMSClient);
const provider = createAwsKmsKeyProvider({ keyId: KEY_ID, client: new KMSClient({ region: 'eu-central-1' }) });

beforeEach(() => kms.reset());

async function rejectsCrypto(p: Promise<unknown>): Promise<CryptoError> {
  const err = await p.then(
    () => {
      throw new Error('expected a CryptoError');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CryptoError);
  expect((err as CryptoError).code).toBe('kms_error');
  return err as CryptoError;
}

describe('AWS KMS key provider', () => {
  it('generates a 256-bit data key with the exact EncryptionContext', async () => {
    const plaintext = randomBytes(32);
    const blob = randomBytes(184);
    kms
      .on(GenerateDataKeyCommand)
      .resolves({ Plaintext: Uint8Array.from(plaintext), CiphertextBlob: Uint8Array.from(blob), KeyId: KEY_ID });
    const out = await provider.generateDataKey(ctx);
    expect(out.plaintext.equals(plaintext)).toBe(true);
    expect(out.wrapped.equals(blob)).toBe(true);
    expect(out.kekId).toBe(KEY_ID);
    const calls = kms.commandCalls(GenerateDataKeyCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0].args[0].input).toEqual({ KeyId: KEY_ID, KeySpec: 'AES_256', EncryptionContext: expectedContext });
  });

  it('wraps with Encrypt and unwraps with Decrypt under the same context, pinned to the key', async () => {
    const key = randomBytes(32);
    const blob = randomBytes(184);
    kms.on(EncryptCommand).resolves({ CiphertextBlob: Uint8Array.from(blob), KeyId: KEY_ID });
    kms.on(DecryptCommand).resolves({ Plaintext: Uint8Array.from(key), KeyId: KEY_ID });
    const { wrapped } = await provider.wrap(key, ctx);
    expect((await provider.unwrap(wrapped, ctx)).equals(key)).toBe(true);
    const enc = kms.commandCalls(EncryptCommand)[0].args[0].input;
    expect(enc.EncryptionContext).toEqual(expectedContext);
    expect(enc.KeyId).toBe(KEY_ID);
    expect(Buffer.from(enc.Plaintext!).equals(key)).toBe(true);
    const dec = kms.commandCalls(DecryptCommand)[0].args[0].input;
    expect(dec).toEqual({ KeyId: KEY_ID, CiphertextBlob: wrapped, EncryptionContext: expectedContext });
  });

  it('puts no secret in the EncryptionContext', async () => {
    kms.on(GenerateDataKeyCommand).resolves({ Plaintext: new Uint8Array(32).fill(7), CiphertextBlob: new Uint8Array(10).fill(1) });
    await provider.generateDataKey(ctx);
    expect(Object.keys(kms.commandCalls(GenerateDataKeyCommand)[0].args[0].input.EncryptionContext!).sort()).toEqual([
      'purpose',
      'region',
      'workspace',
    ]);
  });

  it('turns KMS errors into CryptoError without KMS text', async () => {
    kms.on(DecryptCommand).rejects(new InvalidCiphertextException({ message: 'context mismatch for +447700900123', $metadata: {} }));
    const err = await rejectsCrypto(provider.unwrap(randomBytes(100), ctx));
    expect(err.message).toBe('KMS Decrypt failed: InvalidCiphertextException');
    kms.on(GenerateDataKeyCommand).rejects(new Error('network down'));
    await rejectsCrypto(provider.generateDataKey(ctx));
    kms.on(EncryptCommand).rejects(new Error('AccessDenied'));
    await rejectsCrypto(provider.wrap(randomBytes(32), ctx));
  });

  it('refuses malformed KMS responses', async () => {
    kms.on(GenerateDataKeyCommand).resolves({ Plaintext: new Uint8Array(16), CiphertextBlob: new Uint8Array(10) });
    await rejectsCrypto(provider.generateDataKey(ctx));
    kms.on(DecryptCommand).resolves({});
    await rejectsCrypto(provider.unwrap(randomBytes(100), ctx));
    kms.on(EncryptCommand).resolves({});
    await rejectsCrypto(provider.wrap(randomBytes(32), ctx));
  });
});
