import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../../support/broker.ts';

let b: TestBroker;
beforeAll(async () => {
  b = await startTestBroker();
});
afterAll(async () => {
  await b?.close();
});

describe('browser-less sign-in against the dev OpenID provider', () => {
  it('employee: authorization request, provider login, callback, TOTP enrollment, session cookie, API call', async () => {
    const login = await b.client().get('/auth/login', { headers: { accept: 'text/html' } });
    expect(login.status).toBe(302);
    const authz = new URL(login.headers.get('location')!);
    expect(authz.origin).toBe(new URL(b.issuer).origin);
    expect(authz.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authz.searchParams.get('state')).toBeTruthy();
    expect(authz.searchParams.get('nonce')).toBeTruthy();

    const sec = await b.loginAs('security');
    expect(sec.cookie).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(sec.me).toMatchObject({ kind: 'employee', employeeRole: 'security', totp: 'ok', mfa: true });
    expect(sec.recoveryCodes).toHaveLength(10);
    const employees = await sec.get('/api/me');
    expect(employees.status).toBe(200);
  });

  it('sets the session cookie HttpOnly, Secure, SameSite=Strict under the __Host- prefix', async () => {
    const { callback } = await b.signIn('engineer');
    expect(callback.status).toBe(200);
    const cookie = callback.headers.getSetCookie().find((c) => c.startsWith('__Host-wact_session='))!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/Secure/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).toMatch(/Path=\//i);
  });

  it('a second sign-in asks for a TOTP code, not a new enrollment', async () => {
    await b.loginAs('support');
    const again = await b.loginAs('support', { totp: false });
    expect(again.me.totp).toBe('verify');
    // pending TOTP: the API refuses
    const api = await again.get('/api/me/sessions');
    expect(api.status).toBe(403);
    expect(api.body.error.code).toBe('totp_required');
    const ok = await again.post('/auth/totp/verify', { code: await b.totpCode('support') });
    expect(ok.status).toBe(200);
    expect((await again.get('/api/me')).body.totp).toBe('ok');
  });
});
