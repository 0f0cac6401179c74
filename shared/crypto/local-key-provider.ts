import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Region } from '../config/config-schema.ts';
import { CryptoError } from '../errors/errors.ts';
import { canonicalContext, DATA_KEY_BYTES, type KeyContext, type KeyProvider } from './key-provider-types.ts';

/**
 * Development key provider: one 256-bit key-encryption key per region in a file
 * under the state folder. Production refuses it (see loadConfig).
 *
 * Key file:  "wact-kek v1 aes-256-gcm\n" + base64(32 bytes) + "\n"
 * Wrapped:   [0x01 format][12 IV][16 GCM tag][ciphertext]
 * AAD:       "wact.kek-wrap.v1" + NUL + canonical JSON of the KeyContext
 */

const FILE_HEADER = 'wact-kek v1 aes-256-gcm';
const WRAP_FORMAT = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + IV_BYTES + TAG_BYTES;
const AAD_PREFIX = 'wact.kek-wrap.v1\0';

export interface LocalKeyProviderOptions {
  /** The state folder; the KEK lives in <home>/keys/kek-<region>.key */
  home: string;
  region: Region;
}

export function kekPath(home: string, region: Region): string {
  return path.join(home, 'keys', `kek-${region}.key`);
}

export function createLocalKeyProvider(opts: LocalKeyProviderOptions): KeyProvider {
  const file = kekPath(opts.home, opts.region);
  let kekPromise: Promise<{ kek: Buffer; kekId: string }> | undefined;

  // Loaded on first use and kept; a failed load is not cached so a fixed file is picked up.
  function kek(): Promise<{ kek: Buffer; kekId: string }> {
    kekPromise ??= loadOrCreateKek(file).then(
      (key) => ({ kek: key, kekId: `local:${opts.region}:${fingerprint(key)}` }),
      (err) => {
        kekPromise = undefined;
        throw err;
      },
    );
    return kekPromise;
  }

  function checkContext(ctx: KeyContext): void {
    if (!ctx || typeof ctx.workspaceId !== 'string' || !ctx.workspaceId || typeof ctx.purpose !== 'string' || !ctx.purpose) {
      throw new CryptoError('invalid_key_context', 'key context needs a workspace and a purpose');
    }
    // One provider per region: a key of the other region must never be handled here.
    if (ctx.region !== opts.region) {
      throw new CryptoError('region_mismatch', `key context region does not match the ${opts.region} key provider`);
    }
  }

  async function wrap(plaintext: Buffer, ctx: KeyContext): Promise<{ wrapped: Buffer; kekId: string }> {
    checkContext(ctx);
    const { kek: key, kekId } = await kek();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(aad(ctx));
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const wrapped = Buffer.concat([Buffer.from([WRAP_FORMAT]), iv, cipher.getAuthTag(), ct]);
    return { wrapped, kekId };
  }

  async function unwrap(wrapped: Buffer, ctx: KeyContext): Promise<Buffer> {
    checkContext(ctx);
    if (!Buffer.isBuffer(wrapped) || wrapped.length <= HEADER_BYTES || wrapped[0] !== WRAP_FORMAT) {
      throw new CryptoError('malformed_wrapped_key', 'wrapped key is malformed or of an unknown format');
    }
    const { kek: key } = await kek();
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, wrapped.subarray(1, 1 + IV_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAuthTag(wrapped.subarray(1 + IV_BYTES, HEADER_BYTES));
      decipher.setAAD(aad(ctx));
      return Buffer.concat([decipher.update(wrapped.subarray(HEADER_BYTES)), decipher.final()]);
    } catch {
      // Wrong KEK, wrong context and tampering are indistinguishable by design.
      throw new CryptoError('unwrap_failed', 'wrapped key could not be unwrapped (wrong key, context or tampered data)');
    }
  }

  return {
    name: 'local',
    async generateDataKey(ctx) {
      checkContext(ctx);
      const plaintext = randomBytes(DATA_KEY_BYTES);
      const { wrapped, kekId } = await wrap(plaintext, ctx);
      return { plaintext, wrapped, kekId };
    },
    wrap,
    unwrap,
  };
}

/** AES-256-GCM wrap under `kek` with the context as AAD (the format above). */
export function wrapWithKek(kek: Buffer, plaintext: Buffer, ctx: KeyContext): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek, iv);
  cipher.setAAD(aad(ctx));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([WRAP_FORMAT]), iv, cipher.getAuthTag(), ct]);
}

/** The inverse of wrapWithKek; CryptoError on a wrong key, context or any change. */
export function unwrapWithKek(kek: Buffer, wrapped: Buffer, ctx: KeyContext): Buffer {
  if (!Buffer.isBuffer(wrapped) || wrapped.length <= HEADER_BYTES || wrapped[0] !== WRAP_FORMAT) {
    throw new CryptoError('malformed_wrapped_key', 'wrapped key is malformed or of an unknown format');
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', kek, wrapped.subarray(1, 1 + IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAuthTag(wrapped.subarray(1 + IV_BYTES, HEADER_BYTES));
    decipher.setAAD(aad(ctx));
    return Buffer.concat([decipher.update(wrapped.subarray(HEADER_BYTES)), decipher.final()]);
  } catch {
    throw new CryptoError('unwrap_failed', 'wrapped key could not be unwrapped (wrong key, context or tampered data)');
  }
}

function aad(ctx: KeyContext): Buffer {
  return Buffer.from(AAD_PREFIX + canonicalContext(ctx), 'utf8');
}

/** A key check value: identifies the KEK in kek_id without revealing anything usable. */
export function fingerprint(key: Buffer): string {
  return createHmac('sha256', key).update('wact.kek-id.v1').digest('hex').slice(0, 16);
}

async function loadOrCreateKek(file: string): Promise<Buffer> {
  const existing = await readKekFile(file);
  if (existing) return existing;
  return createKeyFile(file, FILE_HEADER);
}

/**
 * Writes a new random 256-bit key file (mode 0600, folder 0700) and returns the
 * key that ended up in it: if another process created it first, theirs.
 */
export async function createKeyFile(file: string, header: string): Promise<Buffer> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode only applies to a folder it creates; tighten one that already existed.
  await fs.chmod(dir, 0o700).catch(() => {});
  const key = randomBytes(DATA_KEY_BYTES);
  // Write a private temp file, fsync, then link() into place: link fails if another
  // process got there first, so two processes starting together agree on one KEK.
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  const handle = await fs.open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(`${header}\n${key.toString('base64')}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
      throw new CryptoError('kek_file_unwritable', 'could not write the key-encryption key file');
  } finally {
    await fs.unlink(tmp).catch(() => {});
  }
  const stored = await readKekFile(file, header);
  if (!stored) throw new CryptoError('kek_file_unreadable', 'key-encryption key file vanished after creation');
  return stored;
}

/** undefined when the file does not exist; CryptoError when it exists but is not a KEK file. */
export async function readKekFile(file: string, header = FILE_HEADER): Promise<Buffer | undefined> {
  let text: string;
  try {
    const stat = await fs.stat(file);
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      throw new CryptoError('kek_file_permissions', 'key-encryption key file is readable by other users (expected mode 0600)');
    }
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof CryptoError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CryptoError('kek_file_unreadable', 'key-encryption key file could not be read');
  }
  const lines = text.split('\n');
  const body = lines[1] ?? '';
  const key = Buffer.from(body, 'base64');
  const canonical = lines.length === 3 && lines[2] === '' && key.toString('base64') === body;
  if (lines[0] !== header || !canonical || key.length !== DATA_KEY_BYTES) {
    throw new CryptoError('kek_file_malformed', 'key-encryption key file is malformed');
  }
  return key;
}
