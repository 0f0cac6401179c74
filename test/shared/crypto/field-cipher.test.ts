import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createFieldCrypto,
  decryptField,
  encryptField,
  fieldContext,
  readKeyVersion,
  type FieldContext,
} from '../../../shared/crypto/field-cipher.ts';
import { createKeyring } from '../../../shared/crypto/keyring-service.ts';
import { createLocalKeyProvider } from '../../../shared/crypto/local-key-provider.ts';
import { CryptoError } from '../../../shared/errors/errors.ts';
import { createMemoryKeyStore } from './memory-key-store.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const HEADER = 33;
const keys = new Map<number, Buffer>([
  [1, randomBytes(32)],
  [2, randomBytes(32)],
]);
const keyFor = (v: number) => {
  const k = keys.get(v);
  if (!k) throw new CryptoError('key_version_not_found', 'no such version');
  return k;
};
const ctxArb = fc.record({
  workspaceId: fc.uuid(),
  table: fc.constantFrom('contacts', 'clicks', 'messages'),
  column: fc.constantFrom('click_id', 'phone_enc', 'body'),
});
const plaintextArb = fc.oneof(
  fc.string({ maxLength: 200, unit: 'grapheme' }),
  fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)),
);
const asBuffer = (p: string | Buffer) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p);

function expectCryptoError(run: () => unknown) {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(CryptoError);
    return err as CryptoError;
  }
  throw new Error('expected a CryptoError');
}

describe('field cipher', () => {
  it('round-trips any plaintext under any context and key version', () => {
    fc.assert(
      fc.property(ctxArb, plaintextArb, fc.constantFrom(1, 2), (ctx, pt, version) => {
        const blob = encryptField({ version, key: keyFor(version) }, ctx, pt);
        expect(blob.length).toBe(HEADER + asBuffer(pt).length);
        expect(blob[0]).toBe(1);
        expect(readKeyVersion(blob)).toBe(version);
        expect(decryptField(keyFor, { ...ctx }, blob).equals(asBuffer(pt))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('uses a fresh IV every time', () => {
    const ctx = { workspaceId: 'w', table: 't', column: 'c' };
    const a = encryptField({ version: 1, key: keyFor(1) }, ctx, 'same');
    const b = encryptField({ version: 1, key: keyFor(1) }, ctx, 'same');
    expect(a.subarray(5, 17).equals(b.subarray(5, 17))).toBe(false);
    expect(a.equals(b)).toBe(false);
  });

  it('lays out version, IV, tag and ciphertext as documented', () => {
    const blob = encryptField({ version: 0x01020304, key: keyFor(1) }, { workspaceId: 'w', table: 't', column: 'c' }, 'abc');
    expect([...blob.subarray(0, 5)]).toEqual([1, 1, 2, 3, 4]);
    expect(blob.length).toBe(1 + 4 + 12 + 16 + 3);
  });

  it('fails closed when any single byte is flipped', () => {
    fc.assert(
      fc.property(ctxArb, plaintextArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (ctx, pt, at, mask) => {
        const blob = encryptField({ version: 1, key: keyFor(1) }, ctx, pt);
        const i = at % blob.length;
        const tampered = Buffer.from(blob);
        tampered[i] ^= mask;
        expectCryptoError(() => decryptField(keyFor, ctx, tampered));
      }),
      { numRuns: 500 },
    );
  });

  it('fails closed when truncated at any length', () => {
    fc.assert(
      fc.property(ctxArb, plaintextArb, fc.nat(), (ctx, pt, cut) => {
        const blob = encryptField({ version: 1, key: keyFor(1) }, ctx, pt);
        const truncated = blob.subarray(0, cut % blob.length);
        expectCryptoError(() => decryptField(keyFor, ctx, truncated));
      }),
      { numRuns: 500 },
    );
  });

  it('fails closed when moved to another workspace, table or column', () => {
    fc.assert(
      fc.property(ctxArb, ctxArb, plaintextArb, (from, to, pt) => {
        fc.pre(from.workspaceId !== to.workspaceId || from.table !== to.table || from.column !== to.column);
        const blob = encryptField({ version: 1, key: keyFor(1) }, from, pt);
        const err = expectCryptoError(() => decryptField(keyFor, to, blob));
        expect(err.code).toBe('decrypt_failed');
      }),
      { numRuns: 300 },
    );
  });

  it('does not confuse contexts whose parts concatenate alike', () => {
    const blob = encryptField({ version: 1, key: keyFor(1) }, { workspaceId: 'w', table: 'ab', column: 'c' }, 'x');
    expectCryptoError(() => decryptField(keyFor, { workspaceId: 'w', table: 'a', column: 'bc' }, blob));
  });

  it('fails closed with the wrong key or a relabelled key version', () => {
    fc.assert(
      fc.property(ctxArb, plaintextArb, (ctx, pt) => {
        const blob = encryptField({ version: 1, key: keyFor(1) }, ctx, pt);
        expectCryptoError(() => decryptField(() => keyFor(2), ctx, blob));
        const relabelled = Buffer.from(blob);
        relabelled.writeUInt32BE(2, 1);
        expectCryptoError(() => decryptField(keyFor, ctx, relabelled));
        const unknown = Buffer.from(blob);
        unknown.writeUInt32BE(99, 1);
        expect(expectCryptoError(() => decryptField(keyFor, ctx, unknown)).code).toBe('key_version_not_found');
      }),
      { numRuns: 100 },
    );
  });

  it('refuses bad keys, versions and contexts without echoing the plaintext', () => {
    const ctx = { workspaceId: 'w', table: 't', column: 'c' };
    expectCryptoError(() => encryptField({ version: 1, key: randomBytes(16) }, ctx, 'secret-value'));
    expectCryptoError(() => encryptField({ version: 0, key: keyFor(1) }, ctx, 'secret-value'));
    const err = expectCryptoError(() => encryptField({ version: 1, key: keyFor(1) }, { ...ctx, column: '' }, 'secret-value'));
    expect(err.message).not.toContain('secret-value');
  });

  it('interns contexts so the AAD is built once', () => {
    expect(fieldContext('w', 't', 'c')).toBe(fieldContext('w', 't', 'c'));
    expect(Object.isFrozen(fieldContext('w', 't', 'c'))).toBe(true);
  });

  it('encrypts with the current key and decrypts old rows after rotation (via the keyring)', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-fc-'));
    const provider = createLocalKeyProvider({ home, region: 'eu' });
    const keyring = createKeyring({ providerFor: () => provider, store: createMemoryKeyStore(), ttlMs: 60_000 });
    const fields = createFieldCrypto(keyring);
    const ws = '7d1f4c2a-0000-4000-8000-000000000001';
    await keyring.createWorkspaceKeys(ws, 'eu');
    const col: Omit<FieldContext, 'workspaceId'> = { table: 'clicks', column: 'click_id' };
    const old = await fields.encrypt(ws, 'eu', col, 'IwAR-old-click');
    expect(readKeyVersion(old)).toBe(1);
    await keyring.rotate(ws, 'eu');
    const fresh = await fields.encrypt(ws, 'eu', col, 'IwAR-new-click');
    expect(readKeyVersion(fresh)).toBe(2);
    expect(await fields.decryptString(ws, 'eu', col, old)).toBe('IwAR-old-click');
    expect(await fields.decryptString(ws, 'eu', col, fresh)).toBe('IwAR-new-click');
    await expect(fields.decrypt('7d1f4c2a-0000-4000-8000-000000000002', 'eu', col, old)).rejects.toBeInstanceOf(CryptoError);
    fs.rmSync(home, { recursive: true, force: true });
  });
});
