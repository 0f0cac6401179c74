import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import express from 'express';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, CryptoError, ForbiddenError, NotFoundError } from '../../../shared/errors/errors.ts';
import { createErrorHandler, notFoundHandler } from '../../../shared/http/error-handler.ts';
import { createLogger } from '../../../shared/logging/logger.ts';
import { InvalidPhoneError } from '../../../shared/phone/phone.ts';

const PHONE = '+447700900123';
const logLines: string[] = [];
const logger = createLogger({
  level: 'debug',
  name: 'http-test',
  destination: new Writable({
    write(c, _e, cb) {
      logLines.push(String(c));
      cb();
    },
  }),
});

let server: Server;
let base: string;

beforeAll(async () => {
  const app = express();
  app.use(express.json({ limit: '1kb' }));
  app.get('/conflict', () => {
    throw new ConflictError('workspace name already taken', 'workspace_name_taken');
  });
  app.get('/forbidden', () => {
    throw new ForbiddenError();
  });
  app.get('/missing', () => {
    throw new NotFoundError('no such workspace');
  });
  app.get('/phone', () => {
    throw new InvalidPhoneError();
  });
  app.post('/validate', (req, res) => {
    const body = z.object({ phone: z.string().regex(/^\+\d+$/), nested: z.object({ count: z.number().int() }) }).parse(req.body);
    res.json(body);
  });
  app.get('/boom', () => {
    throw Object.assign(new Error(`insert failed for ${PHONE}`), { code: '23505', severity: 'ERROR', detail: `Key (phone)=(${PHONE})` });
  });
  app.get('/crypto', async () => {
    throw new CryptoError('decrypt_failed', 'encrypted field could not be decrypted');
  });
  app.get('/http-error', () => {
    throw Object.assign(new Error(`range ${PHONE} not satisfiable`), { status: 416, expose: true });
  });
  app.use(notFoundHandler);
  app.use(createErrorHandler({ logger }));
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

async function call(path: string, init?: RequestInit) {
  const res = await fetch(`${base}${path}`, init);
  const text = await res.text();
  return {
    status: res.status,
    text,
    body: JSON.parse(text) as { error: { code: string; message: string; fields?: unknown[] } },
    type: res.headers.get('content-type'),
  };
}
const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) => ({
  method: 'POST',
  body,
  headers,
});

describe('error handler', () => {
  it('maps typed errors to their status, code and message', async () => {
    expect(await call('/conflict')).toMatchObject({
      status: 409,
      body: { error: { code: 'workspace_name_taken', message: 'workspace name already taken' } },
    });
    expect(await call('/forbidden')).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect(await call('/missing')).toMatchObject({ status: 404, body: { error: { code: 'not_found', message: 'no such workspace' } } });
    expect(await call('/phone')).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_phone', message: 'invalid phone number' } },
    });
  });

  it('maps zod errors to 400 with field paths and no values', async () => {
    const res = await call('/validate', post(JSON.stringify({ phone: `x${PHONE}`, nested: { count: 'many-secret-words' } })));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(res.body.error.fields).toEqual([
      { path: 'phone', issue: 'invalid_format' },
      { path: 'nested.count', issue: 'invalid_type', expected: 'number' },
    ]);
    expect(res.text).not.toContain(PHONE);
    expect(res.text).not.toContain('many-secret-words');
  });

  it('maps body-parser errors to 4xx without quoting the body', async () => {
    const malformed = await call('/validate', post(`{"phone": "${PHONE}", oops`));
    expect(malformed).toMatchObject({ status: 400, body: { error: { code: 'malformed_body' } } });
    expect(malformed.text).not.toContain(PHONE);
    const tooLarge = await call('/validate', post(JSON.stringify({ phone: PHONE, pad: 'x'.repeat(2000) })));
    expect(tooLarge).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
    const charset = await call('/validate', post('{}', { 'content-type': 'application/json; charset=ebcdic' }));
    expect(charset).toMatchObject({ status: 415, body: { error: { code: 'unsupported_charset' } } });
  });

  it('keeps a library HTTP error status but not its text', async () => {
    const res = await call('/http-error');
    expect(res).toMatchObject({ status: 416, body: { error: { code: 'http_416', message: 'range not satisfiable' } } });
    expect(res.text).not.toContain(PHONE);
  });

  it('answers anything else with a generic 500 and logs it without values', async () => {
    logLines.length = 0;
    const res = await call('/boom');
    expect(res).toMatchObject({ status: 500, body: { error: { code: 'internal_error', message: 'internal error' } } });
    expect(res.text).not.toContain(PHONE);
    expect((await call('/crypto')).status).toBe(500);
    const log = logLines.join('');
    expect(log).toContain('"code":"23505"');
    expect(log).toContain('"route":"/boom"');
    expect(log).toContain('decrypt_failed');
    expect(log).not.toContain(`Key (phone)`);
    expect(log).not.toContain('447700900123');
    expect(log).not.toContain('7700 900');
  });

  it('answers unknown routes with a JSON 404 that does not echo the path', async () => {
    const res = await call(`/contacts/${encodeURIComponent(PHONE)}`);
    expect(res).toMatchObject({ status: 404, body: { error: { code: 'not_found', message: 'not found' } } });
    expect(res.type).toContain('application/json');
    expect(res.text).not.toContain('447700900123');
  });
});
