import crypto from 'node:crypto';

/** A fresh opaque token: 256 random bits, URL-safe. */
export function randomToken(bytes = 32): string {
  return crypto.randomBytes(bytes).toString('base64url');
}

/** What we store instead of a bearer secret (sessions, login ids, device codes). */
export function digest(token: string): Buffer {
  return crypto.createHash('sha256').update('wact.token.v1\0').update(token).digest();
}

/** Constant-time equality of two strings (false on length mismatch). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

/**
 * The CSRF token of a session: derived from the session token, so nothing
 * extra is stored and it changes whenever the session token rotates. Only a
 * page that could read our JSON (same origin) can learn it.
 */
export function csrfTokenFor(sessionToken: string): string {
  return crypto.createHmac('sha256', sessionToken).update('wact.csrf.v1').digest('base64url');
}
