import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { CountryCode } from 'libphonenumber-js';
import { describe, expect, it } from 'vitest';
import { BadRequestError, CryptoError } from '../../../shared/errors/errors.ts';
import { hashIdentifier, hashPhone, InvalidPhoneError, normalisePhone } from '../../../shared/phone/phone.ts';

// Fictional or reserved numbers where a country has them (Ofcom drama range,
// NANP 555-01xx); elsewhere made-up numbers in valid mobile ranges.
const accepted: [string, CountryCode | undefined, string][] = [
  // United Kingdom
  ['+447700900123', undefined, '+447700900123'],
  ['whatsapp:+447700900123', undefined, '+447700900123'],
  ['WhatsApp:+44 7700 900456', undefined, '+447700900456'],
  ['+44 7700 900123', undefined, '+447700900123'],
  ['447700900123', undefined, '+447700900123'],
  ['0044 7700 900123', undefined, '+447700900123'],
  ['07700 900123', 'GB', '+447700900123'],
  ['+44 (0)20 7946 0958', undefined, '+442079460958'],
  ['  +44-7700-900999  ', undefined, '+447700900999'],
  // United States
  ['+1 202 555 0123', undefined, '+12025550123'],
  ['(202) 555-0147', 'US', '+12025550147'],
  ['12025550199', undefined, '+12025550199'],
  ['2025550100', 'US', '+12025550100'],
  ['tel:+1-202-555-0111', undefined, '+12025550111'],
  // India
  ['+91 98765 43210', undefined, '+919876543210'],
  ['098765 43210', 'IN', '+919876543210'],
  // Brazil
  ['+55 11 91234-5678', undefined, '+5511912345678'],
  ['5511912345678', undefined, '+5511912345678'],
  // Germany
  ['+49 1512 3456789', undefined, '+4915123456789'],
  ['01512 3456789', 'DE', '+4915123456789'],
  ['0049 151 23456789', undefined, '+4915123456789'],
  // Nigeria
  ['+234 803 123 4567', undefined, '+2348031234567'],
  ['0803 123 4567', 'NG', '+2348031234567'],
  // Indonesia
  ['+62 812-3456-7890', undefined, '+6281234567890'],
  ['0812 3456 7890', 'ID', '+6281234567890'],
  // Mexico (incl. the pre-2019 mobile '1' WhatsApp still sends)
  ['+52 55 1234 5678', undefined, '+525512345678'],
  ['5215512345678', undefined, '+525512345678'],
  ['whatsapp:+5215512345678', undefined, '+525512345678'],
  // United Arab Emirates
  ['+971 50 123 4567', undefined, '+971501234567'],
  ['050 123 4567', 'AE', '+971501234567'],
  // France, South Africa, Australia (ACMA fiction range 0491 570 xxx)
  ['+33 6 12 34 56 78', undefined, '+33612345678'],
  ['+27 82 123 4567', undefined, '+27821234567'],
  ['+61 491 570 156', undefined, '+61491570156'],
];

const rejected: [string, CountryCode | undefined][] = [
  ['', undefined],
  ['   ', undefined],
  ['hello', undefined],
  ['+', undefined],
  ['+44', undefined],
  ['+44 7700', undefined],
  ['+999 123 456 789', undefined],
  ['07700 900123', undefined], // national format without a region
  ['+44 7700 900123 ext. 12', undefined],
  ['+44 7700 900123; drop table', undefined],
  ['+44 7700 900123\n+44 7700 900124', undefined],
  ['+1 202 555 0123 / +1 202 555 0124', undefined],
  ['++447700900123', undefined],
  ['+0447700900123', undefined],
  ['4477009001234567890123', undefined],
  ['1'.repeat(200), undefined],
  ['+12025550123x', 'US'],
  ['555-0123', 'US'],
  ['whatsapp:', undefined],
  ['whatsapp:hello', undefined],
];

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

describe('normalisePhone', () => {
  it.each(accepted)('%s (default region %s) → %s', (raw, defaultRegion, e164) => {
    expect(normalisePhone(raw, { defaultRegion })).toBe(e164);
  });

  it('covers several countries with 20+ formats', () => {
    expect(accepted.length).toBeGreaterThanOrEqual(20);
    expect(new Set(accepted.map(([, , e]) => e.slice(0, 3))).size).toBeGreaterThanOrEqual(9);
  });

  it.each(rejected)('rejects %j with InvalidPhoneError that does not echo the input', (raw, defaultRegion) => {
    const err = catchError(() => normalisePhone(raw, { defaultRegion }));
    expect(err).toBeInstanceOf(InvalidPhoneError);
    expect(err).toBeInstanceOf(BadRequestError);
    const e = err as InvalidPhoneError;
    expect(e.code).toBe('invalid_phone');
    expect(e.status).toBe(400);
    const digits = raw.replace(/\D/g, '');
    for (const text of [e.message, String(e), e.stack ?? '', JSON.stringify(e)]) {
      if (raw.trim()) expect(text).not.toContain(raw.trim());
      if (digits.length >= 4) expect(text.replace(/\D/g, '')).not.toContain(digits);
    }
  });

  it('rejects non-strings', () => {
    expect(catchError(() => normalisePhone(undefined as unknown as string))).toBeInstanceOf(InvalidPhoneError);
    expect(catchError(() => normalisePhone(447700900123 as unknown as string))).toBeInstanceOf(InvalidPhoneError);
  });

  it('is idempotent on its own output', () => {
    for (const [, , e164] of accepted) expect(normalisePhone(e164)).toBe(e164);
  });

  it('never throws anything but InvalidPhoneError, never echoes input (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (raw) => {
        try {
          expect(normalisePhone(raw, { defaultRegion: 'GB' })).toMatch(/^\+[1-9]\d{6,14}$/);
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidPhoneError);
          expect((err as Error).message).toBe('invalid phone number');
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('hashPhone / hashIdentifier', () => {
  const keyA = randomBytes(32);
  const keyB = randomBytes(32);

  it('is lowercase hex HMAC-SHA-256, stable for one key', () => {
    const h = hashPhone(keyA, '+447700900123');
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(hashPhone(keyA, '+447700900123')).toBe(h);
    expect(hashPhone(keyA, '+447700900124')).not.toBe(h);
  });

  it('gives unrelated hashes for the same number in two workspaces', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999 }), (n) => {
        const e164 = `+447700900${String(n).padStart(3, '0')}`;
        const a = hashPhone(keyA, e164);
        const b = hashPhone(keyB, e164);
        expect(a).not.toBe(b);
        // no shared prefix beyond chance: the masked display would not link them
        expect(a.slice(0, 8)).not.toBe(b.slice(0, 8));
      }),
    );
  });

  it('refuses non-normalised numbers (they would hash one person twice)', () => {
    for (const bad of ['07700900123', '447700900123', '+44 7700 900123', 'whatsapp:+447700900123', '']) {
      const err = catchError(() => hashPhone(keyA, bad));
      expect(err).toBeInstanceOf(InvalidPhoneError);
      if (bad) expect((err as Error).message).not.toContain(bad);
    }
  });

  it('refuses short keys', () => {
    expect(catchError(() => hashPhone(randomBytes(16), '+447700900123'))).toBeInstanceOf(CryptoError);
    expect(catchError(() => hashIdentifier(randomBytes(16), 'wamid', 'x'))).toBeInstanceOf(CryptoError);
  });

  it('separates identifier kinds, and identifiers from phones', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), (value) => {
        const asMessage = hashIdentifier(keyA, 'wamid', value);
        const asUser = hashIdentifier(keyA, 'bsuid', value);
        expect(asMessage).toMatch(/^[0-9a-f]{64}$/);
        expect(asMessage).not.toBe(asUser);
        expect(hashIdentifier(keyB, 'wamid', value)).not.toBe(asMessage);
        expect(hashIdentifier(keyA, 'wamid', value)).toBe(asMessage);
      }),
    );
    expect(hashIdentifier(keyA, 'phone', '+447700900123')).not.toBe(hashPhone(keyA, '+447700900123'));
    // "a" + "\0b" vs "a\0" + "b" style ambiguity is impossible: kinds are plain names
    expect(catchError(() => hashIdentifier(keyA, 'wa\0mid', 'x'))).toBeInstanceOf(CryptoError);
    expect(catchError(() => hashIdentifier(keyA, '', 'x'))).toBeInstanceOf(CryptoError);
    expect(catchError(() => hashIdentifier(keyA, 'wamid', ''))).toBeInstanceOf(BadRequestError);
  });
});
