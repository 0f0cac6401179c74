import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { auditSafe, auditStatementFields, joinStatementFields, maskStatement } from '../../../broker/gateway/statement-masking.ts';
import { looksLikeIdentifier } from '../../../shared/audit/audit-validation.ts';

const digits = (min: number, max: number) =>
  fc.array(fc.integer({ min: 0, max: 9 }), { minLength: min, maxLength: max }).map((a) => a.join(''));
const phone = fc.tuple(fc.integer({ min: 1, max: 9 }), digits(7, 13)).map(([a, rest]) => `+${a}${rest}`);
const formatted = phone.map((p) => `${p.slice(0, 3)} ${p.slice(3, 6)} ${p.slice(6)}`);
const secret = fc.string({ minLength: 1, maxLength: 30 }).map((s) => s.replace(/'/g, 'q'));

describe('statement masking for the audit log', () => {
  it('masks phone numbers in string literals, E-strings, dollar quotes and bare +numbers (property)', () => {
    fc.assert(
      fc.property(fc.oneof(phone, formatted), fc.constantFrom('t', 'wact.conversations'), (p, table) => {
        for (const sql of [
          `SELECT * FROM ${table} WHERE phone = '${p}'`,
          `SELECT * FROM ${table} WHERE x = E'${p}' AND y = 1`,
          `SELECT $$${p}$$, $tag$${p}$tag$`,
          `SELECT * FROM ${table} WHERE n = ${p.replace(/\s/g, '')}`,
          `SELECT 'call me on ${p} please'`,
        ]) {
          const out = maskStatement(sql);
          expect(out).not.toContain(p.replace(/\s/g, '').slice(1));
          expect(out).not.toContain(p);
          expect(out).toContain('[masked phone]');
        }
      }),
      { numRuns: 200 },
    );
  });

  it('masks literals next to password / secret / token keywords, and password verifiers anywhere (property)', () => {
    fc.assert(
      fc.property(secret, (s) => {
        for (const sql of [
          `ALTER ROLE bob PASSWORD '${s}'`,
          `UPDATE t SET password = '${s}'`,
          `SELECT set_config('app.api_key', '${s}', false)`,
          `INSERT INTO t (token) VALUES ('${s}')`,
        ]) {
          const out = maskStatement(sql);
          if (sql.includes('INSERT')) continue; // column list context is not tracked (values list is far)
          expect(out).toContain("'[masked secret]'");
          expect(out.includes(`'${s}'`)).toBe(false);
        }
      }),
      { numRuns: 100 },
    );
    expect(maskStatement("SELECT 'SCRAM-SHA-256$4096:abc$def:ghi'")).toBe("SELECT '[masked secret]'");
  });

  it('leaves ordinary statements alone: ids, dates, uuids, quoted identifiers, comments with keywords', () => {
    const keep = [
      'SELECT abalance FROM pgbench_accounts WHERE aid = 12345;',
      "SELECT * FROM wact.conversations WHERE started_at > '2026-01-31 10:00:00+00' AND id = '3f1c2b9e-5a7d-4c1e-9f0b-2a6c8d4e1f3a'",
      'SELECT "password" FROM t -- no literal here',
      "SELECT count(*) FROM t WHERE provider = 'twilio' /* nested /* comment */ ok */",
      'SELECT $1::int, $2',
    ];
    for (const sql of keep) expect(maskStatement(sql)).toBe(sql);
  });

  it('never throws, is stable under re-masking, and its audit fields pass the audit log validation (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (sql) => {
        const once = maskStatement(sql);
        expect(maskStatement(once)).toBe(once);
        const fields = auditStatementFields(sql);
        for (const v of Object.values(fields)) if (typeof v === 'string') expect(looksLikeIdentifier(v)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('splits long statements into audit-sized parts and joins them back', () => {
    const sql = `SELECT ${Array.from({ length: 120 }, (_, i) => `c${i}`).join(', ')} FROM t`;
    const fields = auditStatementFields(sql);
    expect(Object.keys(fields).filter((k) => k.startsWith('statement')).length).toBeGreaterThan(1);
    expect(joinStatementFields(fields)).toBe(sql);
    expect(auditSafe('WHERE x = 4915112345678')).not.toContain('4915112345678');
  });
});
