import type { RequestHandler } from 'express';
import helmet from 'helmet';

/**
 * Response headers for every HTTPS listener (API and the console SPA).
 * The CSP allows only same-origin scripts, connections, fonts and images; no
 * inline script, no eval, no framing, no plugins. style-src keeps
 * 'unsafe-inline' because the console's MUI/emotion and chart libraries inject
 * <style> elements and style attributes at run time; inline style cannot run
 * script, and every other directive stays strict.
 */
export interface SecurityHeaderOptions {
  /** Extra origins the page may connect to (e.g. the OpenID provider in development). */
  connectSrc?: string[];
  /** Extra origins forms may post to (e.g. an OpenID provider's login form). */
  formAction?: string[];
}

export const HSTS_MAX_AGE_SECONDS = 2 * 365 * 24 * 3600; // two years

export function securityHeaders(opts: SecurityHeaderOptions = {}): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'self'"],
        'script-src': ["'self'"],
        'script-src-attr': ["'none'"],
        'style-src': ["'self'", "'unsafe-inline'"],
        'img-src': ["'self'", 'data:', 'blob:'],
        'font-src': ["'self'", 'data:'],
        'connect-src': ["'self'", ...(opts.connectSrc ?? [])],
        'manifest-src': ["'self'"],
        'worker-src': ["'self'"],
        'object-src': ["'none'"],
        'base-uri': ["'none'"],
        'frame-src': ["'none'"],
        'frame-ancestors': ["'none'"],
        'form-action': ["'self'", ...(opts.formAction ?? [])],
        'upgrade-insecure-requests': [],
      },
    },
    strictTransportSecurity: { maxAge: HSTS_MAX_AGE_SECONDS, includeSubDomains: true },
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  }) as RequestHandler;
}
