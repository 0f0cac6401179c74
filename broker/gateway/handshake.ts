import net from 'node:net';
import tls from 'node:tls';
import { cstring, errorMessage, HEADER } from './wire.ts';

/**
 * The gateway's side of a connection up to authentication — the part any
 * stranger on the network can reach, so it accepts exactly what a PostgreSQL
 * client needs and nothing else:
 *
 *   SSLRequest → 'S' and TLS;  GSSENCRequest → 'N';  CancelRequest → handed on;
 *   StartupMessage (over TLS only) → AuthenticationCleartextPassword;
 *   PasswordMessage → the caller authenticates.
 *
 * Anything else before login is a FATAL and a close. Packets are capped
 * before they are buffered (the startup packet at 10,000 bytes, like
 * PostgreSQL's MAX_STARTUP_PACKET_LENGTH), bytes that arrive with an
 * SSLRequest before the TLS handshake are refused (the buffer-stuffing class
 * of CVE-2021-23214), and the whole exchange has a deadline.
 */

export const MAX_STARTUP_PACKET = 10_000;
const MAX_PASSWORD_MESSAGE = 4096;
/** More than this unanswered before login is not a PostgreSQL client. */
const MAX_PRELOGIN_BUFFER = 64 * 1024;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 3;

export type HandshakeResult =
  | { kind: 'cancel'; processId: number; secretKey: number }
  | {
      kind: 'login';
      socket: tls.TLSSocket;
      parameters: Record<string, string>;
      password: string;
      /** Ends the connection with a FATAL message. */
      refuse(code: string, message: string): void;
    }
  | { kind: 'closed' };

export interface HandshakeOptions {
  secureContext: tls.SecureContext;
  timeoutMs: number;
}

/** A FATAL refusal the client is told before the connection closes. */
class Refusal extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads length-prefixed packets from a socket with a cap declared per read,
 * checked as soon as the length is in (nothing above the cap is buffered).
 */
class PacketReader {
  private chunks: Buffer[] = [];
  private length = 0;
  private waiter?: () => void;
  private ended = false;
  private readonly onData = (c: Buffer) => {
    this.chunks.push(c);
    this.length += c.length;
    if (this.length > MAX_PRELOGIN_BUFFER) {
      this.socket.destroy();
      this.ended = true;
    }
    this.waiter?.();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.waiter?.();
  };

  constructor(readonly socket: net.Socket) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
  }

  detach(): void {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
  }

  get pending(): number {
    return this.length;
  }

  /** Untyped startup-phase packet: int32 length (itself included), then the body. */
  async startupPacket(max: number): Promise<Buffer> {
    const head = await this.peek(4);
    const len = head.readUInt32BE(0);
    if (len < 8 || len > max) throw new Refusal('08P01', `invalid startup packet length ${len}`);
    return this.take(len);
  }

  /** Typed message: type byte, int32 length. */
  async message(max: number): Promise<Buffer> {
    const head = await this.peek(HEADER);
    const len = head.readUInt32BE(1);
    if (len < 4 || len + 1 > max) throw new Refusal('08P01', `invalid message length ${len}`);
    return this.take(len + 1);
  }

  private async peek(n: number): Promise<Buffer> {
    await this.need(n);
    return this.joined().subarray(0, n);
  }

  private async take(n: number): Promise<Buffer> {
    await this.need(n);
    const all = this.joined();
    const out = Buffer.from(all.subarray(0, n));
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.length = rest.length;
    return out;
  }

  private joined(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.length)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  private async need(n: number): Promise<void> {
    while (this.length < n) {
      if (this.ended) throw new Refusal('08006', 'connection closed');
      await new Promise<void>((r) => (this.waiter = r));
      this.waiter = undefined;
    }
  }
}

function parseStartup(packet: Buffer): Record<string, string> {
  const params: Record<string, string> = {};
  let at = 8;
  while (at < packet.length && packet[at] !== 0) {
    const [key, next] = cstring(packet, at);
    const [value, after] = cstring(packet, next);
    params[key] = value;
    at = after;
  }
  if (at !== packet.length - 1) throw new Refusal('08P01', 'invalid startup packet layout');
  return params;
}

/** NegotiateProtocolVersion: we speak 3.0 and none of the requested _pq_ options. */
function negotiateProtocol(options: string[]): Buffer {
  const strings = Buffer.concat(options.map((o) => Buffer.from(`${o}\0`, 'utf8')));
  const out = Buffer.alloc(HEADER + 8 + strings.length);
  out.write('v', 0, 'latin1');
  out.writeUInt32BE(4 + 8 + strings.length, 1);
  out.writeUInt32BE(0, 5);
  out.writeUInt32BE(options.length, 9);
  strings.copy(out, 13);
  return out;
}

function passwordRequest(): Buffer {
  const out = Buffer.alloc(9);
  out.write('R', 0, 'latin1');
  out.writeUInt32BE(8, 1);
  out.writeUInt32BE(3, 5); // AuthenticationCleartextPassword (only ever over TLS)
  return out;
}

export async function handshake(raw: net.Socket, opts: HandshakeOptions): Promise<HandshakeResult> {
  let socket: net.Socket = raw;
  let reader = new PacketReader(raw);
  const timer = setTimeout(() => socket.destroy(), opts.timeoutMs);
  timer.unref();
  const refuse = (code: string, message: string) => {
    reader.detach();
    if (!socket.destroyed) socket.end(errorMessage({ severity: 'FATAL', code, message }));
    setTimeout(() => socket.destroy(), 1000).unref();
  };
  try {
    let secure: tls.TLSSocket | undefined;
    let gssRefused = false;
    for (;;) {
      const packet = await reader.startupPacket(MAX_STARTUP_PACKET);
      const code = packet.readUInt32BE(4);
      if (code === CANCEL_REQUEST && packet.length === 16) {
        clearTimeout(timer);
        reader.detach();
        socket.destroy();
        return { kind: 'cancel', processId: packet.readInt32BE(8), secretKey: packet.readInt32BE(12) };
      }
      if (code === SSL_REQUEST && packet.length === 8 && !secure) {
        // Bytes sent along with the SSLRequest would be read as if protected by TLS: refuse them.
        if (reader.pending) throw new Refusal('08P01', 'received unencrypted data after SSL request');
        reader.detach();
        raw.write('S');
        secure = new tls.TLSSocket(raw, { isServer: true, secureContext: opts.secureContext });
        socket = secure;
        secure.on('error', () => undefined);
        await new Promise<void>((resolve, reject) => {
          secure!.once('secure', resolve);
          secure!.once('error', reject);
          secure!.once('close', () => reject(new Refusal('08006', 'connection closed during TLS')));
        }).catch(() => {
          throw new Refusal('08006', 'TLS handshake failed');
        });
        reader = new PacketReader(secure);
        continue;
      }
      if (code === GSSENC_REQUEST && packet.length === 8 && !secure && !gssRefused) {
        if (reader.pending) throw new Refusal('08P01', 'received unencrypted data after GSSENC request');
        gssRefused = true;
        raw.write('N');
        continue;
      }
      if (code >>> 16 !== PROTOCOL_3) throw new Refusal('08P01', 'unsupported frontend protocol or request before login');
      if (!secure) throw new Refusal('28000', 'the WAct gateway accepts TLS connections only (use sslmode=verify-full)');
      const parameters = parseStartup(packet);
      const minor = code & 0xffff;
      const unknownOptions = Object.keys(parameters).filter((k) => k.startsWith('_pq_.'));
      if (minor !== 0 || unknownOptions.length) secure.write(negotiateProtocol(unknownOptions));
      if (!parameters.user) throw new Refusal('28000', 'no user name given (the user is the access session id)');
      if (parameters.replication && parameters.replication !== 'false' && parameters.replication !== 'off')
        throw new Refusal('28000', 'replication connections are not allowed through the gateway');
      secure.write(passwordRequest());
      const message = await reader.message(MAX_PASSWORD_MESSAGE);
      if (message[0] !== 0x70 /* 'p' */)
        throw new Refusal('08P01', `expected a password message, got '${String.fromCharCode(message[0])}'`);
      const [password, end] = cstring(message, HEADER);
      if (end !== message.length) throw new Refusal('08P01', 'invalid password message');
      // Nothing may be pipelined behind the password: the session does not exist yet.
      if (reader.pending) throw new Refusal('08P01', 'data received before authentication completed');
      reader.detach();
      clearTimeout(timer);
      secure.pause();
      return { kind: 'login', socket: secure, parameters, password, refuse };
    }
  } catch (err) {
    clearTimeout(timer);
    if (err instanceof Refusal) {
      if (err.code === '08006') socket.destroy();
      else refuse(err.code, err.message);
    } else {
      refuse('08P01', 'invalid message before login');
    }
    return { kind: 'closed' };
  }
}
