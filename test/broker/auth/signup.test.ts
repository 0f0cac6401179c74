/**
 * Owner sign-up invitations: an operator lets an email address sign up without
 * a workspace; the first sign-in with that verified email creates the account
 * (once), and the setup wizard's POST /api/workspaces makes it an owner.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSignupService, type SignupService } from '../../../shared/signup/signup-service.ts';
import { createUserService, type UserService } from '../../../broker/auth/user-service.ts';
import type { Pools } from '../../../shared/db/pools.ts';
import { startTestBroker, type TestBroker } from '../../support/broker.ts';
import { servicePools, testDb } from '../../support/db.ts';
import { runWact } from '../../support/cli.ts';

const OPERATOR = { id: 'operator:test', kind: 'operator' as const, role: 'operator', displayName: 'test' };

let b: TestBroker;
let signups: SignupService;
let brokerPools: Pools;
let users: UserService;
beforeAll(async () => {
  b = await startTestBroker();
  signups = createSignupService({ pool: b.platform.pools.control, audit: b.platform.audit });
  brokerPools = servicePools('broker');
  users = createUserService({
    pool: brokerPools.control,
    audit: b.platform.audit,
    staffEmailDomain: 'wact.dev',
    staffGroupClaim: 'groups',
    staffGroupRoles: [],
  });
});
afterAll(async () => {
  await brokerPools?.end();
  await b?.close();
});

const freshEmail = (tag: string) => `${tag}-${crypto.randomBytes(4).toString('hex')}@new-shop.example`;

async function invitationRow(id: string) {
  const { rows } = await b.platform.pools.control.query<{ accepted_at: Date | null; accepted_by: string | null; revoked_at: Date | null }>(
    'SELECT accepted_at, accepted_by, revoked_at FROM wact.signup_invitations WHERE id = $1',
    [id],
  );
  return rows[0];
}

async function usersWithEmail(email: string): Promise<number> {
  const { rows } = await b.platform.pools.control.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM wact.users WHERE lower(email) = lower($1)',
    [email],
  );
  return rows[0].n;
}

async function auditEvents(action: string, targetId: string) {
  const { rows } = await b.platform.pools.control.query<{ actor_kind: string; actor_id: string; metadata: string }>(
    'SELECT actor_kind, actor_id, metadata FROM audit.events WHERE action = $1 AND target_id = $2',
    [action, targetId],
  );
  return rows;
}

describe('owner sign-up invitations', () => {
  it('the first sign-in with an invited, verified email creates a customer without a workspace; the setup wizard makes them owner', async () => {
    const email = freshEmail('founder');
    const inv = await signups.invite({ email: email.toUpperCase() }, OPERATOR); // stored lower-case, matched case-insensitively
    expect(inv).toMatchObject({ email, status: 'open', createdBy: 'operator:test' });
    const founder = b.oidc.identities.add({ email, name: 'Fay Founder' });

    const client = await b.loginAs(founder);
    expect(client.me).toMatchObject({ kind: 'customer', displayName: 'Fay Founder', workspaces: [], totp: 'ok' });
    expect(await invitationRow(inv.id)).toMatchObject({ accepted_by: client.me.id, revoked_at: null });
    expect((await invitationRow(inv.id)).accepted_at).toBeInstanceOf(Date);
    const accepted = await auditEvents('auth.signup.accepted', inv.id);
    expect(accepted).toEqual([{ actor_kind: 'customer', actor_id: client.me.id, metadata: expect.stringContaining('"via":"signup"') }]);
    expect(accepted[0].metadata).not.toContain('@');
    expect((await client.get('/api/workspaces')).body).toEqual([]);

    const created = await client.post('/api/workspaces', { name: 'Fay Shoes', region: 'eu' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Fay Shoes', region: 'eu', role: 'owner' });
    const me = await client.get('/api/me');
    expect(me.body.workspaces).toEqual([expect.objectContaining({ id: created.body.id, role: 'owner' })]);
    const { rows } = await b.platform.pools.control.query('SELECT role FROM wact.memberships WHERE workspace_id = $1 AND user_id = $2', [
      created.body.id,
      client.me.id,
    ]);
    expect(rows).toEqual([{ role: 'owner' }]);
    // As the owner of the new workspace they reach its owner-only screens.
    expect((await client.get(`/api/workspaces/${created.body.id}/members`)).status).toBe(200);

    // The same identity signs in again (an ordinary customer now); the invitation stays spent.
    const again = await b.loginAs(founder);
    expect(again.me.id).toBe(client.me.id);
    expect(await auditEvents('auth.signup.accepted', inv.id)).toHaveLength(1);
    expect(await signups.list()).not.toContainEqual(expect.objectContaining({ id: inv.id }));
    expect(await signups.list({ all: true })).toContainEqual(expect.objectContaining({ id: inv.id, status: 'accepted' }));
  });

  it('without a sign-up invitation an unknown customer identity is refused and nothing is created', async () => {
    const email = freshEmail('uninvited');
    const { callback } = await b.signIn(b.oidc.identities.add({ email, name: 'Uninvited' }));
    expect(callback.status).toBe(403);
    expect(callback.body.error.code).toBe('no_access');
    expect(await usersWithEmail(email)).toBe(0);
  });

  // The dev provider keys its login form by email, so a second identity with the same address
  // (another subject, e.g. at another issuer) is driven through the user service directly, as wact_broker.
  const claimsFor = (email: string, name: string) => ({ iss: b.issuer, sub: crypto.randomUUID(), email, email_verified: true, name });

  it('a used invitation admits nobody else: a second identity with the same email is refused', async () => {
    const email = freshEmail('once');
    const inv = await signups.invite({ email }, OPERATOR);
    const first = await b.signIn(b.oidc.identities.add({ email, name: 'First' }));
    expect(first.callback.status).toBe(200);
    expect(await users.resolve(claimsFor(email, 'Second'))).toEqual({ ok: false, reason: 'not_invited' });
    expect(await usersWithEmail(email)).toBe(1);
    expect((await invitationRow(inv.id)).accepted_at).toBeInstanceOf(Date);
  });

  it('two identities racing for one invitation: exactly one account', async () => {
    const email = freshEmail('race');
    const inv = await signups.invite({ email }, OPERATOR);
    const results = await Promise.all([users.resolve(claimsFor(email, 'Racer A')), users.resolve(claimsFor(email, 'Racer B'))]);
    expect(results.map((r) => r.ok).sort()).toEqual([false, true]);
    expect(results.find((r) => !r.ok)).toEqual({ ok: false, reason: 'not_invited' });
    expect(await usersWithEmail(email)).toBe(1);
    expect(await auditEvents('auth.signup.accepted', inv.id)).toHaveLength(1);
  });

  it('an expired invitation is refused', async () => {
    const email = freshEmail('expired');
    const id = crypto.randomUUID();
    await b.platform.pools.control.query(
      `INSERT INTO wact.signup_invitations (id, email, created_by, created_at, expires_at)
       VALUES ($1, $2, 'operator:test', now() - interval '15 days', now() - interval '1 day')`,
      [id, email],
    );
    const { callback } = await b.signIn(b.oidc.identities.add({ email, name: 'Late' }));
    expect(callback.status).toBe(403);
    expect(await usersWithEmail(email)).toBe(0);
    expect((await invitationRow(id)).accepted_at).toBeNull();
    // A new invitation for the address retires the expired one and works.
    const renewed = await signups.invite({ email }, OPERATOR);
    expect((await invitationRow(id)).revoked_at).toBeInstanceOf(Date);
    expect((await b.signIn(b.identity(email))).callback.status).toBe(200);
    expect((await invitationRow(renewed.id)).accepted_at).toBeInstanceOf(Date);
  });

  it('a revoked invitation is refused; an open one cannot be duplicated', async () => {
    const email = freshEmail('revoked');
    const inv = await signups.invite({ email }, OPERATOR);
    await expect(signups.invite({ email }, OPERATOR)).rejects.toMatchObject({ status: 409, code: 'signup_invitation_exists' });
    expect(await signups.revoke(inv.id, OPERATOR)).toMatchObject({ id: inv.id, status: 'revoked' });
    await expect(signups.revoke(inv.id, OPERATOR)).rejects.toMatchObject({ status: 404 });
    expect(await auditEvents('auth.signup.revoke', inv.id)).toEqual([
      expect.objectContaining({ actor_kind: 'operator', actor_id: 'operator:test' }),
    ]);
    const { callback } = await b.signIn(b.oidc.identities.add({ email, name: 'Revoked' }));
    expect(callback.status).toBe(403);
    expect(await usersWithEmail(email)).toBe(0);
  });

  it('an unverified email is refused even with an invitation, which stays open', async () => {
    const email = freshEmail('unverified');
    const inv = await signups.invite({ email }, OPERATOR);
    const { callback } = await b.signIn(b.oidc.identities.add({ email, name: 'Unverified', emailVerified: false }));
    expect(callback.status).toBe(403);
    expect(callback.body.error.code).toBe('no_access');
    expect(await usersWithEmail(email)).toBe(0);
    expect(await invitationRow(inv.id)).toMatchObject({ accepted_at: null, revoked_at: null });
  });

  it('a workspace invitation takes precedence and spends the sign-up invitation too', async () => {
    const ws = await b.createWorkspace();
    const owner = await b.loginAs((await b.createCustomer(ws.id, 'owner')).identity);
    const email = freshEmail('both');
    expect((await owner.post(`/api/workspaces/${ws.id}/invitations`, { email, role: 'analyst' })).status).toBe(201);
    const inv = await signups.invite({ email }, OPERATOR);
    const joined = await b.loginAs(b.oidc.identities.add({ email, name: 'Both' }));
    expect(joined.me.workspaces).toEqual([expect.objectContaining({ id: ws.id, role: 'analyst' })]);
    expect((await invitationRow(inv.id)).accepted_by).toBe(joined.me.id);
    expect(await auditEvents('auth.signup.accepted', inv.id)).toEqual([
      expect.objectContaining({ metadata: expect.stringContaining('"via":"workspace_invitation"') }),
    ]);
  });

  // Since security employees invite and revoke through the broker (signup.manage, audited; the CLI has no
  // database key in production), the broker role writes and revokes invitations; it still never deletes one
  // (the record of who was invited stays).
  it('the broker role may read, write, accept and revoke invitations but never delete them', async () => {
    const { rows } = await b.platform.pools.control.query<{ sel: boolean; ins: boolean; del: boolean; upd_rev: boolean; upd_acc: boolean }>(
      `SELECT has_table_privilege('wact_broker', 'wact.signup_invitations', 'SELECT') AS sel,
              has_table_privilege('wact_broker', 'wact.signup_invitations', 'INSERT') AS ins,
              has_table_privilege('wact_broker', 'wact.signup_invitations', 'DELETE') AS del,
              has_column_privilege('wact_broker', 'wact.signup_invitations', 'revoked_at', 'UPDATE') AS upd_rev,
              has_column_privilege('wact_broker', 'wact.signup_invitations', 'accepted_at', 'UPDATE') AS upd_acc`,
    );
    expect(rows[0]).toEqual({ sel: true, ins: true, del: false, upd_rev: true, upd_acc: true });
  });
});

describe('wact signup (operator CLI)', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-signup-cli-'));
  // Platform keys (the audit signing key) are wrapped by the run's one local KEK per region.
  beforeAll(() => {
    fs.mkdirSync(path.join(testDb().home, 'keys'), { recursive: true, mode: 0o700 });
    fs.symlinkSync(path.join(testDb().home, 'keys'), path.join(home, 'keys'));
  });
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  const wact = (...args: string[]) => runWact(args, { home });

  it('invite writes an audited invitation the broker then accepts; list shows it; bad input and duplicates fail in one line', async () => {
    const email = freshEmail('cli');
    const res = await wact('signup', 'invite', '--email', email, '--days', '3', '--json');
    expect(res.code, res.stderr).toBe(0);
    const inv = JSON.parse(res.stdout);
    expect(inv).toMatchObject({ email, status: 'open', createdBy: expect.stringMatching(/^operator:/) });
    const days = (Date.parse(inv.expiresAt) - Date.parse(inv.createdAt)) / 86_400_000;
    expect(days).toBeCloseTo(3, 5);
    const audit = await auditEvents('auth.signup.invite', inv.id);
    expect(audit).toEqual([{ actor_kind: 'operator', actor_id: inv.createdBy, metadata: '{"days":3}' }]);

    const list = await wact('signup', 'list', '--json');
    expect(JSON.parse(list.stdout)).toContainEqual(expect.objectContaining({ id: inv.id, status: 'open' }));

    const dup = await wact('signup', 'invite', '--email', email);
    expect(dup.code).not.toBe(0);
    expect(dup.stderr.trim().split('\n')).toHaveLength(1);
    expect(dup.stderr).toMatch(/open sign-up invitation/);
    for (const bad of [
      ['--email', 'not-an-email'],
      ['--email', email, '--days', '0'],
      ['--email', email, '--days', 'ten'],
    ]) {
      const r = await wact('signup', 'invite', ...bad);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/^wact: invalid input/);
    }

    // The invitation the operator wrote lets that person in.
    const founder = b.oidc.identities.add({ email, name: 'Cli Founder' });
    const client = await b.loginAs(founder);
    expect(client.me).toMatchObject({ kind: 'customer', workspaces: [] });
    const after = JSON.parse((await wact('signup', 'list', '--all', '--json')).stdout);
    expect(after).toContainEqual(expect.objectContaining({ id: inv.id, status: 'accepted', acceptedBy: client.me.id }));
  });

  it('revoke ends an open invitation; unknown ids are refused', async () => {
    const inv = JSON.parse((await wact('signup', 'invite', '--email', freshEmail('cli-revoke'), '--json')).stdout);
    const res = await wact('signup', 'revoke', '--id', inv.id, '--json');
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ id: inv.id, status: 'revoked' });
    const again = await wact('signup', 'revoke', '--id', inv.id);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/no open sign-up invitation/);
    expect((await wact('signup', 'revoke', '--id', 'nope')).stderr).toMatch(/no open sign-up invitation/);
  });
});
