import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import type { Region } from '../config/config-schema.ts';
import { CryptoError } from '../errors/errors.ts';
import type { Keyring, VersionedKey } from './keyring-types.ts';

/**
 * Column-level encryption with a workspace's data-encryption key.
 *
 * Blob: [1 format=0x01][4 key version, BE][12 IV][16 GCM tag][ciphertext]
 * AAD:  JSON ["wact.field.v1", workspaceId, table, column]
 *
 * The AAD binds a ciphertext to where it belongs: copied to another column,
 * table or workspace it no longer authenticates. (Row binding, if a column
 * needs it, goes in `column`/`table` by the caller; most columns do not.)
 * The key version is not in the AAD: it selects the key, and any other key
 * fails authentication anyway.
 */
export interface FieldContext {
  workspaceId: string;
  table: string;
  column: string;
}

const FORMAT = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const IV_AT = 5;
const TAG_AT = IV_AT + IV_BYTES;
const HEADER_BYTES = TAG_AT + TAG_BYTES; // 33
const KEY_BYTES = 32;
const MAX_KEY_VERSION = 0xffffffff;

// The AAD is built once per context: by object identity first (callers that keep
// their context objects pay one WeakMap lookup), else by value in a bounded map.
const aadByObject = new WeakMap<FieldContext, Buffer>();
const aadByValue = new Map<string, Buffer>();
const internedContexts = new Map<string, FieldContext>();
const BY_VALUE_LIMIT = 10_000;

function contextId(workspaceId: string, table: string, column: string): string {
  if (typeof workspaceId !== 'string' || !workspaceId || typeof table !== 'string' || !table || typeof column !== 'string' || !column) {
    throw new CryptoError('invalid_field_context', 'field context needs a workspace, a table and a column');
  }
  return `${workspaceId}\0${table}\0${column}`;
}

function aadFor(ctx: FieldContext): Buffer {
  let aad = aadByObject.get(ctx);
  if (aad) return aad;
  const { workspaceId, table, column } = ctx;
  const id = contextId(workspaceId, table, column);
  aad = aadByValue.get(id);
  if (!aad) {
    aad = Buffer.from(JSON.stringify(['wact.field.v1', workspaceId, table, column]), 'utf8');
    if (aadByValue.size >= BY_VALUE_LIMIT) aadByValue.clear();
    aadByValue.set(id, aad);
  }
  aadByObject.set(ctx, aad);
  return aad;
}

/**
 * A shared, frozen context object for these values, so repeated calls hit the
 * identity cache instead of rebuilding the AAD key.
 */
export function fieldContext(workspaceId: string, table: string, column: string): FieldContext {
  const id = contextId(workspaceId, table, column);
  let ctx = internedContexts.get(id);
  if (!ctx) {
    ctx = Object.freeze({ workspaceId, table, column });
    if (internedContexts.size >= BY_VALUE_LIMIT) internedContexts.clear();
    internedContexts.set(id, ctx);
  }
  return ctx;
}

function checkKey(key: Buffer): void {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) throw new CryptoError('invalid_key', 'field key must be 32 bytes');
}

/** Encrypts one value. Strings are taken as UTF-8. */
export function encryptField(key: VersionedKey, ctx: FieldContext, plaintext: string | Buffer): Buffer {
  checkKey(key.key);
  const version = key.version;
  if (!Number.isInteger(version) || version < 1 || version > MAX_KEY_VERSION) {
    throw new CryptoError('invalid_key', 'key version out of range');
  }
  const aad = aadFor(ctx);
  const length = typeof plaintext === 'string' ? Buffer.byteLength(plaintext, 'utf8') : plaintext.length;
  // One allocation for the whole blob; the IV is drawn straight into it.
  const out = Buffer.allocUnsafe(HEADER_BYTES + length);
  out[0] = FORMAT;
  out.writeUInt32BE(version, 1);
  const iv = out.subarray(IV_AT, TAG_AT);
  randomFillSync(iv);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ct = typeof plaintext === 'string' ? cipher.update(plaintext, 'utf8') : cipher.update(plaintext);
  ct.copy(out, HEADER_BYTES);
  const tail = cipher.final(); // empty for GCM, checked rather than assumed
  if (tail.length !== 0) tail.copy(out, HEADER_BYTES + ct.length);
  cipher.getAuthTag().copy(out, TAG_AT);
  return out;
}

/** The key version a blob was written with (to fetch that key before decrypting). */
export function readKeyVersion(blob: Buffer): number {
  if (!Buffer.isBuffer(blob) || blob.length < HEADER_BYTES || blob[0] !== FORMAT) {
    throw new CryptoError('malformed_ciphertext', 'encrypted field is malformed or of an unknown format');
  }
  return blob.readUInt32BE(1);
}

/** Decrypts one value; any tampering, truncation, wrong key or wrong context → CryptoError. */
export function decryptField(keyForVersion: (version: number) => Buffer, ctx: FieldContext, blob: Buffer): Buffer {
  const version = readKeyVersion(blob);
  const key = keyForVersion(version);
  checkKey(key);
  const aad = aadFor(ctx);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, blob.subarray(IV_AT, TAG_AT), { authTagLength: TAG_BYTES });
    decipher.setAuthTag(blob.subarray(TAG_AT, HEADER_BYTES));
    decipher.setAAD(aad);
    const pt = decipher.update(blob.subarray(HEADER_BYTES));
    const tail = decipher.final();
    return tail.length === 0 ? pt : Buffer.concat([pt, tail]);
  } catch {
    throw new CryptoError('decrypt_failed', 'encrypted field could not be decrypted (wrong key, wrong context or tampered data)');
  }
}

export interface FieldCrypto {
  encrypt(workspaceId: string, region: Region, ctx: Omit<FieldContext, 'workspaceId'>, plaintext: string | Buffer): Promise<Buffer>;
  decrypt(workspaceId: string, region: Region, ctx: Omit<FieldContext, 'workspaceId'>, blob: Buffer): Promise<Buffer>;
  decryptString(workspaceId: string, region: Region, ctx: Omit<FieldContext, 'workspaceId'>, blob: Buffer): Promise<string>;
}

/** Field encryption with keys from the keyring (current key to write, the blob's version to read). */
export function createFieldCrypto(keyring: Pick<Keyring, 'currentKey' | 'keyVersion'>): FieldCrypto {
  async function decrypt(workspaceId: string, region: Region, ctx: Omit<FieldContext, 'workspaceId'>, blob: Buffer): Promise<Buffer> {
    const version = readKeyVersion(blob);
    const key = await keyring.keyVersion(workspaceId, region, 'dek', version);
    return decryptField(() => key, fieldContext(workspaceId, ctx.table, ctx.column), blob);
  }
  return {
    async encrypt(workspaceId, region, ctx, plaintext) {
      const key = await keyring.currentKey(workspaceId, region, 'dek');
      return encryptField(key, fieldContext(workspaceId, ctx.table, ctx.column), plaintext);
    },
    decrypt,
    async decryptString(workspaceId, region, ctx, blob) {
      return (await decrypt(workspaceId, region, ctx, blob)).toString('utf8');
    },
  };
}
