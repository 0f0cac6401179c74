import { createHmac } from 'node:crypto';
import type { CountryCode } from 'libphonenumber-js';
// The /max metadata carries the full per-country number patterns: without it
// "valid" would only mean "plausible length".
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { BadRequestError } from '../errors/errors.ts';
import { CryptoError } from '../errors/errors.ts';

/** The message is fixed: it never echoes the number it refused. */
export class InvalidPhoneError extends BadRequestError {
  constructor() {
    super('invalid phone number', 'invalid_phone');
  }
}

export interface NormaliseOptions {
  /** Region for numbers written without an international prefix, e.g. '07700 900123' with 'GB'. */
  defaultRegion?: CountryCode;
}

const MAX_INPUT = 64; // longer is not a phone number; refuse before parsing
const SEPARATORS = /[\s\-().\u00a0\u2010-\u2015]/g;
const SCHEME = /^(?:whatsapp|tel):/i;
const SHAPE = /^(\+|00)?(\d{4,17})$/;
const E164 = /^\+[1-9]\d{6,14}$/;

/**
 * Ranges reserved for fiction that libphonenumber (rightly) calls unallocated,
 * accepted so demo data and tests can use numbers that reach nobody:
 * Ofcom's drama range for UK mobiles, 07700 900000–900999. (The US 555-01xx
 * range is already valid in the metadata.)
 */
const FICTIONAL = /^\+447700900\d{3}$/;

/**
 * Mexico dropped the mobile '1' after +52 in 2019, but WhatsApp still sends
 * many Mexican wa_ids as 521 + 10 digits: map them to the valid +52 form so
 * one person has one hash.
 */
const MEXICO_LEGACY_MOBILE = /^\+521(\d{10})$/;

/**
 * Returns the E.164 form ('+447700900123') of a phone number as people and
 * WhatsApp write it: 'whatsapp:+44…', '+44 7700 900123', '447700900123',
 * '0044 7700 900123', '(202) 555-0123' with defaultRegion 'US'.
 * Bare digits are taken as international when that is a valid number, else as
 * national in defaultRegion. Anything else → InvalidPhoneError.
 */
export function normalisePhone(raw: string, opts: NormaliseOptions = {}): string {
  if (typeof raw !== 'string' || raw.length > MAX_INPUT) throw new InvalidPhoneError();
  const compact = raw.trim().replace(SCHEME, '').replace(SEPARATORS, '');
  const shape = SHAPE.exec(compact);
  if (!shape) throw new InvalidPhoneError();
  const [, prefix, digits] = shape;

  if (prefix) return validE164(`+${digits}`) ?? fail();
  return validE164(`+${digits}`) ?? (opts.defaultRegion ? validNational(digits, opts.defaultRegion) : undefined) ?? fail();
}

function validE164(text: string): string | undefined {
  if (FICTIONAL.test(text)) return text;
  const parsed = parsePhoneNumberFromString(text);
  if (parsed?.isValid()) return parsed.number;
  const mexico = MEXICO_LEGACY_MOBILE.exec(text);
  if (mexico) {
    const modern = parsePhoneNumberFromString(`+52${mexico[1]}`);
    if (modern?.isValid()) return modern.number;
  }
  return undefined;
}

function validNational(digits: string, region: CountryCode): string | undefined {
  const parsed = parsePhoneNumberFromString(digits, region);
  if (!parsed) return undefined;
  if (parsed.isValid() || FICTIONAL.test(parsed.number)) return parsed.number;
  return undefined;
}

function fail(): never {
  throw new InvalidPhoneError();
}

function checkHmacKey(hmacKey: Buffer): void {
  if (!Buffer.isBuffer(hmacKey) || hmacKey.length < 32) throw new CryptoError('invalid_key', 'hashing key must be at least 32 bytes');
}

/**
 * Keyed hash of an already-normalised number (lowercase hex HMAC-SHA-256).
 * The key is the workspace's 'hmac' key, so one number in two workspaces gives
 * unrelated hashes. Refuses non-E.164 input: hashing '07700…' and '+447700…'
 * to different values would silently split one person in two.
 */
export function hashPhone(hmacKey: Buffer, e164: string): string {
  checkHmacKey(hmacKey);
  if (typeof e164 !== 'string' || !E164.test(e164)) throw new InvalidPhoneError();
  return createHmac('sha256', hmacKey).update(e164, 'utf8').digest('hex');
}

const KIND = /^[a-z][a-z0-9_.-]{0,39}$/;

/**
 * Keyed hash of another identifier (a message id, a business-scoped user id…).
 * Input is "wact.id.v1" NUL kind NUL value: the kind cannot contain NUL, so two
 * kinds never share an input, and no E.164 number (starting '+') collides either.
 */
export function hashIdentifier(hmacKey: Buffer, kind: string, value: string): string {
  checkHmacKey(hmacKey);
  if (typeof kind !== 'string' || !KIND.test(kind))
    throw new CryptoError('invalid_identifier_kind', 'identifier kind must be a short lowercase name');
  if (typeof value !== 'string' || value.length === 0) throw new BadRequestError('identifier is empty', 'invalid_identifier');
  return createHmac('sha256', hmacKey).update(`wact.id.v1\0${kind}\0`, 'utf8').update(value, 'utf8').digest('hex');
}
