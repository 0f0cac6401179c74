import type express from 'express';
import type { Logger } from 'pino';
import { WactError } from '../../shared/errors/errors.ts';
import { errorResponse } from '../../shared/http/error-handler.ts';
import { serializeError } from '../../shared/logging/logger.ts';

export class ServiceUnavailableError extends WactError {
  constructor(message: string, code = 'unavailable') {
    super(503, code, message);
  }
}

/** The foundation's mapping (typed errors, zod, body-parser) flattened for the auth pages. */
export function errorBody(err: unknown): { status: number; code: string; message: string } {
  const { status, body } = errorResponse(err);
  return { status, code: body.error.code, message: body.error.message };
}

export function sendError(res: express.Response, err: unknown, logger?: Pick<Logger, 'error'>): void {
  const { status, body } = errorResponse(err);
  if (status >= 500 && status !== 503) logger?.error({ err: serializeError(err) }, 'request failed');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.status(status).json(body);
}
