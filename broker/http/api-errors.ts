import type express from 'express';
import { ZodError } from 'zod';
import { WactError } from '../../shared/errors/errors.ts';
import type { Logger } from 'pino';

export class ServiceUnavailableError extends WactError {
  constructor(message: string, code = 'unavailable') {
    super(503, code, message);
  }
}

/** Maps any thrown value to `{ error: { code, message } }`; unknown errors are 500 and logged without payloads. */
export function errorBody(err: unknown): { status: number; code: string; message: string } {
  if (err instanceof WactError) return { status: err.status, code: err.code, message: err.message };
  if (err instanceof ZodError) {
    const issue = err.issues[0];
    return { status: 400, code: 'invalid_input', message: `invalid input${issue?.path.length ? ` at ${issue.path.join('.')}` : ''}: ${issue?.message ?? 'malformed'}` };
  }
  const e = err as { type?: string; status?: number; statusCode?: number };
  // body-parser errors (malformed JSON, too large, bad charset) carry a 4xx status.
  const status = e?.status ?? e?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, code: e.type === 'entity.too.large' ? 'payload_too_large' : 'bad_request', message: e.type === 'entity.parse.failed' ? 'malformed JSON body' : 'bad request' };
  }
  return { status: 500, code: 'internal', message: 'internal error' };
}

export function sendError(res: express.Response, err: unknown, logger?: Logger): void {
  const body = errorBody(err);
  if (body.status >= 500 && body.status !== 503) logger?.error({ err }, 'request failed');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.status(body.status).json({ error: { code: body.code, message: body.message } });
}

export function errorMiddleware(logger?: Logger): express.ErrorRequestHandler {
  return (err, _req, res, _next) => sendError(res, err, logger);
}
