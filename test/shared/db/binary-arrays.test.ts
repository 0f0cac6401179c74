import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ArrayValueError,
  byteaArray,
  int4Array,
  pgMicros,
  textArray,
  timestamptzArray,
  uuidArray,
} from '../../../shared/db/binary-arrays.ts';
import { decodeBinaryArray } from '../../support/binary-array-decoder.ts';
import { testDb } from '../../support/db.ts';

/**
 * The binary array encoders (shared/db/binary-arrays.ts) against PostgreSQL
 * itself: the same values sent once as node-postgres' text array and once as
 * our binary array must be the same array on the server. Invariant: whatever
 * the encoder accepts, the server reads as exactly the value the text form
 * names; whatever it refuses carries a data-exception SQLSTATE (the writer's
 * per-record retry isolates a bad record by that code).
 */

let client: pg.Client;
beforeAll(async () => {
  client = new pg.Client({ connectionString: testDb().urls.control });
  await client.connect();
});
afterAll(() => client.end());

/** True when the binary parameter $1 and the text parameter $2 are the same array of `type` on the server. */
async function sameOnServer(type: string, binary: Buffer, text: unknown[]): Promise<boolean> {
  const { rows } = await client.query(`SELECT $1::${type}[] IS NOT DISTINCT FROM $2::${type}[] AS same, cardinality($1::${type}[]) AS n`, [
    binary,
    text,
  ]);
  return rows[0].same === true && Number(rows[0].n) === text.length;
}

const RUNS = { numRuns: 60 };

describe('binary arrays (differential against PostgreSQL)', () => {
  it('uuid[]: the server reads the same uuids, in order, upper or lower case', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.uuid().map((u) => (u.charCodeAt(0) % 2 ? u.toUpperCase() : u)),
          { maxLength: 20 },
        ),
        async (ids) => {
          expect(await sameOnServer('uuid', uuidArray(ids), ids)).toBe(true);
        },
      ),
      RUNS,
    );
  });

  it('int4[]: every 32-bit integer, and nothing outside the range', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: -2147483648, max: 2147483647 }), { maxLength: 20 }), async (ns) => {
        expect(await sameOnServer('int4', int4Array(ns), ns)).toBe(true);
      }),
      RUNS,
    );
    for (const bad of [2147483648, -2147483649, 1.5, Number.NaN]) {
      expect(() => int4Array([bad])).toThrow(expect.objectContaining({ code: '22003' }));
    }
  });

  it('text[]: any Unicode text (quotes, backslashes, braces, commas, "NULL", empty) and NULLs', async () => {
    const tricky = fc.constantFrom(
      '',
      'NULL',
      'null',
      '"',
      '\\',
      '{',
      '}',
      ',',
      ' ',
      '{"a":"b\\"c"}',
      'é',
      '😀',
      '\uD800 lone surrogate',
      'x\uDFFF',
    );
    const element = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 30 }), tricky, fc.constant(null));
    await fc.assert(
      fc.asyncProperty(fc.array(element, { maxLength: 20 }), async (texts) => {
        expect(await sameOnServer('text', textArray(texts), texts)).toBe(true);
      }),
      RUNS,
    );
  });

  it("text[]: a NUL character is refused before sending, with the server's SQLSTATE", () => {
    expect(() => textArray(['a\0b'])).toThrow(ArrayValueError);
    expect(() => textArray(['a\0b'])).toThrow(expect.objectContaining({ code: '22021' }));
  });

  it('bytea[]: any bytes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
          { maxLength: 20 },
        ),
        async (bufs) => {
          expect(await sameOnServer('bytea', byteaArray(bufs), bufs)).toBe(true);
        },
      ),
      RUNS,
    );
  });

  it('timestamptz[]: the same instant to the microsecond, for every valid UTC timestamp', async () => {
    const iso = fc
      .tuple(
        fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }),
        fc.integer({ min: 0, max: 999_999 }),
        fc.integer({ min: 0, max: 6 }),
      )
      .map(([d, us, digits]) => `${d.toISOString().slice(0, 19)}${digits ? '.' + String(us).padStart(6, '0').slice(0, digits) : ''}Z`);
    await fc.assert(
      fc.asyncProperty(fc.array(iso, { maxLength: 20 }), async (ts) => {
        expect(await sameOnServer('timestamptz', timestamptzArray(ts), ts)).toBe(true);
      }),
      RUNS,
    );
  });

  it('timestamptz[]: what the encoder accepts from arbitrary field values, the server reads as the same instant; what it refuses is 22007', async () => {
    const two = (max: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, '0'));
    const candidate = fc
      .tuple(
        fc.integer({ min: 0, max: 9999 }).map((n) => String(n).padStart(4, '0')),
        two(13),
        two(32),
        two(25),
        two(61),
        two(61),
        fc.option(fc.stringMatching(/^[0-9]{1,6}$/)),
      )
      .map(([y, mo, d, h, mi, s, f]) => `${y}-${mo}-${d}T${h}:${mi}:${s}${f === null ? '' : '.' + f}Z`);
    await fc.assert(
      fc.asyncProperty(candidate, async (ts) => {
        let encoded: Buffer;
        try {
          encoded = timestamptzArray([ts]);
        } catch (err) {
          expect(err).toMatchObject({ code: '22007' });
          return;
        }
        expect(await sameOnServer('timestamptz', encoded, [ts])).toBe(true);
      }),
      { numRuns: 200 },
    );
    for (const bad of [
      '2024-02-30T00:00:00Z',
      '2023-02-29T00:00:00Z',
      '2024-01-01T24:00:00Z',
      '2024-01-01T23:59:60Z',
      '0000-01-01T00:00:00Z',
      '2024-01-01 00:00:00Z',
      '2024-01-01T00:00:00+01:00',
      '2024-01-01T00:00:00.1234567Z',
      '',
    ]) {
      expect(() => pgMicros(bad), bad).toThrow(expect.objectContaining({ code: '22007' }));
    }
  });

  it('uuid[]: anything but a UUID is refused with 22P02', () => {
    for (const bad of [
      '',
      'not-a-uuid',
      '00000000-0000-4000-8000-00000000000',
      '{00000000-0000-4000-8000-000000000001}',
      '00000000000040008000000000000001',
      '00000000-0000-4000-8000-00000000000g',
    ]) {
      expect(() => uuidArray([bad]), bad).toThrow(expect.objectContaining({ code: '22P02' }));
    }
  });

  it('an array of one type is refused by the server where another is expected (array_recv checks the element type)', async () => {
    await expect(client.query('SELECT $1::uuid[]', [textArray(['00000000-0000-4000-8000-000000000001'])])).rejects.toMatchObject({
      code: '42804',
    });
  });

  it('the layout read back by an independent decoder: one dimension from 1, NULL as length -1, empty as no dimensions', () => {
    expect(decodeBinaryArray(textArray(['a', null, '']))).toEqual({ elementOid: 25, elements: [Buffer.from('a'), null, Buffer.alloc(0)] });
    expect(decodeBinaryArray(uuidArray([]))).toEqual({ elementOid: 2950, elements: [] });
  });
});
