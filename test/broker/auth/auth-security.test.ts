import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest, startTestBroker, type TestBroker } from '../../support/broker.ts';

let b: TestBroker;
beforeAll(async () => {
  b = await startTestBroker();
});
afterAll(async () => {
  await b?.close();
});

async function auditActions(actorId: string): Promise<{ action: string; outcome: string }[]> {
  const { rows } = await b.platform.pools.control.query<{ action: string; outcome: string }>(
    'SELECT action, outcome FROM audit.events WHERE actor_id = $1 ORDER BY occurred_at, seq',
    [actorId],
  );
  return rows;
}

describe('sign-in refusals', () => {
  it('refuses a callback whose state does not match, and audits it', async () => {
    const { callback } = await b.signIn('engineer', {
      tamper: (u) => {
        u.searchParams.set('state', 'forged-state-value');
        return u;
      },
    });
    expect(callback.status).toBe(400);
    expect(callback.body.error.code).toBe('invalid_state');
    expect(
      callback.headers.getSetCookie().some((c) => c.startsWith('__Host-wact_session=') && !c.startsWith('__Host-wact_session=;')),
    ).toBe(false);
    const { rows } = await b.platform.pools.control.query(
      `SELECT 1 FROM audit.events WHERE action = 'auth.login' AND outcome = 'failure' AND metadata LIKE '%invalid_state%'`,
    );
    expect(rows.length).toBeGreaterThan(0);
  });

  it('refuses a replayed callback and a replayed authorization code', async () => {
    const employee = b.createEmployee('engineer');
    let callbackUrl: URL | undefined;
    const first = await b.signIn(employee, { tamper: (u) => (callbackUrl = u) });
    expect(first.callback.status).toBe(200);
    // Same callback again in the same browser: the sign-in was consumed.
    const again = await rawRequest(b.agent, first.client.jar, callbackUrl!.href, { headers: { accept: 'application/json' } });
    expect(again.status).toBe(400);
    expect(again.body.error.code).toBe('login_expired');
    // The old code with a fresh sign-in's state: the issuer refuses the code (used, and bound to another PKCE verifier).
    const second = await b.signIn(employee, {
      tamper: (u) => {
        u.searchParams.set('code', callbackUrl!.searchParams.get('code')!);
        return u;
      },
    });
    expect(second.callback.status).toBe(400);
    expect(second.callback.body.error.code).toBe('login_failed');
  });

  it('refuses malformed callbacks and callbacks without the browser binding', async () => {
    const c = b.client();
    for (const q of [
      '',
      '?code=x',
      '?state=y',
      `?code=${'a'.repeat(5000)}&state=s`,
      '?error=access_denied&state=s',
      '?code=a&code=b&state=s',
    ]) {
      const res = await c.get(`/auth/callback${q}`);
      expect(res.status, q).toBeGreaterThanOrEqual(400);
      expect(res.status, q).toBeLessThan(500);
      expect(res.body.error.code).toBeTruthy();
    }
    const html = await c.get('/auth/callback?code=a&state=b', { headers: { accept: 'text/html' } });
    expect(html.status).toBe(400);
    expect(html.headers.get('content-type')).toMatch(/html/);
    expect(html.text).not.toMatch(/at .*\.ts/); // no stack
  });

  it('an unknown customer identity gets no access until invited', async () => {
    const stranger = b.oidc.identities.add({ email: 'stranger@nowhere.example', name: 'Stranger' });
    const { callback } = await b.signIn(stranger);
    expect(callback.status).toBe(403);
    expect(callback.body.error.code).toBe('no_access');
    const { rows } = await b.platform.pools.control.query('SELECT 1 FROM wact.users WHERE email = $1', ['stranger@nowhere.example']);
    expect(rows).toHaveLength(0); // nothing half-created
  });

  it('a staff-domain email without a staff group is not an employee', async () => {
    const pretender = b.oidc.identities.add({ email: 'pretender@wact.dev', name: 'Pretender', groups: ['marketing'] });
    const { callback } = await b.signIn(pretender);
    expect(callback.status).toBe(403);
  });

  it('a code issued to another client is refused at the callback', async () => {
    const other = await startTestBroker({ extraClients: [{ client_id: 'someone-else', client_secret: 'someone-else-secret-0123456789' }] });
    try {
      const { callback } = await other.signIn('engineer', {
        tamperAuthorize: (u) => {
          u.searchParams.set('client_id', 'someone-else');
          return u;
        },
      });
      expect(callback.status).toBe(400);
      expect(callback.body.error.code).toBe('login_failed');
    } finally {
      await other.close();
    }
  });

  it('an issuer that is down: 503 with a clear message, nothing created', async () => {
    const down = await startTestBroker({ env: {} });
    await down.oidc.close();
    const res = await down.client().get('/auth/login');
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('identity_provider_unavailable');
    await down.broker.close();
    await down.platform.close();
  });
});

describe('sessions', () => {
  it('forged, expired and revoked sessions are refused with clear codes', async () => {
    const forged = b.client();
    forged.cookie = 'A'.repeat(43);
    expect((await forged.get('/api/me/sessions')).body.error.code).toBe('unauthenticated');
    forged.cookie = '<script>;';
    expect((await forged.get('/api/me/sessions')).status).toBe(401);

    const analystWs = await b.createWorkspace();
    const { identity } = await b.createCustomer(analystWs.id, 'analyst');
    const c = await b.loginAs(identity);
    expect((await c.get('/api/me/sessions')).status).toBe(200);
    const sid = c.me.session.id;
    // idle timeout
    await b.platform.pools.control.query(`UPDATE wact.sessions SET last_seen_at = now() - interval '31 minutes' WHERE id = $1`, [sid]);
    const idle = await c.get('/api/me/sessions');
    expect(idle.status).toBe(401);
    expect(idle.body.error.code).toBe('session_expired');

    // absolute lifetime, even when used
    const c2 = await b.loginAs(identity);
    await b.platform.pools.control.query(`UPDATE wact.sessions SET expires_at = now() - interval '1 second' WHERE id = $1`, [
      c2.me.session.id,
    ]);
    expect((await c2.get('/api/me/sessions')).body.error.code).toBe('session_expired');

    // revoke all my sessions
    const c3 = await b.loginAs(identity);
    const c4 = await b.loginAs(identity);
    expect((await c3.post('/api/me/sessions/revoke-all', {})).status).toBe(200);
    expect((await c4.get('/api/me/sessions')).body.error.code).toBe('session_revoked');
    expect((await c3.get('/api/me/sessions')).body.error.code).toBe('session_revoked');

    // logout
    const c5 = await b.loginAs(identity);
    expect((await c5.post('/auth/logout', {})).status).toBe(204);
    expect((await c5.get('/api/me/sessions')).status).toBe(401);
  });

  it('security revokes an employee’s sessions; others may not', async () => {
    const victim = b.createEmployee('engineer');
    const eng = await b.loginAs(victim);
    const sec = await b.loginAs('security');
    const support = await b.loginAs('support');
    expect((await support.post(`/api/employees/${eng.me.id}/sessions/revoke`, {})).status).toBe(403);
    const list = await sec.get('/api/employees');
    expect(list.status).toBe(200);
    expect(list.headers.get('content-range')).toMatch(/^employees /);
    expect(list.body.find((e: { id: string }) => e.id === eng.me.id)).toMatchObject({ totpEnrolled: true, employeeRole: 'engineer' });
    const res = await sec.post(`/api/employees/${eng.me.id}/sessions/revoke`, {}, { reason: 'laptop stolen' });
    expect(res.status).toBe(200);
    expect(res.body.ended).toBeGreaterThanOrEqual(1);
    expect((await eng.get('/api/me/sessions')).body.error.code).toBe('session_revoked');
    expect((await auditActions(sec.me.id)).map((e) => e.action)).toContain('auth.sessions.revoke_all');
  });

  it('CSRF: a state-changing request without the token, or from another origin, is refused', async () => {
    const c = await b.loginAs('security');
    const noToken = await c.post('/api/me/sessions/revoke-all', {}, { noCsrf: true });
    expect(noToken.status).toBe(403);
    expect(noToken.body.error.code).toBe('csrf_failed');
    const wrong = await c.post('/api/me/sessions/revoke-all', {}, { noCsrf: true, headers: { 'x-csrf-token': 'x'.repeat(43) } });
    expect(wrong.body.error.code).toBe('csrf_failed');
    const foreign = await c.post('/api/me/sessions/revoke-all', {}, { headers: { origin: 'https://evil.example' } });
    expect(foreign.body.error.code).toBe('csrf_failed');
    expect((await c.post('/auth/logout', {}, { noCsrf: true })).status).toBe(403);
    expect((await c.get('/api/me/sessions')).status).toBe(200); // nothing happened
  });

  it('oversized headers are refused before any handler', async () => {
    const res = await rawRequest(b.agent, undefined, `${b.url}/api/me`, {
      headers: { cookie: `__Host-wact_session=${'a'.repeat(20000)}` },
    });
    expect(res.status).toBe(431);
  });
});

describe('TOTP', () => {
  it('a used code is refused (replay), even on a later sign-in', async () => {
    const emp = b.createEmployee('support');
    await b.loginAs(emp);
    const state = b.totpState(emp)!;
    const replay = await generate({ secret: state.secret, epoch: state.lastStep * 30 });
    const c = await b.loginAs(emp, { totp: false });
    const res = await c.post('/auth/totp/verify', { code: replay });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('code_replayed');
  });

  it('five wrong codes lock TOTP (even the right code is then refused) and the lockout is audited', async () => {
    const emp = b.createEmployee('engineer');
    const first = await b.loginAs(emp);
    const c = await b.loginAs(emp, { totp: false });
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await c.post('/auth/totp/verify', { code: String(100000 + i) })).status);
    expect(codes).toEqual([400, 400, 400, 400, 429]);
    const right = await c.post('/auth/totp/verify', { code: await b.totpCode(emp) });
    expect(right.status).toBe(429);
    expect(right.body.error.code).toBe('totp_locked');
    const recovery = await c.post('/auth/totp/recover', { recoveryCode: first.recoveryCodes![0] });
    expect(recovery.status).toBe(429);
    const actions = await auditActions(first.me.id);
    expect(actions.filter((a) => a.action === 'auth.totp.verify' && a.outcome === 'failure')).toHaveLength(5);
    expect(actions.some((a) => a.action === 'auth.totp.lockout')).toBe(true);
  });

  it('recovery codes work once each', async () => {
    const emp = b.createEmployee('security');
    const first = await b.loginAs(emp);
    const code = first.recoveryCodes![3];
    const c = await b.loginAs(emp, { totp: false });
    const ok = await c.post('/auth/totp/recover', { recoveryCode: code.toUpperCase() });
    expect(ok.status).toBe(200);
    expect(ok.body.remainingRecoveryCodes).toBe(9);
    expect((await c.get('/api/employees')).status).toBe(200);
    const again = await b.loginAs(emp, { totp: false });
    const reused = await again.post('/auth/totp/recover', { recoveryCode: code });
    expect(reused.status).toBe(400);
    expect(reused.body.error.code).toBe('invalid_code');
  });

  it('the TOTP secret is stored encrypted, recovery codes hashed', async () => {
    const emp = b.createEmployee('support');
    const c = await b.loginAs(emp);
    const { secret } = b.totpState(emp)!;
    const { rows } = await b.platform.pools.control.query<{ secret_ct: Buffer }>(
      'SELECT secret_ct FROM wact.totp_credentials WHERE user_id = $1',
      [c.me.id],
    );
    expect(rows[0].secret_ct.includes(Buffer.from(secret))).toBe(false);
    const codes = await b.platform.pools.control.query<{ code_hash: Buffer }>(
      'SELECT code_hash FROM wact.recovery_codes WHERE user_id = $1',
      [c.me.id],
    );
    expect(codes.rows).toHaveLength(10);
    for (const r of codes.rows) for (const code of c.recoveryCodes!) expect(r.code_hash.includes(Buffer.from(code))).toBe(false);
  });

  it('a workspace can require TOTP for its customer members', async () => {
    const ws = await b.createWorkspace();
    const owner = await b.createCustomer(ws.id, 'owner');
    const analyst = await b.createCustomer(ws.id, 'analyst');
    const o = await b.loginAs(owner.identity);
    expect(o.me.totp).toBe('ok');
    expect(o.me.mfa).toBe(false);
    const a = await b.loginAs(analyst.identity); // signed in before the rule: no TOTP
    const set = await o.put(`/api/workspaces/${ws.id}/settings/security`, { requireTotp: true });
    expect(set.status).toBe(200);
    // Existing sessions without TOTP lose access to that workspace at once.
    const denied = await a.get(`/api/workspaces/${ws.id}/members`);
    expect([403]).toContain(denied.status);
    const again = await b.loginAs(analyst.identity, { totp: false });
    expect(again.me.totp).toBe('enroll');
  });
});
