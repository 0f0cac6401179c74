import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { KeyUnavailableError, WactError } from '../errors/errors.ts';
import { serializeError } from '../logging/logger.ts';

/**
 * The last middleware of every express app. Every error becomes
 * { "error": { "code", "message" } } with a fitting status. Messages come from
 * our typed errors or from this file, never from a parser or a library: those
 * quote the input (a JSON SyntaxError shows the start of the body).
 */

interface ErrorBody {
  error: { code: string; message: string; fields?: { path: string; issue: string; expected?: string }[] };
}

/** body-parser / raw-body error types → status, code, message. */
const BODY_ERRORS: Record<string, [number, string, string]> = {
  'entity.too.large': [413, 'payload_too_large', 'request body is too large'],
  'entity.parse.failed': [400, 'malformed_body', 'request body could not be parsed'],
  'entity.verify.failed': [403, 'verification_failed', 'request body failed verification'],
  'charset.unsupported': [415, 'unsupported_charset', 'unsupported request body charset'],
  'encoding.unsupported': [415, 'unsupported_encoding', 'unsupported request body encoding'],
  'request.aborted': [400, 'request_aborted', 'request was aborted'],
  'request.size.invalid': [400, 'bad_request', 'request size did not match content-length'],
  'parameters.too.many': [413, 'payload_too_large', 'too many parameters in request body'],
};

interface ZodLikeIssue {
  path: PropertyKey[];
  code?: string;
  expected?: unknown;
}

function isZodError(err: unknown): err is Error & { issues: ZodLikeIssue[] } {
  return (
    err instanceof Error &&
    (err.name === 'ZodError' || err.constructor?.name === 'ZodError') &&
    Array.isArray((err as { issues?: unknown }).issues)
  );
}

function statusOf(err: unknown): number | undefined {
  const e = err as { status?: unknown; statusCode?: unknown };
  const s = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : undefined;
  return s !== undefined && Number.isInteger(s) && s >= 400 && s <= 599 ? s : undefined;
}

/** Maps any thrown value to the response; exported for tests and non-express callers. */
export function errorResponse(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof WactError) {
    return { status: err.status, body: { error: { code: err.code, message: err.message } } };
  }
  if (isZodError(err)) {
    const fields = err.issues.map((i) => ({
      path: i.path.map(String).join('.') || '(root)',
      issue: i.code ?? 'invalid',
      // for invalid_type, `expected` is a type name, never the input
      ...(i.code === 'invalid_type' && typeof i.expected === 'string' ? { expected: i.expected } : {}),
    }));
    return { status: 400, body: { error: { code: 'invalid_request', message: 'request validation failed', fields } } };
  }
  const type = (err as { type?: unknown })?.type;
  if (typeof type === 'string' && BODY_ERRORS[type]) {
    const [status, code, message] = BODY_ERRORS[type];
    return { status, body: { error: { code, message } } };
  }
  const status = statusOf(err);
  if (status !== undefined && status < 500) {
    // Another library's HTTP error (http-errors): keep its status, not its text.
    return { status, body: { error: { code: `http_${status}`, message: (STATUS_CODES[status] ?? 'request failed').toLowerCase() } } };
  }
  return { status: 500, body: { error: { code: 'internal_error', message: 'internal error' } } };
}

/** The route pattern, not the URL: URLs may carry identifiers. */
function routeOf(req: Request): string {
  const pattern = req.route?.path;
  return typeof pattern === 'string' ? `${req.baseUrl}${pattern}` : req.baseUrl || '(unmatched)';
}

export function createErrorHandler(opts: { logger?: Pick<Logger, 'error' | 'debug'> } = {}): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) {
      next(err); // express aborts the half-sent response
      return;
    }
    const { status, body } = errorResponse(err);
    // A customer's disabled key is their decision, not our failure: no error log (the 503 says it).
    if (status >= 500 && !(err instanceof KeyUnavailableError)) {
      opts.logger?.error({ err: serializeError(err), method: req.method, route: routeOf(req), status }, 'request failed');
    } else {
      opts.logger?.debug({ method: req.method, route: routeOf(req), status, errorCode: body.error.code }, 'request refused');
    }
    res.status(status).json(body);
  };
}

/** After every route: a JSON 404 that does not echo the path. */
export const notFoundHandler: RequestHandler = (_req, res) => {
  res.status(404).json({ error: { code: 'not_found', message: 'not found' } } satisfies ErrorBody);
};
