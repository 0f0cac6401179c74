import crypto from 'node:crypto';

/**
 * SCRAM-SHA-256 (RFC 5802 / RFC 7677) as PostgreSQL speaks it, on node:crypto.
 * The client side logs the gateway in upstream as a session role; the verifier
 * builder lets the broker set a session role's password as a SCRAM verifier,
 * so the clear password never reaches the server (nor its statement log).
 */

export const SCRAM_MECHANISM = 'SCRAM-SHA-256';
const DEFAULT_ITERATIONS = 4096;

export class ScramError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScramError';
  }
}

function hmac(key: Buffer, data: string | Buffer): Buffer {
  return crypto.createHmac('sha256', key).update(data).digest();
}
function sha256(data: Buffer): Buffer {
  return crypto.createHash('sha256').update(data).digest();
}
function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}
/** Hi() of RFC 5802 is PBKDF2 with HMAC-SHA-256 and one block. */
function saltedPassword(password: string, salt: Buffer, iterations: number): Buffer {
  // SASLprep is skipped on purpose: broker-made passwords are base64url (ASCII).
  return crypto.pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
}

/** `SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>`, accepted by CREATE ROLE … PASSWORD. */
export function scramVerifier(password: string, opts: { iterations?: number; salt?: Buffer } = {}): string {
  const iterations = opts.iterations ?? DEFAULT_ITERATIONS;
  const salt = opts.salt ?? crypto.randomBytes(16);
  const salted = saltedPassword(password, salt, iterations);
  const storedKey = sha256(hmac(salted, 'Client Key'));
  const serverKey = hmac(salted, 'Server Key');
  return `${SCRAM_MECHANISM}$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

function parseAttributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq !== 1) throw new ScramError('malformed SCRAM message');
    out.set(part[0], part.slice(2));
  }
  return out;
}

/** One client-side SCRAM exchange: start → respond(server-first) → verify(server-final). */
export function createScramClient(password: string, nonce = crypto.randomBytes(18).toString('base64'), user = '') {
  // PostgreSQL ignores the SCRAM user name (it uses the startup user): sent empty.
  const clientFirstBare = `n=${user},r=${nonce}`;
  let expectedServerSignature: Buffer | undefined;
  return {
    /** The client-first message (no channel binding: "n,,"). */
    start(): string {
      return `n,,${clientFirstBare}`;
    },
    /** Takes the server-first message, returns the client-final message. */
    respond(serverFirst: string): string {
      const attrs = parseAttributes(serverFirst);
      const serverNonce = attrs.get('r');
      const saltB64 = attrs.get('s');
      const iterations = Number(attrs.get('i'));
      if (!serverNonce || !serverNonce.startsWith(nonce) || serverNonce.length === nonce.length) {
        throw new ScramError('SCRAM server nonce does not extend the client nonce');
      }
      if (!saltB64) throw new ScramError('SCRAM server-first message has no salt');
      if (!Number.isInteger(iterations) || iterations < 1) throw new ScramError('SCRAM iteration count is invalid');
      const salted = saltedPassword(password, Buffer.from(saltB64, 'base64'), iterations);
      const clientKey = hmac(salted, 'Client Key');
      const storedKey = sha256(clientKey);
      const clientFinalWithoutProof = `c=biws,r=${serverNonce}`; // biws = base64("n,,")
      const authMessage = `${clientFirstBare},${serverFirst},${clientFinalWithoutProof}`;
      const clientSignature = hmac(storedKey, authMessage);
      const proof = xor(clientKey, clientSignature);
      expectedServerSignature = hmac(hmac(salted, 'Server Key'), authMessage);
      return `${clientFinalWithoutProof},p=${proof.toString('base64')}`;
    },
    /** Checks the server's signature: a server that does not know the verifier is refused. */
    verify(serverFinal: string): void {
      if (!expectedServerSignature) throw new ScramError('SCRAM server-final before server-first');
      const attrs = parseAttributes(serverFinal);
      if (attrs.has('e')) throw new ScramError(`SCRAM authentication failed: ${attrs.get('e')}`);
      const signature = Buffer.from(attrs.get('v') ?? '', 'base64');
      if (signature.length !== expectedServerSignature.length || !crypto.timingSafeEqual(signature, expectedServerSignature)) {
        throw new ScramError('SCRAM server signature does not match');
      }
    },
  };
}
