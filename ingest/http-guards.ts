import type { RequestHandler } from 'express';
import { WactError } from '../shared/errors/errors.ts';

/** Refuses a body of another media type before any parser looks at it. */
export function requireMediaType(type: string): RequestHandler {
  return (req, _res, next) => {
    if (!req.is(type)) next(new WactError(415, 'unsupported_media_type', `this endpoint expects ${type}`));
    else next();
  };
}
