import type { RequestHandler } from 'express';
import { WactError } from '../shared/errors/errors.ts';

/** Refuses a body of another media type before any parser looks at it. */
export function requireMediaType(type: string): RequestHandler {
  return (req, _res, next) => {
    if (!req.is(type)) next(new WactError(415, 'unsupported_media_type', `this endpoint expects ${type}`));
    else next();
  };
}

/** The workspace API key from `Authorization: Bearer …` or `X-Api-Key`. */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string' && /^Bearer\s+/i.test(auth)) return auth.replace(/^Bearer\s+/i, '').trim();
  const x = headers['x-api-key'];
  return typeof x === 'string' ? x.trim() : undefined;
}
