import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCliToken, saveCliToken } from '../../../cli/commands/identity.ts';
import { rawRequest, startTestBroker, type TestBroker } from '../../support/broker.ts';

let b: TestBroker;
beforeAll(async () => {
  b = await startTestBroker();
});
afterAll(async () => {
  await b?.close();
});

const post = (p: string, body: unknown, headers: Record<string, string> = {}) =>
  rawRequest(b.agent, undefined, `${b.url}${p}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify(body),
  });

describe('CLI device login', () => {
  it('device code → approval in a signed-in browser (SSO + TOTP) → bearer token → API', async () => {
    const start = await post('/auth/cli/device', {});
    expect(start.status).toBe(200);
    expect(start.body.userCode).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    expect((await post('/auth/cli/token', { deviceCode: start.body.deviceCode })).body.error.code).toBe('authorization_pending');

    const browser = await b.loginAs('engineer');
    const page = await browser.get(`/auth/cli/device?user_code=${start.body.userCode}`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.text).toContain('Approve');
    // Approval is a state change: CSRF applies.
    expect((await browser.post('/auth/cli/device/approve', { user_code: start.body.userCode }, { noCsrf: true })).status).toBe(403);
    expect((await browser.post('/auth/cli/device/approve', { user_code: start.body.userCode })).status).toBe(200);

    const token = await post('/auth/cli/token', { deviceCode: start.body.deviceCode });
    expect(token.status).toBe(200);
    expect(token.body.user.employeeRole).toBe('engineer');
    // single use
    expect((await post('/auth/cli/token', { deviceCode: start.body.deviceCode })).body.error.code).toBe('expired_token');

    const bearer = { authorization: `Bearer ${token.body.token}`, accept: 'application/json' };
    const me = await rawRequest(b.agent, undefined, `${b.url}/api/me`, { headers: bearer });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ kind: 'employee', mfa: true, session: { via: 'cli' } });
    // A bearer token needs no CSRF token; a cookie with the CLI token is refused.
    const asCookie = await rawRequest(b.agent, undefined, `${b.url}/api/me`, {
      headers: { cookie: `__Host-wact_session=${token.body.token}` },
    });
    expect(asCookie.status).toBe(401);
    const out = await post('/auth/logout', {}, { authorization: `Bearer ${token.body.token}` });
    expect(out.status).toBe(204);
    expect((await rawRequest(b.agent, undefined, `${b.url}/api/me`, { headers: bearer })).body.error.code).toBe('session_revoked');
  });

  it('without a browser session the approval page sends you to sign in', async () => {
    const res = await b.client().get('/auth/cli/device?user_code=ABCD-EFGH', { headers: { accept: 'text/html' } });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toMatch(/^\/auth\/login\?return_to=/);
  });

  it('stores the token with mode 0600 and refuses a token file others can read', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-cli-'));
    const file = path.join(dir, 'sub', 'token.json');
    saveCliToken(
      {
        broker: 'https://localhost:1',
        token: 't',
        sessionId: 's',
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
        user: { id: 'u', displayName: 'U', kind: 'employee' },
      },
      file,
    );
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(readCliToken(file)?.token).toBe('t');
    fs.chmodSync(file, 0o644);
    expect(() => readCliToken(file)).toThrow(/readable by others/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
