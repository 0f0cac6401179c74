import crypto from 'node:crypto';
import { Readable } from 'node:stream';
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
import {
  checkSignature,
  derToP1363,
  keyFingerprint,
  loadTrustedKeys,
  publishKey,
  verifyAuditSignature,
} from '../../shared/audit/audit-keys.ts';
import { parseCsvLine, verifyExport } from '../../shared/audit/audit-verify.ts';

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
    // An unquoted empty cell is null, a quoted one the empty string; quotes and line breaks inside quotes survive.
    expect(parseCsvLine('a,,"",b')).toEqual(['a', null, '', 'b']);
    expect(parseCsvLine('"x ""y""","line\nbreak",')).toEqual(['x "y"', 'line\nbreak', null]);
    expect(() => parseCsvLine('"unterminated')).toThrow();
    for (const c of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx', "'quoted"]) expect(neutraliseCell(c)).toBe(`'${c}`);
    expect(neutraliseCell('plain')).toBe('plain');
  });

  it('an export that cannot be read to its end is refused as a format problem, CSV or JSON Lines, never left waiting', async () => {
    const noKeys = { get: () => undefined, all: [] };
    for (const start of ['record,stream_id,seq\nheader,', '{"type":"header"}\n{"type":']) {
      const input = new Readable({ read() {} });
      input.push(start);
      setTimeout(() => input.destroy(new Error('disk gone')), 10);
      const report = await verifyExport(input, noKeys);
      expect(report.ok).toBe(false);
      expect(report.problems).toContainEqual({ kind: 'format', message: 'unreadable export: disk gone' });
    }
  });

  it('trusted keys: a key set (Ed25519 and P-256) or a pinned PEM verify the same signatures; a swapped key or a wrong pin is refused', () => {
    const ed = crypto.generateKeyPairSync('ed25519');
    const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const head = {
      streamId: crypto.randomUUID(),
      seq: '42',
      hash: 'ab'.repeat(32),
      signedAt: '2026-01-01T00:00:00.000000Z',
      keyId: 'local-1',
    };
    const msg = headMessage(head);
    const edSig = crypto.sign(null, msg, ed.privateKey).toString('base64');
    const ecSig = crypto.sign('sha256', msg, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64');
    const set = {
      keys: [
        publishKey(ed.publicKey, { kid: 'local-1', validFrom: '2025-01-01T00:00:00.000000Z', validTo: null, source: 'local' }),
        publishKey(ec.publicKey, {
          kid: 'kms-1',
          validFrom: '2025-01-01T00:00:00.000000Z',
          validTo: '2026-06-01T00:00:00.000000Z',
          source: 'aws-kms',
        }),
      ],
    };
    const keys = loadTrustedKeys(JSON.stringify(set));
    expect(checkSignature(keys, 'local-1', head.signedAt, msg, edSig)).toEqual({ ok: true });
    expect(checkSignature(keys, 'kms-1', head.signedAt, msg, ecSig)).toEqual({ ok: true });
    expect(checkSignature(keys, 'kms-1', head.signedAt, headMessage({ ...head, seq: '43' }), ecSig).ok).toBe(false);
    expect(checkSignature(keys, 'kms-1', '2026-07-01T00:00:00.000000Z', msg, ecSig)).toMatchObject({
      ok: false,
      why: /outside the validity/,
    });
    expect(checkSignature(keys, 'nobody', head.signedAt, msg, ecSig)).toMatchObject({ ok: false, why: /unknown key nobody/ });
    // A key swapped under a published fingerprint.
    const swapped = { keys: [{ ...set.keys[0], x: publishKey(crypto.generateKeyPairSync('ed25519').publicKey, set.keys[0]).x }] };
    expect(() => loadTrustedKeys(JSON.stringify(swapped))).toThrow(/does not match its published fingerprint/);
    // A bare PEM needs a pin, and only the pinned key is trusted.
    const pem = ed.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    expect(() => loadTrustedKeys(pem)).toThrow(/--fingerprint/);
    expect(checkSignature(loadTrustedKeys(pem, [keyFingerprint(ed.publicKey)]), 'any', head.signedAt, msg, edSig)).toEqual({ ok: true });
    expect(() => loadTrustedKeys(JSON.stringify(set), [keyFingerprint(crypto.generateKeyPairSync('ed25519').publicKey)])).toThrow(
      /no key matches the pinned fingerprint/,
    );
    expect(verifyHeadSignature({ ...head, signature: edSig }, ed.publicKey)).toBe(true);
  });

  it('KMS DER signatures convert to r‖s that verify', () => {
    const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    for (let i = 0; i < 50; i++) {
      const msg = crypto.randomBytes(40);
      const der = crypto.sign('sha256', msg, ec.privateKey);
      expect(verifyAuditSignature('ES256', ec.publicKey, msg, derToP1363(der).toString('base64'))).toBe(true);
    }
  });
});
