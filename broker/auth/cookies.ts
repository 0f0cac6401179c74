import type express from 'express';
import { parse, serialize } from 'cookie';

/**
 * `__Host-` cookies: Secure, Path=/, no Domain — the browser refuses them
 * otherwise, so a sibling subdomain cannot plant or read them.
 */
export const SESSION_COOKIE = '__Host-wact_session';
/** Binds a started sign-in to this browser. Lax: it must survive the redirect back from the issuer. */
export const LOGIN_COOKIE = '__Host-wact_login';

export function readCookie(req: express.Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header || header.length > 8192) return undefined;
  try {
    return parse(header)[name];
  } catch {
    return undefined;
  }
}

export function setSessionCookie(res: express.Response, token: string): void {
  res.append('Set-Cookie', serialize(SESSION_COOKIE, token, { httpOnly: true, secure: true, sameSite: 'strict', path: '/' }));
}

export function clearSessionCookie(res: express.Response): void {
  res.append('Set-Cookie', serialize(SESSION_COOKIE, '', { httpOnly: true, secure: true, sameSite: 'strict', path: '/', maxAge: 0 }));
}

export function setLoginCookie(res: express.Response, loginId: string, maxAgeSeconds: number): void {
  res.append(
    'Set-Cookie',
    serialize(LOGIN_COOKIE, loginId, { httpOnly: true, secure: true, sameSite: 'lax', path: '/', maxAge: maxAgeSeconds }),
  );
}

export function clearLoginCookie(res: express.Response): void {
  res.append('Set-Cookie', serialize(LOGIN_COOKIE, '', { httpOnly: true, secure: true, sameSite: 'lax', path: '/', maxAge: 0 }));
}
