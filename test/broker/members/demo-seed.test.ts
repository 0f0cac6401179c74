/**
 * `npm start`'s identity seeder and the dev provider's identity file: the
 * new-owner login gets an open sign-up invitation (and no workspace), the seven
 * older logins stay as they were. Own databases: the seeder creates "Demo Shop",
 * which other tests look up by name.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identitySettings } from '../../../broker/auth/identity-settings.ts';
import { devIdentitiesPath, loadDevIdentities } from '../../../broker/dev-oidc/dev-identities.ts';
import { seedDemoIdentities } from '../../../broker/members/demo-seed.ts';
import { DATABASE_TARGETS } from '../../../shared/db/database-urls.ts';
import { createPools, type Pools } from '../../../shared/db/pools.ts';
import { migrateDatabase } from '../../../db/migrator.ts';
import { freshDatabases, testConfig, testDb } from '../../support/db.ts';
import { databasesOf } from '../../support/scratch-databases.ts';

describe('dev identities', () => {
  it('seeds eight logins, one of them the new owner; an older file gets only the missing entry appended', () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-devid-'));
    try {
      const all = loadDevIdentities(home);
      expect(all).toHaveLength(8);
      expect(all.find((i) => i.email === 'new-owner@example.com')).toMatchObject({
        name: 'New Owner',
        demoSignup: true,
        groups: [],
        emailVerified: true,
      });
      expect(all.filter((i) => i.demoSignup)).toHaveLength(1);
      expect(loadDevIdentities(home)).toEqual(all); // stable

      // A state folder from before the new-owner login: the seven keep subjects and passwords.
      const older = all.filter((i) => !i.demoSignup);
      fs.writeFileSync(devIdentitiesPath(home), JSON.stringify(older), { mode: 0o600 });
      const upgraded = loadDevIdentities(home);
      expect(upgraded.slice(0, 7)).toEqual(older);
      expect(upgraded[7]).toMatchObject({ email: 'new-owner@example.com', demoSignup: true });
      expect(upgraded[7].password).not.toBe(all[7].password);
      expect(fs.statSync(devIdentitiesPath(home)).mode & 0o777).toBe(0o600);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('demo seeder', () => {
  let fresh: Awaited<ReturnType<typeof freshDatabases>>;
  let pools: Pools;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-seed-'));
  beforeAll(async () => {
    fresh = await freshDatabases();
    for (const t of DATABASE_TARGETS) await migrateDatabase(fresh.urls[t], t, { env: 'test' });
    pools = createPools(fresh.urls, { max: 2 });
  }, 120_000);
  afterAll(async () => {
    await pools?.end();
    await fresh?.drop();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('gives new-owner@example.com one open sign-up invitation and no workspace, idempotently, until that login has signed up', async () => {
    const config = testConfig({
      WACT_HOME: home,
      DATABASE_URL_CONTROL: fresh.urls.control,
      DATABASE_URL_EU: fresh.urls.eu,
      DATABASE_URL_US: fresh.urls.us,
    });
    const ctx = {
      config,
      databases: databasesOf({ urls: fresh.urls, servicePasswords: testDb().servicePasswords }),
      tls: undefined as never,
    };
    const first = await seedDemoIdentities(ctx);
    expect(first).toEqual([
      expect.stringMatching(/^demo workspace "Demo Shop"/),
      expect.stringMatching(/^sign-up invitation for new-owner@example\.com/),
    ]);
    expect(await seedDemoIdentities(ctx)).toEqual([]);

    const open = async () =>
      (
        await pools.control.query<{ id: string; created_by: string }>(
          `SELECT id, created_by FROM wact.signup_invitations WHERE email = 'new-owner@example.com' AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()`,
        )
      ).rows;
    const invitations = await open();
    expect(invitations).toEqual([{ id: expect.any(String), created_by: 'system:seed' }]);
    const members = await pools.control.query(`SELECT count(*)::int AS n FROM wact.users WHERE email = 'new-owner@example.com'`);
    expect(members.rows[0].n).toBe(0); // the account appears at first sign-in, without a workspace
    const demoMembers = await pools.control.query('SELECT count(*)::int AS n FROM wact.memberships');
    expect(demoMembers.rows[0].n).toBe(4); // the demo workspace's four, unchanged

    // Once the login has signed up (here: its invitation accepted, its user mapped), no new invitation.
    const newOwner = loadDevIdentities(home).find((i) => i.demoSignup)!;
    const userId = '00000000-0000-4000-8000-00000000a001';
    await pools.control.query(
      `INSERT INTO wact.users (id, kind, display_name, email) VALUES ($1, 'customer', 'New Owner', 'new-owner@example.com')`,
      [userId],
    );
    await pools.control.query('INSERT INTO wact.user_identities (issuer, subject, user_id) VALUES ($1, $2, $3)', [
      identitySettings(config).issuerUrl,
      newOwner.subject,
      userId,
    ]);
    await pools.control.query('UPDATE wact.signup_invitations SET accepted_at = now(), accepted_by = $2 WHERE id = $1', [
      invitations[0].id,
      userId,
    ]);
    expect(await seedDemoIdentities(ctx)).toEqual([]);
    expect(await open()).toEqual([]);
  });
});
