import crypto from 'node:crypto';
import fc from 'fast-check';
import { stringify } from 'csv-stringify/sync';
import { describe, expect, it } from 'vitest';
import {
  canonicalString,
  CANONICAL_FIELDS,
  eventHash,
  GENESIS_HASH,
  headMessage,
  neutraliseCell,
  unneutraliseCell,
  verifyHeadSignature,
  type CanonicalEvent,
} from '../../shared/audit/audit-canonical.ts';
import { parsePublicKeys } from '../../shared/audit/audit-keys.ts';
import { parseCsvLine } from '../../shared/audit/audit-verify.ts';

const field = fc.option(fc.string({ unit: 'grapheme', maxLength: 30 }), { nil: null });
const event = fc.record(
  Object.fromEntries(CANONICAL_FIELDS.map((f) => [f, field])) as Record<(typeof CANONICAL_FIELDS)[number], fc.Arbitrary<string | null>>,
);

describe('audit canonical form', () => {
  it('is unambiguous: different events never share a canonical string (length-prefixed fields)', () => {
    fc.assert(
      fc.property(event, event, (a, b) => {
        const same = CANONICAL_FIELDS.every((f) => a[f] === b[f]);
        return same === (canonicalString(a as CanonicalEvent) === canonicalString(b as CanonicalEvent));
      }),
    );
    // The classic ambiguity of separator-joined fields does not exist here.
    const a = { ...Object.fromEntries(CANONICAL_FIELDS.map((f) => [f, null])), reason: 'a|b', sessionId: null } as CanonicalEvent;
    const b = { ...a, reason: 'a', sessionId: 'b' };
    expect(canonicalString(a)).not.toBe(canonicalString(b));
    expect(eventHash(GENESIS_HASH, a)).not.toBe(eventHash(GENESIS_HASH, b));
  });

  it('formula neutralisation is undone exactly, and CSV cells survive csv-stringify → our parser', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !s.includes('\n') && !s.includes('\r')),
          { minLength: 1, maxLength: 6 },
        ),
        (cells) => {
          const line = stringify([cells.map(neutraliseCell)]).replace(/\n$/, '');
          const back = parseCsvLine(line).map((c) => (c === null ? null : unneutraliseCell(c)));
          return JSON.stringify(back) === JSON.stringify(cells);
        },
      ),
    );
    for (const c of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx', "'quoted"]) expect(neutraliseCell(c)).toBe(`'${c}`);
    expect(neutraliseCell('plain')).toBe('plain');
  });

  it('public keys from a JWK set, a PEM or a raw base64 key verify the same signature', () => {
    const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
    const jwk = publicKey.export({ format: 'jwk' });
    const head = {
      streamId: crypto.randomUUID(),
      seq: '42',
      hash: 'ab'.repeat(32),
      signedAt: '2026-01-01T00:00:00.000000Z',
      keyId: 'eu-1234abcd',
    };
    const signature = crypto.sign(null, headMessage(head), privateKey).toString('base64');
    const sources = [
      JSON.stringify({ keys: [{ ...jwk, kid: 'eu-1234abcd' }] }),
      publicKey.export({ format: 'pem', type: 'spki' }).toString(),
      Buffer.from(jwk.x!, 'base64url').toString('base64'),
    ];
    for (const src of sources) {
      const key = parsePublicKeys(src).get('eu-1234abcd')!;
      expect(verifyHeadSignature({ ...head, signature }, key)).toBe(true);
      expect(verifyHeadSignature({ ...head, seq: '43', signature }, key)).toBe(false);
    }
    expect(() => parsePublicKeys('{"keys":[]}')).toThrow(/no Ed25519/);
    expect(() => parsePublicKeys('AAAA')).toThrow(/32 bytes/);
  });
});
