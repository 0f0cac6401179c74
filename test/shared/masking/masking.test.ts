import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pools } from '../../../shared/db/pools.ts';
import { maskClickId, maskHash, maskSecret } from '../../../shared/masking/masking.ts';
import { operatorPools } from '../../support/db.ts';

const hex64 = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';

describe('masking (TypeScript)', () => {
  it('shows the first 8 hex chars of a hash', () => {
    expect(maskHash(hex64)).toBe('a1b2c3d4••••••••');
  });
  it('shows the first 4 chars of a click id', () => {
    expect(maskClickId('IwAR2xYz_fbclid_value_0123456789abcdef')).toBe('IwAR••••');
  });
  it('masks short values completely and keeps null as null', () => {
    expect(maskHash('abc')).toBe('••••••••');
    expect(maskHash('')).toBe('••••••••');
    expect(maskHash('0123456789abcde')).toBe('••••••••'); // 15 < 16
    expect(maskHash('0123456789abcdef')).toBe('01234567••••••••');
    expect(maskClickId('1234567')).toBe('••••');
    expect(maskClickId('12345678')).toBe('1234••••');
    expect(maskHash(null)).toBeNull();
    expect(maskClickId(undefined)).toBeNull();
  });
  it('never reveals more than half of a value', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        const shown = (maskClickId(s) as string).replace(/•+$/, '');
        expect(Array.from(shown).length * 2).toBeLessThanOrEqual(Math.max(Array.from(s).length, 0));
      }),
    );
  });
  it('maskSecret reveals nothing, not even the length', () => {
    expect(maskSecret('short')).toBe(maskSecret('a much longer secret value'));
    expect(maskSecret()).toBe('••••••••');
  });
});

describe('masking (SQL functions agree with TypeScript)', () => {
  let pools: Pools;
  beforeAll(() => {
    pools = operatorPools();
  });
  afterAll(async () => pools.end());

  it('on random inputs, including non-ASCII and empty', async () => {
    const inputs = fc
      .sample(
        fc.oneof(
          fc.stringMatching(/^[0-9a-f]{0,64}$/),
          fc.string({ maxLength: 40 }),
          fc.string({ maxLength: 40, unit: 'grapheme' }),
          fc.string({ maxLength: 20, unit: 'binary' }),
        ),
        { numRuns: 400, seed: 42 },
      )
      .filter((s) => !s.includes('\u0000') && Buffer.from(s, 'utf8').toString('utf8') === s); // text holds neither NUL nor lone surrogates
    inputs.push('', 'a', 'abcdefgh', 'abcdefghijklmnop', '😀😀😀😀😀😀😀😀😀');
    const { rows } = await pools
      .region('eu')
      .query<{ h: string; c: string }>(
        'select wact_private.mask_hash(v) as h, wact_private.mask_click_id(v) as c from unnest($1::text[]) with ordinality as t(v, i) order by i',
        [inputs],
      );
    expect(rows).toHaveLength(inputs.length);
    rows.forEach((row, i) => {
      expect(row.h).toBe(maskHash(inputs[i]));
      expect(row.c).toBe(maskClickId(inputs[i]));
    });
    const nulls = await pools.region('eu').query('select wact_private.mask_hash(null) as h, wact_private.mask_click_id(null) as c');
    expect(nulls.rows[0]).toEqual({ h: null, c: null });
  });

  it('are granted to support, engineer and broker only', async () => {
    const { rows } = await pools.region('eu').query<{ role: string; h: boolean; c: boolean }>(
      `select r as role,
              has_function_privilege(r, 'wact_private.mask_hash(text)', 'EXECUTE') as h,
              has_function_privilege(r, 'wact_private.mask_click_id(text)', 'EXECUTE') as c
         from unnest(array['wact_support','wact_engineer','wact_broker','wact_ingest']) as r`,
    );
    expect(Object.fromEntries(rows.map((r) => [r.role, r.h && r.c]))).toEqual({
      wact_support: true,
      wact_engineer: true,
      wact_broker: true,
      wact_ingest: false,
    });
  });
});
