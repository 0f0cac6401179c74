/**
 * Reads a one-dimensional PostgreSQL binary array (array_send's layout) back
 * into its elements: a second, independent reading of what
 * shared/db/binary-arrays.ts writes, for tests that look inside the writer's
 * parameters. Refuses anything it does not fully understand.
 */
export function decodeBinaryArray(buf: Buffer): { elementOid: number; elements: (Buffer | null)[] } {
  const ndim = buf.readInt32BE(0);
  const elementOid = buf.readInt32BE(8);
  if (ndim === 0) {
    if (buf.length !== 12) throw new Error('empty array with trailing bytes');
    return { elementOid, elements: [] };
  }
  if (ndim !== 1) throw new Error(`expected one dimension, got ${ndim}`);
  const size = buf.readInt32BE(12);
  if (buf.readInt32BE(16) !== 1) throw new Error('lower bound is not 1');
  const elements: (Buffer | null)[] = [];
  let at = 20;
  for (let i = 0; i < size; i++) {
    const len = buf.readInt32BE(at);
    at += 4;
    if (len === -1) {
      elements.push(null);
      continue;
    }
    elements.push(buf.subarray(at, at + len));
    at += len;
  }
  if (at !== buf.length) throw new Error('trailing bytes after the last element');
  return { elementOid, elements };
}

const hex = (b: Buffer) => b.toString('hex');

/** The elements of a uuid[] (OID 2950) as canonical lower-case strings. */
export function decodeUuids(buf: Buffer): string[] {
  return decodeBinaryArray(buf).elements.map((e) => {
    const h = hex(e!);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  });
}

/** The elements of an int4[] (OID 23). */
export function decodeInt4s(buf: Buffer): number[] {
  return decodeBinaryArray(buf).elements.map((e) => e!.readInt32BE(0));
}
