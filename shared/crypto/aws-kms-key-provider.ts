import { DecryptCommand, EncryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { CryptoError } from '../errors/errors.ts';
import { DATA_KEY_BYTES, encryptionContext, type KeyContext, type KeyProvider } from './key-provider-types.ts';

/** KMS error names that mean "this key cannot be used now" (state or permission), not "this blob is bad". */
export const KEY_UNUSABLE_ERRORS = new Set([
  'AccessDeniedException',
  'DisabledException',
  'KMSInvalidStateException',
  'NotFoundException',
  'KeyUnavailableException',
]);

/** The SDK error's name when it is a plain identifier; KMS messages are not ours to vouch for. */
export function kmsErrorName(err: unknown): string {
  return err instanceof Error && /^[A-Za-z]+$/.test(err.name) ? err.name : 'Error';
}

/**
 * Production key provider: the KEK never leaves AWS KMS. Every call carries the
 * same EncryptionContext { workspace, purpose, region }, which KMS binds to the
 * ciphertext, so a wrapped key only unwraps for the workspace/purpose/region it
 * was made for (and each unwrap is attributable in CloudTrail).
 */
export interface AwsKmsKeyProviderOptions {
  /** Key id or ARN of the region's symmetric KMS key. */
  keyId: string;
  /** One client per AWS region; injected so tests can mock it. */
  client: Pick<KMSClient, 'send'>;
  /** Stored in workspace_keys.provider; 'aws-kms' for the regional KEK. */
  name?: KeyProvider['name'];
  /** Turns a failed call into the error to throw (default: CryptoError kms_error). */
  onError?: (operation: string, errorName: string) => Error;
}

export function createAwsKmsKeyProvider(opts: AwsKmsKeyProviderOptions): KeyProvider {
  const { keyId, client } = opts;
  const onError = opts.onError ?? ((operation: string, name: string) => new CryptoError('kms_error', `KMS ${operation} failed: ${name}`));

  // KMS error messages are not ours to vouch for; surface only the error name.
  async function call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw onError(operation, kmsErrorName(err));
    }
  }

  return {
    name: opts.name ?? 'aws-kms',

    async generateDataKey(ctx: KeyContext) {
      const out = await call('GenerateDataKey', () =>
        client.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: encryptionContext(ctx) })),
      );
      if (!out.Plaintext || out.Plaintext.length !== DATA_KEY_BYTES || !out.CiphertextBlob?.length) {
        throw new CryptoError('kms_error', 'KMS GenerateDataKey returned an unexpected response');
      }
      return { plaintext: takeBytes(out.Plaintext), wrapped: Buffer.from(out.CiphertextBlob), kekId: out.KeyId ?? keyId };
    },

    async wrap(plaintext: Buffer, ctx: KeyContext) {
      const out = await call('Encrypt', () =>
        client.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext, EncryptionContext: encryptionContext(ctx) })),
      );
      if (!out.CiphertextBlob?.length) throw new CryptoError('kms_error', 'KMS Encrypt returned an unexpected response');
      return { wrapped: Buffer.from(out.CiphertextBlob), kekId: out.KeyId ?? keyId };
    },

    async unwrap(wrapped: Buffer, ctx: KeyContext) {
      if (!Buffer.isBuffer(wrapped) || wrapped.length === 0) {
        throw new CryptoError('malformed_wrapped_key', 'wrapped key is empty');
      }
      // KeyId pins the KEK: a blob made under another key is refused rather than
      // silently decrypted with whatever key it names.
      const out = await call('Decrypt', () =>
        client.send(new DecryptCommand({ KeyId: keyId, CiphertextBlob: wrapped, EncryptionContext: encryptionContext(ctx) })),
      );
      if (!out.Plaintext?.length) throw new CryptoError('kms_error', 'KMS Decrypt returned an unexpected response');
      return takeBytes(out.Plaintext);
    },
  };
}

/** Copy key bytes out of the SDK's response buffer and wipe the original view. */
function takeBytes(bytes: Uint8Array): Buffer {
  const copy = Buffer.from(bytes);
  bytes.fill(0);
  return copy;
}
