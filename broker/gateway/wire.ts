/**
 * Small helpers for the PostgreSQL v3 wire format on the relay's hot path:
 * framing (type byte + int32 length), building the few messages the gateway
 * itself sends, and decoding the few the upstream login needs (pg-protocol
 * exports its parser only under dist/, which is not its public API).
 */

export const HEADER = 5;

/** One message, or one piece of a message too large to hold whole (see MessageSplitter). */
export interface Piece {
  /** The message's type byte. */
  type: number;
  /** The whole message's length on the wire (type byte and length included). */
  total: number;
  /** This piece's bytes; the first piece starts with the 5-byte header. */
  bytes: Buffer;
  first: boolean;
  last: boolean;
  /**
   * Whole messages in this piece: 1, or more for a run of consecutive whole
   * messages of one coalescable type in one chunk (then `total` is the run's length).
   */
  count: number;
}

export interface SplitterLimits {
  /** Largest message of this type assembled whole; a larger one is refused (WireError). */
  maxWhole(type: number): number;
  /**
   * Types that may pass in pieces (rows, COPY data, Bind values): a message of
   * such a type longer than `pieceBytes` is handed on as it arrives, its first
   * piece holding at least `pieceBytes` bytes (enough to read any prefix).
   */
  streamable?(type: number): boolean;
  pieceBytes?: number;
  /**
   * Streamable types of which only the type byte is ever read: consecutive
   * whole messages in one chunk pass as one piece (rows and COPY data: a 200
   * MB COPY is ≈ 200,000 messages, and a piece per message cost the relay an
   * object, a view and a tracker call each), and one cut by the chunk's end
   * passes on as soon as its header is in.
   */
  coalescable?(type: number): boolean;
}

/**
 * Splits a byte stream into messages in linear time: every input byte is
 * copied at most once (only when a message spans chunks), a message that
 * fits in one chunk is a view of it, and a large row or COPY message is
 * passed on in pieces instead of being assembled — so one 200 MB row costs
 * neither quadratic copying nor 200 MB of memory. Rows and COPY data
 * (coalescable types) are never copied unless their 5-byte header is cut:
 * what one chunk of them yields is contiguous views of it, which the relay
 * writes as one buffer. A declared length above
 * the type's limit is refused as soon as the 5-byte header is in, before
 * anything of the message is buffered.
 */
export class MessageSplitter {
  private parts: Buffer[] = [];
  private partsLength = 0;
  private type = -1; // header not yet read
  private total = 0;
  private need = HEADER;
  private streamLeft = 0; // bytes of a streamed message still to come
  private readonly pieceBytes: number;

  constructor(private readonly limits: SplitterLimits) {
    this.pieceBytes = limits.pieceBytes ?? 128 * 1024;
  }

  push(chunk: Buffer): Piece[] {
    const out: Piece[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.streamLeft > 0) {
        const n = Math.min(this.streamLeft, chunk.length - at);
        this.streamLeft -= n;
        out.push({
          type: this.type,
          total: this.total,
          bytes: chunk.subarray(at, at + n),
          first: false,
          last: this.streamLeft === 0,
          count: 1,
        });
        at += n;
        if (this.streamLeft === 0) this.reset();
        continue;
      }
      if (this.partsLength === 0 && this.type < 0 && chunk.length - at >= HEADER) {
        // Fast path: the header is in this chunk.
        this.header(chunk, at);
        const available = Math.min(this.total, chunk.length - at);
        if (available === this.total && this.limits.coalescable?.(this.type)) {
          at = this.emitRun(out, chunk, at);
          continue;
        }
        if (available >= this.need) {
          this.emit(out, chunk.subarray(at, at + available));
          at += available;
          continue;
        }
      }
      const take = Math.min(this.need - this.partsLength, chunk.length - at);
      this.parts.push(chunk.subarray(at, at + take));
      this.partsLength += take;
      at += take;
      if (this.partsLength < this.need) break;
      const joined = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.partsLength);
      this.parts = [];
      this.partsLength = 0;
      if (this.type < 0) {
        this.header(joined, 0);
        if (this.need > HEADER) {
          this.parts.push(joined);
          this.partsLength = joined.length;
          continue;
        }
      }
      this.emit(out, joined);
    }
    return out;
  }

  /** Bytes of an incomplete message held here (never more than one message's limit). */
  get buffered(): number {
    return this.partsLength;
  }

  private header(buf: Buffer, at: number): void {
    const type = buf[at];
    const length = buf.readUInt32BE(at + 1);
    if (length < 4) throw new WireError('malformed message length');
    const total = length + 1;
    const streams = this.limits.streamable?.(type) ?? false;
    if (!streams && total > this.limits.maxWhole(type))
      throw new WireError(
        `message '${String.fromCharCode(type)}' of ${total} bytes exceeds the limit of ${this.limits.maxWhole(type)}`,
        '54000',
      );
    this.type = type;
    this.total = total;
    // A row or COPY message (only its type is ever read) passes on as soon as its header is in, the rest as
    // pieces: assembled when a chunk's end cut it, it was a copy, and the chunk's bytes then left in two
    // buffers, which TLS copies once more.
    this.need = !streams ? total : this.limits.coalescable?.(type) ? HEADER : Math.min(total, this.pieceBytes);
  }

  /**
   * The whole message at `at` (header read) and the whole messages of the same
   * type right after it in this chunk, as one piece; returns where the run ends.
   * Each length is checked as `header` checks it.
   */
  private emitRun(out: Piece[], chunk: Buffer, at: number): number {
    const type = this.type;
    let end = at + this.total;
    let count = 1;
    while (chunk.length - end >= HEADER && chunk[end] === type) {
      const length = chunk.readUInt32BE(end + 1);
      if (length < 4) throw new WireError('malformed message length');
      if (length + 1 > chunk.length - end) break; // not whole here: the usual path takes it
      end += length + 1;
      count++;
    }
    out.push({ type, total: end - at, bytes: chunk.subarray(at, end), first: true, last: true, count });
    this.reset();
    return end;
  }

  private emit(out: Piece[], bytes: Buffer): void {
    const whole = bytes.length === this.total;
    out.push({ type: this.type, total: this.total, bytes, first: true, last: whole, count: 1 });
    if (whole) this.reset();
    else this.streamLeft = this.total - bytes.length;
  }

  private reset(): void {
    this.type = -1;
    this.total = 0;
    this.need = HEADER;
  }
}

/** Whole messages only (login exchanges, where every message is small). */
export class Framer {
  private readonly splitter: MessageSplitter;
  constructor(maxMessageBytes = 1024 * 1024) {
    this.splitter = new MessageSplitter({ maxWhole: () => maxMessageBytes });
  }

  push(chunk: Buffer): Buffer[] {
    return this.splitter.push(chunk).map((p) => p.bytes);
  }

  /** Bytes of an incomplete message still waiting for the rest. */
  get buffered(): number {
    return this.splitter.buffered;
  }
}

/** A protocol violation; `code` is the SQLSTATE the peer is told (08P01 unless a limit was hit). */
export class WireError extends Error {
  readonly code: string;
  constructor(message: string, code = '08P01') {
    super(message);
    this.name = 'WireError';
    this.code = code;
  }
}

/** Reads a NUL-terminated UTF-8 string at `at`; returns it and the offset after the NUL. */
export function cstring(buf: Buffer, at: number): [string, number] {
  const end = buf.indexOf(0, at);
  if (end < 0) throw new WireError('unterminated string in message');
  return [buf.toString('utf8', at, end), end + 1];
}

function message(type: string, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(1 + 4 + body.length);
  out.write(type, 0, 'latin1');
  out.writeUInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

function cstr(s: string): Buffer {
  return Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
}

/** ErrorResponse ('E'), or NoticeResponse ('N') with `notice`. */
export function errorMessage(
  fields: { severity: 'ERROR' | 'FATAL' | 'NOTICE' | 'WARNING'; code: string; message: string; detail?: string; hint?: string },
  notice = false,
): Buffer {
  const parts = [
    Buffer.from('S'),
    cstr(fields.severity),
    Buffer.from('V'),
    cstr(fields.severity),
    Buffer.from('C'),
    cstr(fields.code),
    Buffer.from('M'),
    cstr(fields.message),
  ];
  if (fields.detail) parts.push(Buffer.from('D'), cstr(fields.detail));
  if (fields.hint) parts.push(Buffer.from('H'), cstr(fields.hint));
  parts.push(Buffer.from([0]));
  return message(notice ? 'N' : 'E', Buffer.concat(parts));
}

export function authenticationOk(): Buffer {
  const body = Buffer.alloc(4);
  return message('R', body);
}

/** A backend message of the upstream login, decoded (anything else is `other`). */
export type LoginMessage =
  | { name: 'authenticationOk' | 'authenticationCleartextPassword' }
  | { name: 'authenticationMD5Password'; salt: Buffer }
  | { name: 'authenticationSASL'; mechanisms: string[] }
  | { name: 'authenticationSASLContinue' | 'authenticationSASLFinal'; data: string }
  | { name: 'backendKeyData'; processID: number; secretKey: number }
  | { name: 'error'; message: string; code?: string }
  | { name: 'other'; type: string };

/** Decodes one whole login-phase frame ('R' authentication, 'K' backend key, 'E' error). */
export function decodeLogin(frame: Buffer): LoginMessage {
  const type = String.fromCharCode(frame[0]);
  if (type === 'E') {
    const f = errorFields(frame);
    return { name: 'error', message: f.M ?? 'error', code: f.C };
  }
  if (type === 'K') {
    if (frame.length < HEADER + 8) throw new WireError('short BackendKeyData');
    return { name: 'backendKeyData', processID: frame.readInt32BE(HEADER), secretKey: frame.readInt32BE(HEADER + 4) };
  }
  if (type !== 'R' || frame.length < HEADER + 4) return { name: 'other', type };
  const code = frame.readUInt32BE(HEADER);
  const body = frame.subarray(HEADER + 4);
  switch (code) {
    case 0:
      return { name: 'authenticationOk' };
    case 3:
      return { name: 'authenticationCleartextPassword' };
    case 5:
      if (body.length !== 4) throw new WireError('malformed MD5 password request');
      return { name: 'authenticationMD5Password', salt: Buffer.from(body) };
    case 10: {
      const mechanisms: string[] = [];
      let at = HEADER + 4;
      while (at < frame.length && frame[at] !== 0) {
        const [m, next] = cstring(frame, at);
        mechanisms.push(m);
        at = next;
      }
      return { name: 'authenticationSASL', mechanisms };
    }
    case 11:
      return { name: 'authenticationSASLContinue', data: body.toString('utf8') };
    case 12:
      return { name: 'authenticationSASLFinal', data: body.toString('utf8') };
    default:
      return { name: 'other', type: `R${code}` };
  }
}

/** The command tag of a CommandComplete frame, e.g. "SELECT 3", "COPY 10", "INSERT 0 1". */
export function commandTag(frame: Buffer): string {
  return cstring(frame, HEADER)[0];
}

/** Rows affected or returned according to a command tag (null if the tag carries no count). */
export function rowsOfTag(tag: string): number | null {
  const m = /\s(\d+)$/.exec(tag);
  return m ? Number(m[1]) : null;
}

/** Fields of an ErrorResponse / NoticeResponse frame by their one-letter codes. */
export function errorFields(frame: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let at = HEADER;
  while (at < frame.length && frame[at] !== 0) {
    const code = String.fromCharCode(frame[at]);
    const [value, next] = cstring(frame, at + 1);
    out[code] = value;
    at = next;
  }
  return out;
}
