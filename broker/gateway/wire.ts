import { Parser } from 'pg-protocol/dist/parser.js';
import type { BackendMessage } from 'pg-protocol/dist/messages.js';

/**
 * Small helpers for the PostgreSQL v3 wire format on the relay's hot path:
 * framing (type byte + int32 length), and building the few messages the
 * gateway itself sends. Decoding of backend messages beyond the tag of
 * CommandComplete is left to pg-protocol's Parser.
 */

export const HEADER = 5;

/**
 * Splits a byte stream into whole messages (each returned with its header).
 * Frames that arrive within one chunk are subarrays of it (no copy).
 */
export class Framer {
  private pending: Buffer | null = null;

  push(chunk: Buffer): Buffer[] {
    let buf = chunk;
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    const frames: Buffer[] = [];
    let at = 0;
    while (buf.length - at >= HEADER) {
      const len = buf.readUInt32BE(at + 1);
      if (len < 4) throw new WireError('malformed message length');
      const end = at + 1 + len;
      if (end > buf.length) break;
      frames.push(buf.subarray(at, end));
      at = end;
    }
    if (at < buf.length) this.pending = Buffer.from(buf.subarray(at)); // copy: the chunk may be large
    return frames;
  }

  /** Bytes of an incomplete message still waiting for the rest. */
  get buffered(): number {
    return this.pending?.length ?? 0;
  }
}

export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireError';
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

/** The backend messages of one chunk, decoded by pg-protocol (authentication, errors, status). */
export function decodeBackend(frames: Buffer | Buffer[]): BackendMessage[] {
  const parser = new Parser();
  const out: BackendMessage[] = [];
  for (const f of Array.isArray(frames) ? frames : [frames]) parser.parse(f, (m) => out.push(m));
  return out;
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
