import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { UnauthorizedError } from '../../shared/errors/errors.ts';

/** Constant-time equality of two byte strings (a length difference is not secret). */
export function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}

/** Constant-time comparison of strings of possibly different lengths (hash both first). */
export function safeEqualText(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

export function hmac(algorithm: 'sha1' | 'sha256', key: string, data: Buffer | string): Buffer {
  return createHmac(algorithm, key).update(data).digest();
}

const HEX = /^[0-9a-fA-F]+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Decodes hex; undefined when it is not hex of the given byte length. */
export function decodeHex(value: string | undefined, bytes: number): Buffer | undefined {
  if (typeof value !== 'string' || value.length !== bytes * 2 || !HEX.test(value)) return undefined;
  return Buffer.from(value, 'hex');
}

/** Decodes standard base64; undefined when it is not base64 of the given byte length. */
export function decodeBase64(value: string | undefined, bytes: number): Buffer | undefined {
  if (typeof value !== 'string' || !BASE64.test(value.trim())) return undefined;
  const buf = Buffer.from(value.trim(), 'base64');
  return buf.length === bytes ? buf : undefined;
}

export function refuse(message = 'webhook signature is missing or invalid'): never {
  throw new UnauthorizedError(message, 'invalid_signature');
}
