import type { Region } from '../../shared/config/config.ts';
import type { KeyProvider } from '../../shared/crypto/key-provider-types.ts';
import { decryptField, encryptField, fieldContext } from '../../shared/crypto/field-cipher.ts';

/**
 * TOTP secrets are platform data (control database, no workspace), so they
 * cannot use a workspace key. Each user's secret is sealed under its own
 * 256-bit data key (AES-256-GCM via the foundation's field cipher, AAD =
 * user id + table + column) and that key is stored wrapped by the platform
 * KEK: the KeyProvider of IDENTITY_KEY_REGION (a local key file in
 * development, AWS KMS in production) with the context
 * { workspace: "platform:user:<id>", purpose: "totp", region }. A wrapped
 * key or ciphertext copied to another user does not open.
 */
export function createTotpSecretBox(deps: { provider: KeyProvider; region: Region }) {
  const ctxFor = (userId: string) => ({ workspaceId: `platform:user:${userId}`, purpose: 'totp', region: deps.region });
  const fieldCtx = (userId: string) => fieldContext(userId, 'totp_credentials', 'secret_ct');
  return {
    async seal(userId: string, secret: string): Promise<{ secretCt: Buffer; wrappedKey: Buffer; kekId: string }> {
      const { plaintext, wrapped, kekId } = await deps.provider.generateDataKey(ctxFor(userId));
      try {
        return { secretCt: encryptField({ version: 1, key: plaintext }, fieldCtx(userId), secret), wrappedKey: wrapped, kekId };
      } finally {
        plaintext.fill(0);
      }
    },
    async open(userId: string, sealed: { secretCt: Buffer; wrappedKey: Buffer }): Promise<string> {
      const key = await deps.provider.unwrap(sealed.wrappedKey, ctxFor(userId));
      try {
        return decryptField(() => key, fieldCtx(userId), sealed.secretCt).toString('utf8');
      } finally {
        key.fill(0);
      }
    },
  };
}

export type TotpSecretBox = ReturnType<typeof createTotpSecretBox>;
