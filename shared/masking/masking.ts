/**
 * Display masks for values support staff may see in part. The SQL functions
 * wact_private.mask_hash / mask_click_id (db/functions/wact_private.mask_*.sql)
 * produce the same output; a test holds them together.
 *
 * Rule: a prefix is shown only when it is at most half the value, so a short
 * (unexpected) input is masked completely rather than shown whole. Lengths are
 * counted in code points, as PostgreSQL's left()/char_length() do.
 */

const DOTS = '••••••••'; // 8 × U+2022

function mask(value: string | null | undefined, shown: number, dots: string): string | null {
  if (value === null || value === undefined) return null;
  const chars = Array.from(String(value));
  if (chars.length < shown * 2) return dots;
  return chars.slice(0, shown).join('') + dots;
}

/** 'a1b2c3d4e5…' → 'a1b2c3d4••••••••' */
export function maskHash(hex: string | null | undefined): string | null {
  return mask(hex, 8, DOTS);
}

/** 'IwAR1x…' → 'IwAR••••' */
export function maskClickId(id: string | null | undefined): string | null {
  return mask(id, 4, DOTS.slice(0, 4));
}

/** Always the same mask: not even the length of the secret shows. */
export function maskSecret(_value?: unknown): string {
  return DOTS;
}
