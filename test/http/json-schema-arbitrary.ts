import fc from 'fast-check';

/**
 * fast-check arbitraries derived from the JSON Schemas of the OpenAPI document
 * (test/http/fuzz.test.ts). `valid` follows the schema (enums, formats, lengths,
 * bounds, required fields), drawing lengths and numbers from the boundaries too;
 * `hostile` is what an attacker sends instead: wrong types, one past each bound,
 * NUL bytes, odd Unicode, huge and non-integer numbers, malformed dates and
 * UUIDs, unknown and prototype-polluting fields, missing required fields.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON Schema documents are plain JSON
export type JsonSchema = any;

const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\uD800', // lone surrogate
  '\uFEFF',
  '\u202E',
  '𝕏😀',
  'é'.normalize('NFD'),
  '../../etc/passwd',
  "' OR 1=1 --",
  '"; DROP TABLE x; --',
  '%00',
  '${jndi:x}',
  '<script>',
  '\r\nX-Injected: 1',
  'null',
  'true',
  '[]',
  '{}',
  '__proto__',
  'x'.repeat(5000),
];
const NASTY_NUMBERS = [
  0,
  -0,
  -1,
  0.5,
  1e308,
  -1e308,
  2 ** 53 + 1,
  Number.MAX_SAFE_INTEGER,
  -2147483649,
  2147483648,
  2 ** 63, // a bigint column's bound, as a double
  1e-320,
];
const NASTY_DATES = [
  '2024-01-01x',
  '2024-02-30',
  '2023-02-29',
  '0000-01-01',
  '-0001-01-01',
  '+275760-09-14',
  '99999-01-01',
  '2024-13-01',
  '2024-01-01T25:00:00Z',
  '2024-01-01T00:00:00+24:00',
  'yesterday',
  '1e10',
  '2024-01-01\u0000',
  '١٩٧٠-٠١-٠١',
];
const NASTY_UUIDS = [
  '00000000-0000-0000-0000-00000000000',
  '00000000-0000-0000-0000-0000000000000',
  'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz',
  '{00000000-0000-0000-0000-000000000000}',
  '00000000000000000000000000000000',
  '00000000-0000-0000-0000-000000000000\u0000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '00000000-0000-0000-0000-000000000000',
];
const URLS = [
  'https://127.0.0.1/x',
  'https://[::ffff:127.0.0.1]/',
  'https://localhost:1/',
  'http://203.0.113.9/',
  'https://user:pw@203.0.113.9/',
  'https://203.0.113.9:8443/siem',
  'javascript:alert(1)',
  'file:///etc/passwd',
];

export const nastyString = fc.oneof(
  fc.constantFrom(...NASTY_STRINGS),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
);
export const hostileScalar: fc.Arbitrary<unknown> = fc.oneof(
  nastyString,
  fc.constantFrom(...NASTY_NUMBERS, ...NASTY_DATES, ...NASTY_UUIDS),
  fc.constantFrom(null, true, false, [], {}, [null], { __proto__: { polluted: 1 } }, { constructor: { prototype: { x: 1 } } }),
  fc.double(),
  fc.bigInt().map(String),
);

function stringOf(s: JsonSchema): fc.Arbitrary<string> {
  if (s.format === 'uuid') return fc.uuid();
  if (s.format === 'date')
    return fc
      .date({ min: new Date('1970-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, 10));
  if (s.format === 'date-time')
    return fc.date({ min: new Date('1970-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
  if (s.format === 'email') return fc.emailAddress().filter((e) => e.length <= (s.maxLength ?? 320));
  if (s.format === 'uri') return fc.constantFrom(...URLS);
  if (s.pattern) {
    const re = new RegExp(s.pattern);
    return fc.stringMatching(re).filter((v) => v.length >= (s.minLength ?? 0) && v.length <= (s.maxLength ?? Infinity));
  }
  const min = s.minLength ?? 0;
  const max = Math.min(s.maxLength ?? 64, 5000);
  const boundaries = [min, max].filter((n, i, a) => a.indexOf(n) === i);
  return fc.oneof(
    { weight: 3, arbitrary: fc.string({ minLength: min, maxLength: Math.min(max, min + 40), unit: 'grapheme-ascii' }) },
    { weight: 1, arbitrary: fc.string({ minLength: min, maxLength: Math.min(max, min + 20), unit: 'grapheme' }) },
    { weight: 1, arbitrary: fc.constantFrom(...boundaries).map((n) => 'a'.repeat(n)) },
  );
}

function numberOf(s: JsonSchema): fc.Arbitrary<number> {
  const min = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : undefined);
  const max = s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - 1 : undefined);
  if (s.type === 'integer') {
    const lo = Math.max(min ?? -(2 ** 31), Number.MIN_SAFE_INTEGER);
    const hi = Math.min(max ?? 2 ** 31, Number.MAX_SAFE_INTEGER);
    return fc.oneof(fc.integer({ min: lo, max: hi }), fc.constantFrom(lo, hi));
  }
  return fc.double({ min: min ?? -1e15, max: max ?? 1e15, noNaN: true, noDefaultInfinity: true });
}

/** Values the schema accepts (as far as JSON Schema can say: refinements are the route's business). */
export function valid(s: JsonSchema, depth = 0): fc.Arbitrary<unknown> {
  if (!s || typeof s !== 'object' || Object.keys(s).length === 0 || depth > 4) return fc.jsonValue({ maxDepth: 2 });
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return fc.oneof(...alts.map((a: JsonSchema) => valid(a, depth + 1)));
  if (s.allOf) return valid(s.allOf[0], depth + 1);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'string':
      return stringOf(s);
    case 'integer':
    case 'number':
      return numberOf(s);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      if (s.prefixItems) return fc.tuple(...s.prefixItems.map((p: JsonSchema) => valid(p, depth + 1)));
      return fc.array(valid(s.items, depth + 1), { minLength: s.minItems ?? 0, maxLength: Math.min(s.maxItems ?? 5, 5) });
    }
    case 'object': {
      const props: Record<string, JsonSchema> = s.properties ?? {};
      const record = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, valid(v, depth + 1)]));
      if (Object.keys(props).length === 0)
        return fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 });
      return fc.record(record, { requiredKeys: s.required ?? [] });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** One past each bound, the wrong type, a malformed format: for a single value. */
function brokenScalar(s: JsonSchema): fc.Arbitrary<unknown> {
  const out: fc.Arbitrary<unknown>[] = [hostileScalar];
  const type = Array.isArray(s?.type) ? s.type[0] : s?.type;
  if (type === 'string') {
    if (s.maxLength !== undefined) out.push(fc.constant('a'.repeat(s.maxLength + 1)), fc.constant('é'.repeat(s.maxLength + 1)));
    if (s.minLength) out.push(fc.constant('a'.repeat(s.minLength - 1)));
    if (s.format === 'uuid') out.push(fc.constantFrom(...NASTY_UUIDS));
    if (s.format?.startsWith('date')) out.push(fc.constantFrom(...NASTY_DATES));
    out.push(fc.constantFrom(...NASTY_NUMBERS)); // a number where text belongs
  }
  if (type === 'integer' || type === 'number') {
    if (s.maximum !== undefined) out.push(fc.constant(s.maximum + 1));
    if (s.minimum !== undefined) out.push(fc.constant(s.minimum - 1));
    out.push(fc.constantFrom(...NASTY_NUMBERS), fc.constant('1'), fc.constant('NaN'));
  }
  return fc.oneof(...out);
}

/** Something close to valid but wrong in one place, or wrong altogether. */
export function hostile(s: JsonSchema, depth = 0): fc.Arbitrary<unknown> {
  const type = Array.isArray(s?.type) ? s.type[0] : s?.type;
  const alternatives: fc.Arbitrary<unknown>[] = [brokenScalar(s)];
  if (type === 'object' && s.properties && depth < 3) {
    const keys = Object.keys(s.properties);
    const base = valid(s, depth) as fc.Arbitrary<Record<string, unknown>>;
    if (keys.length)
      alternatives.push(
        // one field wrong
        fc
          .tuple(base, fc.constantFrom(...keys))
          .chain(([obj, k]) => hostile(s.properties[k], depth + 1).map((bad) => ({ ...obj, [k]: bad }))),
      );
    // an unknown field, a polluting field
    alternatives.push(
      // a computed key makes __proto__ an own property, so it is really sent
      fc
        .tuple(base, fc.constantFrom('unknownField', '__proto__', 'constructor', 'id', 'workspaceId', 'role', 'isAdmin'), hostileScalar)
        .map(([obj, k, v]) => ({ ...obj, [k]: v })),
    );
    // a required field missing
    if (s.required?.length)
      alternatives.push(
        fc.tuple(base, fc.constantFrom(...(s.required as string[]))).map(([obj, k]) => {
          const copy = { ...obj };
          delete copy[k];
          return copy;
        }),
      );
  }
  if (type === 'array' && depth < 3) {
    alternatives.push(fc.array(hostileScalar, { maxLength: 5 }), fc.constant(new Array(10_001).fill(1)));
    if (s.prefixItems) alternatives.push(fc.constant([]), fc.constant([1, 2, 3]), fc.constant(['a', 'b']));
  }
  const alts = s?.anyOf ?? s?.oneOf;
  if (alts && depth < 3) alternatives.push(...alts.map((a: JsonSchema) => hostile(a, depth + 1)));
  return fc.oneof(...alternatives);
}
