import crypto from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditSafe,
  auditStatementFields,
  maskStatement,
  MAX_RECORDABLE_STATEMENT_BYTES,
  STATEMENT_JSON_GROWTH,
  statementRecordable,
} from '../../../broker/gateway/statement-masking.ts';
import { createBatcher } from '../../../shared/audit/audit-batcher.ts';
import { createSeriesWriter, seriesTemplate } from '../../../shared/audit/audit-series.ts';
import type { AuditEventInput } from '../../../shared/audit/audit-types.ts';
import { joinStatementFields } from '../../../shared/audit/audit-validation.ts';
import {
  canonicalMetadata,
  looksLikeIdentifier,
  MAX_STATEMENT_METADATA_JSON,
  toAppendRow,
} from '../../../shared/audit/audit-validation.ts';
import { auditKit, expectValidChain } from '../../audit/audit-test-kit.ts';

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

  it('stores a long statement whole in one field; events written in 200-character parts still join', () => {
    const sql = `SELECT ${Array.from({ length: 400 }, (_, i) => `c${i}`).join(', ')} FROM t`;
    const fields = auditStatementFields(sql);
    expect(Object.keys(fields)).toEqual(['statement']);
    expect(joinStatementFields(fields)).toBe(sql);
    const parts = { statement: sql.slice(0, 200), 'statement.2': sql.slice(200, 400), 'statement.3': sql.slice(400, 600), rows: 1 };
    expect(joinStatementFields(parts)).toBe(sql.slice(0, 600));
    expect(auditSafe('WHERE x = 4915112345678')).not.toContain('4915112345678');
  });
});

// ---------------------------------------------------------------------------
// Issue 12, point 3: the whole statement is recorded, or it does not run.

const MAX = MAX_RECORDABLE_STATEMENT_BYTES;
const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/** What the gateway puts in a statement record (gateway-server.ts statementEvent), worst case for the other fields. */
function statementRecord(sql: string, workspaceId = crypto.randomUUID()): AuditEventInput {
  const noisy = '"\\\u0001'.repeat(66).slice(0, 200); // 200 characters that all escape in JSON
  return {
    action: 'db.statement',
    actor: { id: 'emp-1', kind: 'employee', role: 'engineer', displayName: 'Engineer' },
    workspaceId,
    region: 'eu',
    target: { type: 'db_session', id: 's-1' },
    reason: 'ticket SUP-12',
    sessionId: 's-1',
    outcome: 'failure',
    metadata: {
      ...auditStatementFields(sql),
      protocol: 'extended',
      command: noisy,
      rows: 123456,
      parameters: 3,
      sqlstate: '22P02',
      error: auditSafe(noisy),
      durationMs: 12,
      scope: 'full',
      ticket: noisy,
    },
  };
}

// Fragments chosen for the worst of JSON escaping and masking growth: quotes,
// backslashes, control characters (\v is whitespace to the lexer and 6
// characters in JSON), non-BMP characters, literals in a secret context
// (2 characters become 17), numbers and e-mails that get masked, comments.
const nasty = fc.constantFrom(
  '"',
  '\\',
  '\u0001',
  '\u001f',
  '\t',
  '\n',
  '\v',
  '\r',
  '\u007f',
  '\u2028',
  '😀',
  '\u{10FFFF}',
  'é',
  '中',
  "'",
  "''",
  "E'\\",
  '$$',
  '$t$',
  '--',
  '/*',
  '*/',
  'pwd',
  "pwd''\v''\v''",
  ' ',
  'a@b.cc',
  '@',
  '+44 7700 900123',
  '12345678901',
  '0',
  'SELECT ',
);

// Target sizes: anywhere up to the limit (fast-check favours small ones), or in its last 4 KiB.
const sizes = fc.oneof(fc.integer({ min: 0, max: MAX }), fc.integer({ min: MAX - 4096, max: MAX }));

/** A statement of about `target` bytes (never more than MAX) built from the fragments. */
function build(fragments: string[], target: number): string {
  if (!fragments.length) return '';
  const unit = fragments.join('');
  const unitBytes = bytes(unit);
  let sql = unit.repeat(Math.floor(target / unitBytes));
  for (const f of fragments) {
    if (bytes(sql) + bytes(f) > target) break;
    sql += f;
  }
  return sql;
}

describe('the whole statement (issue 12)', () => {
  it('keeps the real statement after a 2,000+ character padding comment', () => {
    for (const pad of [`/* ${'x'.repeat(2500)} */ `, `-- ${'lorem ipsum '.repeat(250)}\n`, `${' '.repeat(5000)}`]) {
      const stored = joinStatementFields(auditStatementFields(`${pad}SELECT secret FROM t`));
      expect(stored.endsWith('SELECT secret FROM t')).toBe(true);
      expect(stored).toBe(`${pad}SELECT secret FROM t`);
    }
  });

  it('masks a phone number placed across the former 200-character part boundary', () => {
    for (const phone of ['+44 7700 900123', '+1 202 555 0143']) {
      for (let cut = 1; cut < phone.length; cut++) {
        // Where the lexer does not mask (identifiers): only the last-line defence can, over the whole text.
        for (const make of [(p: string) => `"${p}"`, (p: string) => `x${p}`]) {
          const head = 'SELECT ';
          const filler = 'a'.repeat(200 - head.length - cut - 2);
          const sql = `${head}${filler} ${make(phone)} FROM t`;
          expect(sql.indexOf(phone) < 200 && sql.indexOf(phone) + phone.length > 200).toBe(true);
          const stored = joinStatementFields(auditStatementFields(sql));
          expect(stored).not.toContain(phone.slice(phone.indexOf(' ') + 1));
          expect(stored.replace(/\D/g, '')).not.toContain(phone.replace(/\D/g, '').slice(-10));
          expect(stored.length).toBe(sql.length); // nothing else was lost
          expect(looksLikeIdentifier(stored)).toBe(false);
        }
      }
    }
  });

  it('records a ~1,200-character statement full of characters that escape in JSON', () => {
    const sql = `SELECT '${'"\\\u0001\t'.repeat(300)}' AS x`;
    expect(sql.length).toBeGreaterThan(1200);
    expect(statementRecordable(sql)).toEqual({ ok: true });
    const row = toAppendRow(statementRecord(sql)).row;
    expect(row.metadata.length).toBeGreaterThan(4096); // the old limit would have killed the connection
    expect(JSON.parse(row.metadata).statement).toBe(sql);
  });

  it('refuses a statement over the limit with 54000, naming the size and the limit, never the text', () => {
    const under = `SELECT '${'x'.repeat(MAX - 9)}'`;
    expect(bytes(under)).toBe(MAX);
    expect(statementRecordable(under)).toEqual({ ok: true });
    const over = `${under} `;
    const r = statementRecordable(over);
    expect(r).toMatchObject({ ok: false, code: '54000' });
    if (r.ok) throw new Error('unreachable');
    expect(r.message).toContain(String(MAX + 1));
    expect(r.message).toContain(String(MAX));
    expect(r.message).not.toContain('xxx');
    // The limit is in UTF-8 bytes, as on the wire: 2-byte and 4-byte characters count as such.
    expect(statementRecordable('é'.repeat(MAX / 2)).ok).toBe(true);
    expect(statementRecordable('é'.repeat(MAX / 2 + 1)).ok).toBe(false);
    expect(statementRecordable('😀'.repeat(MAX / 4 + 1)).ok).toBe(false);
    expect(statementRecordable('').ok).toBe(true);
  });

  it('the worst growth construction at the limit stays within the bound and the audit log limit', () => {
    for (const unit of ["pwd''\v''\v''", '\u0001', "pwd'',''", '+12345678 ', "'+1234567' "]) {
      const sql = build([unit], MAX);
      const stored = auditStatementFields(sql).statement;
      const escaped = JSON.stringify(stored).length - 2;
      expect(escaped).toBeLessThanOrEqual(STATEMENT_JSON_GROWTH * sql.length + 17);
      expect(() => canonicalMetadata(statementRecord(sql).metadata, 'db.statement')).not.toThrow();
    }
  });

  it('every statement within the limit yields metadata the audit log validation accepts (property)', () => {
    fc.assert(
      fc.property(fc.array(nasty, { minLength: 1, maxLength: 40 }), sizes, (fragments, target) => {
        const sql = build(fragments, target);
        expect(bytes(sql)).toBeLessThanOrEqual(MAX);
        expect(statementRecordable(sql)).toEqual({ ok: true });
        const event = statementRecord(sql);
        const row = toAppendRow(event).row;
        expect(row.metadata.length).toBeLessThanOrEqual(MAX_STATEMENT_METADATA_JSON);
        const stored = JSON.parse(row.metadata).statement as string;
        expect(stored).toBe(auditStatementFields(sql).statement);
        expect(looksLikeIdentifier(stored)).toBe(false);
        expect(stored).not.toContain('7700 900123');
        expect(JSON.stringify(stored).length - 2).toBeLessThanOrEqual(STATEMENT_JSON_GROWTH * sql.length + 17);
      }),
      { numRuns: 25 },
    );
  });

  it('other actions keep the small metadata limit', () => {
    const event = statementRecord(`SELECT '${'"'.repeat(1500)}'`);
    expect(() => toAppendRow(event)).not.toThrow();
    expect(() => toAppendRow({ ...event, action: 'db.query' })).toThrow(/metadata/);
    expect(() => toAppendRow({ ...event, action: 'db.statementx' })).toThrow(/metadata/);
    expect(() => toAppendRow({ ...event, action: 'db.statement.started' })).not.toThrow();
    // Only the statement field may be long.
    expect(() => canonicalMetadata({ statement: 'x', other: 'y'.repeat(201) }, 'db.statement')).toThrow(/other/);
  });

  it('masking never lets a phone number through at any position of a long text (property)', () => {
    const phones = ['+44 7700 900123', '+447700900123', '+1 202 555 0143', '+1 (202) 555-0143', '+1-202-555-0143', ' 447700900123 '];
    const piece = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.constantFrom("'", '"', '$$', '$q$', '--', '\n', '/*', '*/', "E'", '\\', ' ', 'pwd', 'x', '1', '.', '(', ')', '-', 'a@b.cc'),
    );
    fc.assert(
      fc.property(
        fc.array(piece, { minLength: 100, maxLength: 400 }),
        fc.constantFrom(...phones),
        // Anywhere, or straddling a multiple of 200 (where the text used to be cut into parts).
        fc.oneof(
          fc.nat(),
          fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 16 })).map(([k, d]) => 200 * k - d),
        ),
        fc.constantFrom('', 'x', '"', ' '), // what the phone follows: a word, a quoted identifier, a space
        (pieces, phone, at, before) => {
          const text = pieces.join('').replaceAll('\u0000', '');
          const offset = Math.min(at, text.length);
          const sql = text.slice(0, offset) + before + phone + text.slice(offset);
          const stored = joinStatementFields(auditStatementFields(sql));
          const digits = phone.replace(/\D/g, '').slice(-10);
          expect(stored).not.toContain(phone.trim());
          expect(stored.replace(/[\s().-]/g, '')).not.toContain(digits);
          expect(looksLikeIdentifier(stored)).toBe(false);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('auditSafe keeps the length and always leaves text the audit log accepts (property)', () => {
    const piece = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom('@', 'a@b.cc', 'x.yy', ' ', '1', '2 3', '+', '(', '-', '1234567', "'", '"', '3f1c2b9e-5a7d-4c1e-9f0b-2a6c8d4e1f3a'),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 60 }), (pieces) => {
        const text = pieces.join('');
        const safe = auditSafe(text);
        expect(safe.length).toBe(text.length);
        expect(looksLikeIdentifier(safe)).toBe(false);
        if (!looksLikeIdentifier(text)) expect(safe).toBe(text);
      }),
      { numRuns: 1000 },
    );
    // An e-mail-shaped comment does not hide the statement (it used to withhold it all).
    const stored = auditStatementFields("/* x'@b.cc 1234567 */ SELECT secret FROM t").statement;
    expect(stored).toContain('SELECT secret FROM t');
    expect(stored).not.toContain('@b.cc');
  });

  it('costs linear time: 100 KB statements, including shapes that were quadratic for the e-mail pattern', () => {
    const size = 100_000;
    const cases: Record<string, string> = {
      ordinary: build(
        ["SELECT id, name FROM wact.conversations WHERE id = '3f1c2b9e-5a7d-4c1e-9f0b-2a6c8d4e1f3a' AND n > 42; -- note\n"],
        size,
      ),
      'long literal, 7 digits, no @': `SELECT '${'a'.repeat(size)}1234567'`,
      'long word, 7 digits, no @': `SELECT x${'a'.repeat(size)}1234567`,
      'long comment with @s': `/* ${'a@'.repeat(size / 2)} 1234567 */ SELECT 1`,
      'digits everywhere': build(['1 2 3 4 5 6 7 8 '], size),
      worst: build(["pwd''\v''\v''"], size),
    };
    const figures: string[] = [];
    for (const [name, sql] of Object.entries(cases)) {
      // Best of 5: the machine is shared, the figure is what one statement costs.
      let ms = Infinity;
      for (let run = 0; run < 5; run++) {
        const t0 = performance.now();
        canonicalMetadata({ ...auditStatementFields(sql), rows: 1 }, 'db.statement');
        ms = Math.min(ms, performance.now() - t0);
      }
      figures.push(`${name}: ${ms.toFixed(1)} ms`);
      // A quadratic pass over 100 KB takes seconds; linear work takes milliseconds.
      expect(ms).toBeLessThan(750);
    }
    process.stdout.write(`masking + validation of a 100 KB statement (best of 5): ${figures.join('; ')}\n`);
  });
});

describe('large statement records and batching', () => {
  it('series and append batches stop at 16 MiB of metadata, so large records never make a batch fail for everyone', async () => {
    const big = statementRecord(build(['\u0001'], MAX));
    const metadataChars = toAppendRow(big).row.metadata.length;
    expect(metadataChars).toBeGreaterThan(1_500_000);
    // Series path: each audit.append_series call carries its metadata array.
    const seriesCalls: number[] = [];
    const writer = createSeriesWriter({
      query: (async (q: { values: unknown[] }) => {
        seriesCalls.push((q.values[4] as string[]).reduce((a, m) => a + m.length, 0));
        return { rows: [] };
      }) as never,
    });
    const template = seriesTemplate(toAppendRow(big).row);
    await Promise.all(Array.from({ length: 30 }, () => writer.push(template, { outcome: 'success', metadata: big.metadata })));
    // Append path (db.statement.started): each transaction carries its rows as one literal.
    const appendCalls: number[] = [];
    const batcher = createBatcher({
      connect: (async () => ({
        query: async (text: string) => {
          if (text.includes('audit.append(')) appendCalls.push(text.length);
          return { rows: [] };
        },
        escapeLiteral: (v: string) => `'${v.replaceAll("'", "''")}'`,
        release: () => undefined,
      })) as never,
    });
    const row = toAppendRow({ ...big, action: 'db.statement.started' }).row;
    await Promise.all(Array.from({ length: 30 }, () => batcher.push(row)));
    for (const calls of [seriesCalls, appendCalls]) {
      expect(calls.length).toBeGreaterThan(1);
      expect(Math.max(...calls)).toBeLessThan(64 * 1024 * 1024);
    }
    expect(seriesCalls.reduce((a, b) => a + b, 0)).toBe(30 * metadataChars);
    expect(Math.max(...seriesCalls)).toBeLessThanOrEqual(16 * 1024 * 1024);
  });
});

describe('statement records in the audit log (database)', () => {
  // Opened here, not at import: the pure tests above need no database.
  let kit: ReturnType<typeof auditKit>;
  beforeAll(() => {
    kit = auditKit();
  });
  afterAll(async () => kit?.end());

  it('writes statement records up to the limit, worst-case escaping included, through the series and append paths; the chain verifies', async () => {
    const ws = crypto.randomUUID();
    const audit = kit.audit;
    const base = statementRecord('', ws);
    const series = audit.series({ ...base, outcome: undefined, metadata: undefined } as Omit<AuditEventInput, 'outcome' | 'metadata'>);
    const statements = [
      build(["pwd''\v''\v''"], MAX),
      build(['\u0001'], MAX),
      build(['😀"\\'], MAX),
      `/* ${'x'.repeat(2500)} */ SELECT secret FROM t`,
      ...fc.sample(
        fc.tuple(fc.array(nasty, { minLength: 1, maxLength: 30 }), sizes).map(([f, n]) => build(f, n)),
        { numRuns: 8, seed: 12 },
      ),
    ];
    for (const sql of statements) expect(statementRecordable(sql).ok).toBe(true);
    await Promise.all(statements.map((sql) => series.append({ outcome: 'success', metadata: statementRecord(sql, ws).metadata! })));
    await audit.append({ ...statementRecord(statements[0], ws), action: 'db.statement.started' });
    const events = await expectValidChain(kit.op.region('eu'), ws, statements.length + 1);
    const stored = events.map((e) => JSON.parse(e.metadata).statement as string);
    expect(new Set(stored)).toEqual(new Set(statements.map((sql) => auditStatementFields(sql).statement)));
    expect(stored.some((s) => s.endsWith('SELECT secret FROM t'))).toBe(true);
    // The existing export and its verifier handle the large records: chain, hashes and signed head.
    await kit.signer.signStreamHead('eu', ws, 'periodic');
    const text = await kit.exportText(ws);
    const report = await kit.verifyText(text);
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ ok: true, events: statements.length + 1 });
    const exported = text
      .split('\n')
      .filter((l) => l.includes('"type":"event"'))
      .map((l) => joinStatementFields(JSON.parse(JSON.parse(l).metadata)));
    expect(exported).toEqual(stored);
  });

  it('the database refuses large metadata for any other action (CHECK constraint, not only the TS validation)', async () => {
    const row = { ...toAppendRow(statementRecord(`SELECT '${'"'.repeat(1500)}'`)).row, streamId: crypto.randomUUID() };
    await expect(
      kit.op.region('eu').query('SELECT audit.append($1::jsonb)', [JSON.stringify({ ...row, action: 'db.query' })]),
    ).rejects.toMatchObject({
      code: '23514',
    });
    await expect(
      kit.op
        .region('eu')
        .query('SELECT audit.append($1::jsonb)', [JSON.stringify({ ...row, metadata: `{"statement":"${'x'.repeat(2_400_000)}"}` })]),
    ).rejects.toMatchObject({ code: '23514' });
    await kit.op.region('eu').query('SELECT audit.append($1::jsonb)', [JSON.stringify(row)]);
  });
});
