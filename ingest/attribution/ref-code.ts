import { randomInt } from 'node:crypto';

/**
 * Ref codes: 12 characters of Crockford base32 (60 random bits), shown to the
 * visitor inside the prefilled WhatsApp text as "ref: XXXXXXXXXXXX". Short
 * enough to survive being typed, unguessable enough that one workspace cannot
 * be attributed another's clicks (and codes are looked up per workspace).
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const REF_CODE_LENGTH = 12;

export function mintRefCode(): string {
  let out = '';
  for (let i = 0; i < REF_CODE_LENGTH; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

const FIND = /\bref[\s:#-]*([0-9A-Za-z]{12})\b/i;
const MAX_SCAN = 4096; // the code sits in a prefilled first line; never regex over a huge text

/** The ref code in a message text (case-insensitive, canonicalised), or undefined. */
export function extractRefCode(text: string): string | undefined {
  const m = FIND.exec(text.length > MAX_SCAN ? text.slice(0, MAX_SCAN) : text);
  if (!m) return undefined;
  const code = m[1].toUpperCase().replace(/[IL]/g, '1').replace(/O/g, '0');
  for (const ch of code) if (!ALPHABET.includes(ch)) return undefined;
  return code;
}

/** The prefilled text of a link with the ref code appended. */
export function prefillWithRef(text: string, code: string): string {
  const base = text.trim();
  return base ? `${base} (ref: ${code})` : `ref: ${code}`;
}
