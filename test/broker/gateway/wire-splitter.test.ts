import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MessageSplitter, WireError, type Piece } from '../../../broker/gateway/wire.ts';

/**
 * The relay's framing (broker/gateway/wire.ts) against the messages it was
 * given, whatever the chunking. Invariants:
 *  - the pieces' bytes, in order, are exactly the input;
 *  - read back into messages, the pieces give exactly the input's messages, in order:
 *    a piece of several messages (`count` > 1) is `count` whole messages of one
 *    coalescable type, and nothing else is ever coalesced;
 *  - a malformed length inside a run is refused, as it is anywhere else.
 */

const STREAMABLE = new Set(['D'.charCodeAt(0), 'd'.charCodeAt(0)]);
const TYPES = ['D', 'd', 'C', 'T', 'Z', 'E', 'N', 'c', 'H'].map((t) => t.charCodeAt(0));

function message(type: number, payload: number): Buffer {
  const m = Buffer.alloc(5 + payload, 0x61 + (payload % 26));
  m[0] = type;
  m.writeUInt32BE(4 + payload, 1);
  return m;
}

/** The relay's upstream splitter: rows and COPY data stream and coalesce. */
function rowSplitter(opts: { maxWhole?: number; pieceBytes?: number } = {}): MessageSplitter {
  return new MessageSplitter({
    maxWhole: () => opts.maxWhole ?? 1024,
    streamable: (t) => STREAMABLE.has(t),
    coalescable: (t) => STREAMABLE.has(t),
    pieceBytes: opts.pieceBytes,
  });
}

/** Messages back from pieces, checking the coalescing rules on the way. */
function messagesOf(pieces: Piece[]): Buffer[] {
  const out: Buffer[] = [];
  let open: Buffer[] | null = null;
  for (const p of pieces) {
    if (!p.first) {
      expect(open).not.toBeNull();
      open!.push(p.bytes);
    } else {
      expect(open).toBeNull();
      if (p.count > 1) {
        expect(STREAMABLE.has(p.type)).toBe(true);
        expect(p.last).toBe(true);
        expect(p.total).toBe(p.bytes.length);
        let at = 0;
        for (let i = 0; i < p.count; i++) {
          expect(p.bytes[at]).toBe(p.type);
          const end = at + p.bytes.readUInt32BE(at + 1) + 1;
          out.push(p.bytes.subarray(at, end));
          at = end;
        }
        expect(at).toBe(p.bytes.length);
        continue;
      }
      expect(p.count).toBe(1);
      open = [p.bytes];
    }
    if (p.last) {
      out.push(Buffer.concat(open!));
      open = null;
    }
  }
  expect(open).toBeNull();
  return out;
}

describe('MessageSplitter', () => {
  it('gives back exactly the messages it was given, runs of rows coalesced, whatever the chunking (property)', () => {
    const msg = fc.record({
      // Mostly rows and COPY data, so runs are long and chunk edges fall inside them.
      type: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...TYPES.slice(0, 2)) }, { weight: 1, arbitrary: fc.constantFrom(...TYPES) }),
      payload: fc.oneof(
        { weight: 8, arbitrary: fc.integer({ min: 0, max: 80 }) },
        { weight: 1, arbitrary: fc.integer({ min: 81, max: 3000 }) },
      ),
    });
    fc.assert(
      fc.property(
        fc.array(msg, { minLength: 1, maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 40 }),
        (msgs, cuts) => {
          const messages = msgs.map((m) => message(m.type, m.payload));
          const input = Buffer.concat(messages);
          const splitter = rowSplitter({ maxWhole: 1024 * 1024, pieceBytes: 512 });
          const pieces: Piece[] = [];
          let at = 0;
          for (let i = 0; at < input.length; i++) {
            const n = cuts[i % cuts.length];
            pieces.push(...splitter.push(input.subarray(at, at + n)));
            at += n;
          }
          expect(Buffer.concat(pieces.map((p) => p.bytes)).equals(input)).toBe(true);
          const back = messagesOf(pieces);
          expect(back.length).toBe(messages.length);
          back.forEach((m, i) => expect(m.equals(messages[i])).toBe(true));
          expect(splitter.buffered).toBe(0);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('copies no byte of rows and COPY data unless a header is cut: what a chunk yields is contiguous views of it (property)', () => {
    // The relay writes what one upstream chunk releases as one buffer only if it is one run of one chunk's bytes;
    // two buffers cost TLS a copy of the whole write (and a cut row assembled cost a copy of its own).
    const d = ['D'.charCodeAt(0), 'd'.charCodeAt(0)];
    fc.assert(
      fc.property(
        fc.array(fc.record({ type: fc.constantFrom(...d), payload: fc.integer({ min: 0, max: 1500 }) }), { minLength: 1, maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 40 }),
        fc.constantFrom(512, 128 * 1024),
        (msgs, cuts, pieceBytes) => {
          const messages = msgs.map((m) => message(m.type, m.payload));
          const input = Buffer.concat(messages);
          // Where each header lies: a cut strictly inside one is the only reason to copy.
          const headers: number[] = [];
          let start = 0;
          for (const m of messages) {
            headers.push(start);
            start += m.length;
          }
          const insideHeader = (b: number) => headers.some((h) => b > h && b < h + 5);
          const splitter = rowSplitter({ maxWhole: 1024 * 1024, pieceBytes });
          const pieces: Piece[] = [];
          let at = 0;
          for (let i = 0; at < input.length; i++) {
            const chunk = Buffer.from(input.subarray(at, at + cuts[i % cuts.length])); // a buffer of its own, as a socket read is
            const got = splitter.push(chunk);
            // Small buffers share Node's pool: a view is one inside this chunk's own bytes.
            const inChunk = (p: Piece) =>
              p.bytes.buffer === chunk.buffer &&
              p.bytes.byteOffset >= chunk.byteOffset &&
              p.bytes.byteOffset + p.bytes.length <= chunk.byteOffset + chunk.length;
            const copied = got.filter((p) => !inChunk(p));
            if (!insideHeader(at)) expect(copied).toEqual([]);
            else expect(copied.length).toBeLessThanOrEqual(1);
            const views = got.filter(inChunk);
            for (let k = 1; k < views.length; k++)
              expect(views[k].bytes.byteOffset).toBe(views[k - 1].bytes.byteOffset + views[k - 1].bytes.length);
            pieces.push(...got);
            at += chunk.length;
          }
          expect(Buffer.concat(pieces.map((p) => p.bytes)).equals(input)).toBe(true);
          const back = messagesOf(pieces);
          expect(back.length).toBe(messages.length);
          back.forEach((m, i) => expect(m.equals(messages[i])).toBe(true));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('coalesces a run of rows in one chunk into one piece', () => {
    const splitter = rowSplitter();
    const d = 'D'.charCodeAt(0);
    const pieces = splitter.push(
      Buffer.concat([message(d, 10), message(d, 20), message(d, 0), message('C'.charCodeAt(0), 8), message(d, 5)]),
    );
    expect(pieces.map((p) => [String.fromCharCode(p.type), p.count])).toEqual([
      ['D', 3],
      ['C', 1],
      ['D', 1],
    ]);
  });

  it('leaves a row cut by the chunk’s end out of the run, whatever byte it is cut at', () => {
    const d = 'D'.charCodeAt(0);
    const rows = Buffer.concat([message(d, 10), message(d, 20), message(d, 6)]);
    for (let cut = 1; cut < rows.length; cut++) {
      const splitter = rowSplitter();
      const pieces = [...splitter.push(rows.subarray(0, cut)), ...splitter.push(rows.subarray(cut))];
      expect(Buffer.concat(pieces.map((p) => p.bytes)).equals(rows)).toBe(true);
      expect(messagesOf(pieces).length).toBe(3);
    }
  });

  it('refuses a malformed length inside a run of rows', () => {
    const splitter = rowSplitter();
    const d = 'D'.charCodeAt(0);
    const bad = message(d, 0);
    bad.writeUInt32BE(3, 1);
    expect(() => splitter.push(Buffer.concat([message(d, 4), bad, message(d, 4)]))).toThrow(WireError);
  });
});
