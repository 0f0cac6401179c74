import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../../support/broker.ts';

let b: TestBroker;
beforeAll(async () => {
  b = await startTestBroker({ env: { LOGIN_RATE_PER_IP: '4', LOGIN_RATE_PER_ACCOUNT: '3', TOTP_MAX_FAILURES: '50' } });
});
afterAll(async () => {
  await b?.close();
});

describe('login rate limits', () => {
  it('per client IP: sign-in starts beyond the limit get 429', async () => {
    const c = b.client();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await c.get('/auth/login')).status);
    expect(statuses.slice(0, 4)).toEqual([302, 302, 302, 302]);
    expect(statuses.slice(4)).toEqual([429, 429]);
    expect((await c.get('/auth/login')).body.error.code).toBe('rate_limited');
  });

  it('per account: TOTP attempts beyond the limit get 429 even below the lockout threshold', async () => {
    await b.platform.pools.control.query(`DELETE FROM wact.rate_limits WHERE bucket LIKE $1`, [`${b.config.raw.OIDC_CLIENT_ID}:ip:%`]);
    const emp = b.createEmployee('engineer');
    await b.loginAs(emp); // enrollment: one attempt
    await b.platform.pools.control.query(`DELETE FROM wact.rate_limits WHERE bucket LIKE $1`, [`${b.config.raw.OIDC_CLIENT_ID}:ip:%`]);
    const c = await b.loginAs(emp, { totp: false });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await c.post('/auth/totp/verify', { code: '000000' })).status);
    expect(statuses).toContain(429);
    expect(statuses[0]).toBe(400);
  });
});
