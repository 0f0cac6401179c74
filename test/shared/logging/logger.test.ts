import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../../shared/errors/errors.ts';
import { createLogger, REDACTED, serializeError } from '../../../shared/logging/logger.ts';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger({ level: 'trace', name: 'test', destination });
  return { logger, output: () => lines.join(''), records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const PHONE = '+447700900123';
const SECRETS = {
  phone: PHONE,
  body: 'Hi, my card number is 4111 1111 1111 1111',
  token: 'EAAG-access-token-0123456789',
  password: 'hunter2-hunter2',
  clickId: 'IwAR2xYz-fbclid-9f8e7d6c5b4a',
  gclid: 'Cj0KCQ-gclid-value-123',
  cookie: 'wact_session=s3cr3t-session',
  auth: 'Bearer eyJhbGciOi-secret-jwt',
  name: 'Ada Lovelace',
  verify: 'verify-token-xyz-123',
  key: 'BASE64KEYMATERIALxyz==',
  code: 'oauth-code-abc-987',
  totp: '492817',
};

describe('logger redaction', () => {
  it('hides sensitive keys at the top level and one and two levels down', () => {
    const { logger, output } = capture();
    logger.info({ phone: SECRETS.phone, password: SECRETS.password, token: SECRETS.token, code: SECRETS.code }, 'top');
    logger.info({ contact: { wa_id: '447700900123', profile: { name: SECRETS.name } }, msg2: { text: SECRETS.body } }, 'one');
    logger.info({ webhook: { message: { from: PHONE, to: '+12025550123', body: SECRETS.body, caption: SECRETS.body } } }, 'two');
    logger.info(
      { creds: { app: { secret: SECRETS.password, verify_token: SECRETS.verify, key: SECRETS.key, totp: SECRETS.totp } } },
      'creds',
    );
    logger.info(
      {
        click: {
          fbclid: SECRETS.clickId,
          gclid: SECRETS.gclid,
          ctwa_clid: SECRETS.clickId,
          referral: { source_url: 'https://x?fbclid=1' },
        },
      },
      'ads',
    );
    logger.info(
      { messages: [{ from: PHONE, text: { body: SECRETS.body } }], contacts: [{ wa_id: PHONE, profile: { name: SECRETS.name } }] },
      'arrays',
    );
    logger.info({ query: { code: SECRETS.code, state: 'ok-state' } }, 'oauth callback');
    const text = output();
    for (const secret of [...Object.values(SECRETS), '447700900123', '+12025550123', 'fbclid=1']) expect(text).not.toContain(secret);
    expect(text).toContain(REDACTED);
    expect(text).toContain('ok-state'); // not everything is redacted
  });

  it('hides authorization, cookie and set-cookie headers of requests and responses', () => {
    const { logger, output } = capture();
    logger.info(
      {
        req: {
          method: 'POST',
          url: '/webhook',
          headers: { authorization: SECRETS.auth, cookie: SECRETS.cookie, 'x-hub-signature-256': 'sha256=abc123sig', 'user-agent': 'ua/1' },
        },
        res: { statusCode: 200, headers: { 'set-cookie': SECRETS.cookie } },
      },
      'request',
    );
    const text = output();
    for (const secret of [SECRETS.auth, SECRETS.cookie, 'abc123sig']) expect(text).not.toContain(secret);
    expect(text).toContain('ua/1');
  });

  it('redacts contact and profile names but keeps other names (service, error)', () => {
    const { logger, records } = capture();
    logger.info({ contact: { name: SECRETS.name }, service: { name: 'ingest' } }, 'names');
    const [rec] = records();
    expect((rec.contact as { name: string }).name).toBe(REDACTED);
    expect((rec.service as { name: string }).name).toBe('ingest');
    expect(rec.name).toBe('test');
  });

  it('does not mutate the logged object', () => {
    const { logger } = capture();
    const obj = { phone: PHONE, nested: { token: SECRETS.token } };
    logger.info(obj, 'x');
    expect(obj).toEqual({ phone: PHONE, nested: { token: SECRETS.token } });
  });

  it('keeps error codes of logged errors', () => {
    const { logger, records } = capture();
    logger.error({ err: new ConflictError('name taken', 'workspace_name_taken') }, 'failed');
    const err = records()[0].err as Record<string, unknown>;
    expect(err).toMatchObject({ type: 'ConflictError', code: 'workspace_name_taken', status: 409, message: 'name taken' });
  });
});

describe('serializeError', () => {
  function pgError(message: string, fields: Record<string, unknown>) {
    return Object.assign(new Error(message), { severity: 'ERROR', ...fields });
  }

  it('keeps SQLSTATE and constraint, drops detail, where, hint and anything attached', () => {
    const err = pgError('duplicate key value violates unique constraint "contacts_phone_hash_key"', {
      code: '23505',
      detail: `Key (phone)=(${PHONE}) already exists.`,
      hint: `try ${PHONE}`,
      where: `SQL function with ${PHONE}`,
      table: 'contacts',
      constraint: 'contacts_phone_hash_key',
      parameters: [PHONE],
      query: `insert ... '${PHONE}'`,
    });
    const out = serializeError(err);
    expect(out).toMatchObject({
      type: 'Error',
      code: '23505',
      severity: 'ERROR',
      table: 'contacts',
      constraint: 'contacts_phone_hash_key',
    });
    expect(JSON.stringify(out)).not.toContain(PHONE);
    expect(out).not.toHaveProperty('detail');
    expect(out).not.toHaveProperty('parameters');
  });

  it('scrubs values quoted in data-exception messages (SQLSTATE class 22)', () => {
    const err = pgError(`invalid input syntax for type uuid: "${PHONE}"`, { code: '22P02' });
    const out = serializeError(err);
    expect(out.message).toBe(`invalid input syntax for type uuid: "${REDACTED}"`);
    expect(out.stack).not.toContain(PHONE);
    expect(out.stack?.split('\n')[0]).toBe(`Error: ${out.message}`);
  });

  it('drops phone-like digit runs from any message, in any spacing', () => {
    for (const written of [PHONE, '447700900123', '+44 7700 900123', '(202) 555-0123', '+1-202-555-0123']) {
      const out = serializeError(new Error(`lookup failed for ${written} in workspace 42`));
      expect(out.message).toBe(`lookup failed for ${REDACTED} in workspace 42`);
      expect(out.stack).not.toContain(written);
    }
  });

  it('keeps status of HTTP errors, follows causes, survives non-errors', () => {
    const out = serializeError(new Error('outer', { cause: Object.assign(new Error('inner'), { status: 503, detail: PHONE }) }));
    expect(out.cause).toMatchObject({ message: 'inner', status: 503 });
    expect(JSON.stringify(out)).not.toContain(PHONE);
    expect(serializeError(PHONE)).toEqual({ type: 'string', message: '[non-error thrown]' });
    expect(JSON.stringify(serializeError({ phone: PHONE }))).not.toContain(PHONE);
  });
});
