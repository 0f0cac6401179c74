import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWact, signInCli } from '../support/cli.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';
import type { DevIdentity } from '../../broker/dev-oidc/dev-identities.ts';
import type { Workspace } from '../../shared/workspaces/workspace-service.ts';
import { PRODUCTION_RULES } from '../../cli/mode.ts';
import { readKeyVersion } from '../../shared/crypto/field-cipher.ts';
import { seedSynthetic } from '../../shared/synthetic/synthetic-seeder.ts';
import { lifecyclePlatforms } from '../lifecycle/lifecycle-support.ts';
import { startWorkspaceJobWorker } from '../support/workspace-job-worker.ts';

const PLATFORM_STREAM = '00000000-0000-0000-0000-000000000000';

/**
 * Issue 14.4: in production every `wact` command that reads or changes
 * workspace data goes through the broker as the signed-in person. Each test
 * runs the real binary with WACT_ENV=production, the person's CLI token and
 * (as an insider's shell might) the run's superuser DATABASE_URL_*; the audit
 * event's actor must be the person, never operator:<os user>.
 */
describe('wact in production: the broker, as the signed-in person', () => {
  let broker: TestBroker;
  let ws: Workspace;
  let owner: { identity: DevIdentity; userId: string };
  let env: Record<string, string>;
  let home: string;
  /** The owner's recovery codes (a step-up each, without waiting for the next TOTP step). */
  let recovery: string[] = [];
  const wact = (args: string[], stdin?: string) => runWact(args, { home, env, stdin });
  /** Jobs are followed every 300 ms here (2 s by default). */
  const wactJob = (args: string[], stdin?: string) => runWact(args, { home, env: { ...env, WACT_JOB_POLL_MS: '300' }, stdin });

  /** Another workspace of the owner's, with a little synthetic data. */
  async function ownedWorkspace(): Promise<Workspace> {
    const w = await broker.createWorkspace();
    await broker.platform.pools.control.query('INSERT INTO wact.memberships (workspace_id, user_id, role) VALUES ($1, $2, $3)', [
      w.id,
      owner.userId,
      'owner',
    ]);
    await seedSynthetic(
      { pool: broker.platform.pools.region(w.region), keyring: broker.platform.keyring },
      { workspaceId: w.id, region: w.region, conversations: 40, days: 2, seed: 3 },
    );
    return w;
  }

  /** The newest event of `action` in a stream, with its actor. */
  async function lastEvent(streamId: string, action: string, region: 'eu' | 'us' | 'control' = 'eu') {
    const pool = region === 'control' ? broker.platform.pools.control : broker.platform.pools.region(region);
    const { rows } = await pool.query<{ actor_id: string; actor_kind: string; reason: string | null; session_id: string | null }>(
      'SELECT actor_id, actor_kind, reason, session_id FROM audit.events WHERE stream_id = $1 AND action = $2 ORDER BY seq DESC LIMIT 1',
      [streamId, action],
    );
    return rows[0];
  }

  beforeAll(async () => {
    broker = await startTestBroker();
    ws = await broker.createWorkspace();
    // The workspace requires TOTP, so the owner enrols at sign-in and the wipe asks for a step-up code.
    await broker.platform.pools.control.query('INSERT INTO wact.workspace_settings (workspace_id, require_totp) VALUES ($1, true)', [
      ws.id,
    ]);
    owner = await broker.createCustomer(ws.id, 'owner');
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-cli-prod-'));
    const signedIn = await signInCli(broker, owner.identity, home);
    env = signedIn.env;
    recovery = [...(signedIn.browser.recoveryCodes ?? [])];
  }, 120_000);
  afterAll(async () => {
    await broker?.close();
  });

  it('whoami and workspace list: the person, their workspaces', async () => {
    const me = await wact(['whoami', '--json']);
    expect(me.code, me.stderr).toBe(0);
    expect(JSON.parse(me.stdout)).toMatchObject({ id: owner.userId, kind: 'customer' });
    const list = await wact(['workspace', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ id: ws.id })]); // theirs only, not the directory
  });

  it('retention set and show: audited as the person with the reason', async () => {
    const set = await wact(['retention', 'set', '--workspace', ws.id, '--raw-days', '30', '--reason', 'shorter by contract', '--json']);
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ rawDays: 30 });
    expect(await lastEvent(ws.id, 'retention.update')).toMatchObject({ actor_id: owner.userId, actor_kind: 'customer' });
    const show = await wact(['retention', 'show', '--workspace', ws.id, '--reason', 'checking the contract', '--json']);
    expect(show.code, show.stderr).toBe(0);
    expect(await lastEvent(ws.id, 'retention.read')).toMatchObject({ actor_id: owner.userId, reason: 'checking the contract' });
  });

  it('deletion request (phone from stdin) and list; --now is refused in production', async () => {
    const now = await wact(['deletion', 'request', '--workspace', ws.id, '--phone', '-', '--now'], '+1 202 555 0123\n');
    expect(now.code).toBe(1);
    expect(now.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^wact: refused in production: --now/)]);
    const req = await wact(['deletion', 'request', '--workspace', ws.id, '--phone', '-', '--json'], '+1 202 555 0123\n');
    expect(req.code, req.stderr).toBe(0);
    expect(req.stdout + req.stderr).not.toMatch(/555.?0123/);
    expect(await lastEvent(ws.id, 'deletion.request')).toMatchObject({ actor_id: owner.userId });
    const list = await wact(['deletion', 'list', '--workspace', ws.id, '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toHaveLength(1);
    expect(await lastEvent(ws.id, 'deletion.list')).toMatchObject({ actor_id: owner.userId });
  });

  it('bsp set, link create, apikey create, platform set: the console’s routes, audited as the person', async () => {
    const bsp = await wact(['bsp', 'set', '--workspace', ws.id, '--provider', 'twilio', '--secret', '-'], undefined);
    // --secret - reads WACT_BSP_SECRET; none given here, so the broker refuses the empty secret.
    expect(bsp.code).toBe(1);
    expect(bsp.stderr.trim().split('\n')).toHaveLength(1);
    const bspOk = await runWact(['bsp', 'set', '--workspace', ws.id, '--provider', 'twilio', '--secret', '-', '--json'], {
      home,
      env: { ...env, WACT_BSP_SECRET: 'twilio-auth-token-0123456789' },
    });
    expect(bspOk.code, bspOk.stderr).toBe(0);
    expect(await lastEvent(ws.id, 'credentials.bsp.set')).toMatchObject({ actor_id: owner.userId });

    const link = await wact(['link', 'create', '--workspace', ws.id, '--phone', '+442079460124', '--json']);
    expect(link.code, link.stderr).toBe(0);
    expect(await lastEvent(ws.id, 'link.create')).toMatchObject({ actor_id: owner.userId });

    const key = await wact(['apikey', 'create', '--workspace', ws.id, '--json']);
    expect(key.code, key.stderr).toBe(0);
    expect(JSON.parse(key.stdout).key).toMatch(/^wact_/);
    expect(await lastEvent(ws.id, 'apikey.create')).toMatchObject({ actor_id: owner.userId });

    const platform = await wact([
      'platform',
      'set',
      '--workspace',
      ws.id,
      '--platform',
      'meta',
      '--credentials',
      JSON.stringify({ accessToken: 'EAAB-test-token-0123456789', datasetId: '1234567890', wabaId: '9876543210' }),
      '--json',
    ]);
    expect(platform.code, platform.stderr).toBe(0);
    expect(await lastEvent(ws.id, 'credentials.ad_platform.set')).toMatchObject({ actor_id: owner.userId });
  }, 180_000); // several CLI processes: tsx starts each in seconds on a loaded machine

  it('audit export, keys and digests through the broker; verify stays offline', async () => {
    const file = path.join(home, 'export.jsonl');
    const exp = await wact(['audit', 'export', '--workspace', ws.id, '--format', 'jsonl', '--out', file, '--reason', 'quarterly review']);
    expect(exp.code, exp.stderr).toBe(0);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(await lastEvent(ws.id, 'audit.export')).toMatchObject({ actor_id: owner.userId, reason: 'quarterly review' });
    const keys = await wact(['audit', 'keys']);
    expect(keys.code, keys.stderr).toBe(0);
    const keysFile = path.join(home, 'keys.json');
    fs.writeFileSync(keysFile, keys.stdout);
    const verified = await wact(['audit', 'verify', file, '--keys', keysFile, '--json']);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true });
    const digests = await wact(['audit', 'digests', '--workspace', ws.id, '--out', path.join(home, 'digests'), '--json']);
    expect(digests.code, digests.stderr).toBe(0);
    expect(await lastEvent(ws.id, 'audit.digests.list')).toMatchObject({ actor_id: owner.userId });
    // The platform log has no export for people: refused, not read from the database.
    const platformLog = await wact(['audit', 'export', '--platform', '--format', 'jsonl']);
    expect(platformLog.code).toBe(1);
    expect(platformLog.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^wact: refused in production/)]);
  }, 180_000); // several CLI processes: tsx starts each in seconds on a loaded machine

  it('workspace create: the setup route, the person becomes its owner', async () => {
    const res = await wact(['workspace', 'create', '--name', 'Made from the CLI', '--region', 'us', '--json']);
    expect(res.code, res.stderr).toBe(0);
    const created = JSON.parse(res.stdout);
    expect(created).toMatchObject({ name: 'Made from the CLI', region: 'us', role: 'owner' });
    const { rows } = await broker.platform.pools.control.query(
      'SELECT role FROM wact.memberships WHERE workspace_id = $1 AND user_id = $2',
      [created.id, owner.userId],
    );
    expect(rows).toEqual([{ role: 'owner' }]);
    expect(await lastEvent(created.id, 'member.add', 'us')).toMatchObject({ actor_id: owner.userId });
  });

  it('workspace rotate-keys: owner step-up, a new key version from the broker, audited as the person with the reason', async () => {
    const noCode = await wact(['workspace', 'rotate-keys', '--workspace', ws.id]);
    expect(noCode.code).toBe(1);
    expect(noCode.stderr.trim().split('\n')).toEqual([expect.stringMatching(/TOTP code.*\(step_up_required\)$/)]);
    const wrong = await wact(['workspace', 'rotate-keys', '--workspace', ws.id, '--totp', '000000']);
    expect(wrong.stderr.trim().split('\n')).toEqual([expect.stringMatching(/\(step_up_failed\)$/)]);
    const denied = await broker.platform.pools
      .region('eu')
      .query<{ actor_id: string; outcome: string }>(
        `SELECT actor_id, outcome FROM audit.events WHERE stream_id = $1 AND action = 'workspace.keys.rotate' ORDER BY seq DESC LIMIT 1`,
        [ws.id],
      );
    expect(denied.rows).toEqual([{ actor_id: owner.userId, outcome: 'denied' }]);
    const versions = async () =>
      (
        await broker.platform.pools
          .region('eu')
          .query<{ v: number }>(
            `SELECT max(version)::int AS v FROM wact_private.workspace_keys WHERE workspace_id = $1 AND purpose = 'dek'`,
            [ws.id],
          )
      ).rows[0].v;
    const before = await versions();
    const code = await broker.totpCode(owner.identity);
    const res = await wact(
      ['workspace', 'rotate-keys', '--workspace', ws.id, '--totp', '-', '--reason', 'yearly rotation', '--json'],
      `${code}\n`,
    );
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({ rotated: ws.id });
    expect(await versions()).toBe(before + 1);
    expect(await lastEvent(ws.id, 'workspace.keys.rotate')).toMatchObject({ actor_id: owner.userId, reason: 'yearly rotation' });
  }, 120_000);

  it('workspace rotate-keys --reencrypt [--resume]: a job queued by the broker, followed to the end, audited as the person', async () => {
    const w = await ownedWorkspace();
    const eu = broker.platform.pools.region('eu');
    const versions = async () => {
      const { rows } = await eu.query<{ c: Buffer }>(
        `SELECT c FROM (SELECT fbclid_enc AS c FROM wact.clicks WHERE workspace_id = $1
                        UNION ALL SELECT payload_enc FROM wact.raw_webhook_payloads WHERE workspace_id = $1) x WHERE c IS NOT NULL`,
        [w.id],
      );
      return [...new Set(rows.map((r) => readKeyVersion(r.c)))];
    };
    expect(await versions()).toEqual([1]);
    const lc = await lifecyclePlatforms();
    const worker = await startWorkspaceJobWorker(lc.broker);
    try {
      const code = await broker.totpCode(owner.identity);
      const res = await wactJob(
        ['workspace', 'rotate-keys', '--workspace', w.id, '--reencrypt', '--totp', '-', '--reason', 'yearly re-encryption', '--json'],
        `${code}\n`,
      );
      expect(res.code, res.stderr).toBe(0);
      const out = JSON.parse(res.stdout) as { jobId: string; state: string; result: Record<string, unknown> };
      expect(out).toMatchObject({ state: 'completed', result: { targetVersion: 2, retiredVersions: '1' } });
      expect(await versions()).toEqual([2]);
      expect(await lastEvent(w.id, 'workspace.keys.reencrypt.request')).toMatchObject({
        actor_id: owner.userId,
        reason: 'yearly re-encryption',
      });
      expect(await lastEvent(w.id, 'workspace.keys.reencrypt')).toMatchObject({ actor_id: owner.userId, reason: 'yearly re-encryption' });

      // --resume queues again without a new key version: nothing left to do, still the person's job.
      const resumed = await wactJob([
        'workspace',
        'rotate-keys',
        '--workspace',
        w.id,
        '--reencrypt',
        '--resume',
        '--recovery-code',
        recovery.shift()!,
      ]);
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.stdout).toMatch(/^re-encrypted 0 ciphertexts of .* under data key v2; retired no older versions/);
      const { rows } = await eu.query<{ v: number }>(
        `SELECT max(version)::int AS v FROM wact_private.workspace_keys WHERE workspace_id = $1 AND purpose = 'dek'`,
        [w.id],
      );
      expect(rows[0].v).toBe(2);
    } finally {
      await worker.close();
      await lc.close();
    }
  }, 300_000);

  it('workspace protect-keys: per workspace through the broker as its owner; --all is refused in one line', async () => {
    const all = await wact(['workspace', 'protect-keys', '--all']);
    expect(all.code).toBe(1);
    expect(all.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^wact: refused in production: --all has no broker API/)]);
    const noCode = await wact(['workspace', 'protect-keys', '--workspace', ws.id]);
    expect(noCode.stderr.trim().split('\n')).toEqual([expect.stringMatching(/\(step_up_required\)$/)]);
    const res = await wact([
      'workspace',
      'protect-keys',
      '--workspace',
      ws.id,
      '--recovery-code',
      recovery.shift()!,
      '--reason',
      'restore drill',
      '--json',
    ]);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual([expect.objectContaining({ workspace: ws.id, kek: 'local-ws' })]);
    expect(await lastEvent(ws.id, 'workspace.keys.protect')).toMatchObject({ actor_id: owner.userId, reason: 'restore drill' });
  }, 120_000);

  it('workspace set-customer-key: through the broker as the owner; a bad ARN is refused before the broker', async () => {
    const arn = 'arn:aws:kms:eu-central-1:444455556666:key/0f0e0d0c-0b0a-4909-8807-060504030201';
    // The customer's KMS key, as the broker (in this process) sees it.
    const kms = mockClient(KMSClient);
    kms.on(EncryptCommand).callsFake((i: { KeyId: string; Plaintext: Uint8Array; EncryptionContext: Record<string, string> }) => ({
      CiphertextBlob: Buffer.from(JSON.stringify({ k: i.KeyId, c: i.EncryptionContext, p: Buffer.from(i.Plaintext).toString('hex') })),
      KeyId: i.KeyId,
    }));
    kms.on(DecryptCommand).callsFake((i: { CiphertextBlob: Uint8Array }) => ({
      Plaintext: Buffer.from((JSON.parse(Buffer.from(i.CiphertextBlob).toString()) as { p: string }).p, 'hex'),
    }));
    try {
      const w = await ownedWorkspace();
      const bad = await wact(['workspace', 'set-customer-key', '--workspace', w.id, '--kms-key-arn', 'alias/mine']);
      expect(bad.code).toBe(1);
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
      expect(kms.calls()).toHaveLength(0);
      const res = await wact([
        'workspace',
        'set-customer-key',
        '--workspace',
        w.id,
        '--kms-key-arn',
        arn,
        '--recovery-code',
        recovery.shift()!,
        '--reason',
        'BYOK',
        '--json',
      ]);
      expect(res.code, res.stderr).toBe(0);
      expect(JSON.parse(res.stdout)).toEqual({ rewrapped: 2, keyArn: arn });
      expect(await lastEvent(w.id, 'workspace.keys.customer_key')).toMatchObject({ actor_id: owner.userId, reason: 'BYOK' });
    } finally {
      kms.restore();
    }
  }, 120_000);

  it('workspace move: a job queued by the broker in the target region, followed to the end, audited as the person', async () => {
    const w = await ownedWorkspace();
    const lc = await lifecyclePlatforms();
    const worker = await startWorkspaceJobWorker(lc.broker);
    try {
      const res = await wactJob([
        'workspace',
        'move',
        '--workspace',
        w.id,
        '--region',
        'us',
        '--recovery-code',
        recovery.shift()!,
        '--reason',
        'residency change',
        '--json',
      ]);
      expect(res.code, res.stderr).toBe(0);
      expect(JSON.parse(res.stdout)).toMatchObject({ state: 'completed', result: { from: 'eu', to: 'us' } });
    } finally {
      await worker.close();
      await lc.close();
    }
    expect((await broker.platform.pools.control.query('SELECT region FROM wact.workspaces WHERE id = $1', [w.id])).rows).toEqual([
      { region: 'us' },
    ]);
    expect(await lastEvent(w.id, 'workspace.move.request', 'us')).toMatchObject({ actor_id: owner.userId, reason: 'residency change' });
    expect(await lastEvent(w.id, 'workspace.move', 'us')).toMatchObject({ actor_id: owner.userId, reason: 'residency change' });
    const same = await wact(['workspace', 'move', '--workspace', w.id, '--region', 'us']);
    expect(same.stderr.trim().split('\n')).toEqual([expect.stringMatching(/\(same_region\)$/)]);
  }, 300_000);

  it('the key route refuses bad input with a JSON 400 naming the field', async () => {
    const browser = await broker.loginAs(owner.identity);
    const res = await browser.post(`/api/workspaces/${ws.id}/keys/rotate`, { totp: 123456 });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/^totp:/) });
  });

  it('signup invite, list and revoke: security officers through the broker, audited as the person; others refused', async () => {
    const security = broker.createEmployee('security');
    const secHome = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-cli-prod-security-'));
    const { env: secEnv } = await signInCli(broker, security, secHome);
    const as = (args: string[]) => runWact(args, { home: secHome, env: secEnv });
    const me = JSON.parse((await as(['whoami', '--json'])).stdout) as { id: string };

    const invited = await as([
      'signup',
      'invite',
      '--email',
      'New.Owner@example.com',
      '--days',
      '7',
      '--reason',
      'sales lead 42',
      '--json',
    ]);
    expect(invited.code, invited.stderr).toBe(0);
    const inv = JSON.parse(invited.stdout) as { id: string; email: string; status: string };
    expect(inv).toMatchObject({ email: 'new.owner@example.com', status: 'open' });
    expect(await lastEvent(PLATFORM_STREAM, 'auth.signup.invite', 'control')).toMatchObject({ actor_id: me.id, actor_kind: 'employee' });
    const again = await as(['signup', 'invite', '--email', 'new.owner@example.com']);
    expect(again.stderr.trim().split('\n')).toEqual([expect.stringMatching(/\(signup_invitation_exists\)$/)]);

    // Listing addresses is an employee's read: it needs a reason, as in the console.
    const noReason = await as(['signup', 'list']);
    expect(noReason.stderr.trim().split('\n')).toEqual([expect.stringMatching(/needs a reason/)]);
    const list = await as(['signup', 'list', '--reason', 'weekly review', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ id: inv.id })]));
    expect(await lastEvent(PLATFORM_STREAM, 'auth.signup.list', 'control')).toMatchObject({ actor_id: me.id, reason: 'weekly review' });

    // The owner of a workspace is no security officer: refused by the broker's policy.
    const ownerTry = await wact(['signup', 'invite', '--email', 'friend@example.com']);
    expect(ownerTry.stderr.trim().split('\n')).toEqual([expect.stringMatching(/\(forbidden\)$/)]);

    const revoked = await as(['signup', 'revoke', '--id', inv.id, '--json']);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ id: inv.id, status: 'revoked' });
    expect(await lastEvent(PLATFORM_STREAM, 'auth.signup.revoke', 'control')).toMatchObject({ actor_id: me.id });
    const twice = await as(['signup', 'revoke', '--id', inv.id]);
    expect(twice.stderr.trim().split('\n')).toEqual([expect.stringMatching(/\(signup_invitation_not_found\)$/)]);
    const malformed = await as(['signup', 'revoke', '--id', 'x']);
    expect(malformed.stderr.trim().split('\n')).toEqual([expect.stringMatching(/\(signup_invitation_not_found\)$/)]);
  }, 120_000);

  it('workspace wipe: typed name and TOTP step-up as in the console; audited as the person', async () => {
    const victim = await broker.createWorkspace();
    await broker.platform.pools.control.query('INSERT INTO wact.memberships (workspace_id, user_id, role) VALUES ($1, $2, $3)', [
      victim.id,
      owner.userId,
      'owner',
    ]);
    const noName = await wact(['workspace', 'wipe', '--workspace', victim.id, '--yes']);
    expect(noName.stderr.trim().split('\n')).toEqual([expect.stringMatching(/--confirm/)]);
    const noCode = await wact(['workspace', 'wipe', '--workspace', victim.id, '--yes', '--confirm', victim.name]);
    expect(noCode.code).toBe(1);
    expect(noCode.stderr.trim().split('\n')).toEqual([expect.stringMatching(/TOTP code.*\(step_up_required\)$/)]);
    expect((await broker.platform.workspaces.get(victim.id)).id).toBe(victim.id);
    const code = await broker.totpCode(owner.identity);
    const wiped = await wact(
      [
        'workspace',
        'wipe',
        '--workspace',
        victim.id,
        '--yes',
        '--confirm',
        victim.name,
        '--totp',
        '-',
        '--reason',
        'customer left',
        '--json',
      ],
      `${code}\n`,
    );
    expect(wiped.code, wiped.stderr).toBe(0);
    expect(JSON.parse(wiped.stdout)).toMatchObject({ workspaceId: victim.id, keysDestroyed: 2 });
    const { rows } = await broker.platform.pools.control.query<{ actor_id: string; target_id: string; reason: string }>(
      `SELECT actor_id, target_id, reason FROM audit.events WHERE stream_id = $1 AND action = 'workspace.wipe' AND target_id = $2 AND outcome = 'success'`,
      [PLATFORM_STREAM, victim.id],
    );
    expect(rows).toEqual([{ actor_id: owner.userId, target_id: victim.id, reason: 'customer left' }]);
  });

  it('the broker’s policy applies: an analyst’s CLI may not wipe nor change retention', async () => {
    const analyst = await broker.createCustomer(ws.id, 'analyst');
    const analystHome = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-cli-prod-analyst-'));
    const { env: analystEnv } = await signInCli(broker, analyst.identity, analystHome);
    const as = (args: string[]) => runWact(args, { home: analystHome, env: analystEnv });
    const wipe = await as(['workspace', 'wipe', '--workspace', ws.id, '--yes', '--confirm', ws.name, '--totp', '000000']);
    expect(wipe.code).toBe(1);
    expect(wipe.stderr.trim().split('\n')).toEqual([expect.stringMatching(/\(forbidden\)$/)]);
    const retention = await as(['retention', 'set', '--workspace', ws.id, '--raw-days', '1']);
    expect(retention.stderr).toMatch(/\(forbidden\)/);
    const rotate = await as(['workspace', 'rotate-keys', '--workspace', ws.id, '--totp', '000000']);
    expect(rotate.stderr.trim().split('\n')).toEqual([expect.stringMatching(/\(forbidden\)$/)]);
    const signup = await as(['signup', 'list']);
    expect(signup.stderr.trim().split('\n')).toEqual([expect.stringMatching(/\(forbidden\)$/)]);
    const denied = await broker.platform.pools.control.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM audit.events WHERE stream_id = $1 AND action = 'access.denied' AND actor_id = $2`,
      [PLATFORM_STREAM, analyst.userId],
    );
    expect(denied.rows[0].n).toBeGreaterThanOrEqual(4);
    expect((await broker.platform.workspaces.get(ws.id)).id).toBe(ws.id);
  }, 180_000); // several CLI processes: tsx starts each in seconds on a loaded machine
});

describe('wact in production: direct database mode is refused', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-cli-prod-direct-'));
  const prod = (args: string[]) => runWact(args, { home, env: { WACT_ENV: 'production' } });

  it('commands without a broker API are refused in one line, before any connection', async () => {
    const refused = Object.entries(PRODUCTION_RULES).filter(([, r]) => r.kind === 'refused');
    expect(refused.map(([c]) => c)).toEqual(expect.arrayContaining(['seed', 'retention run']));
    for (const c of [
      'workspace rotate-keys',
      'workspace protect-keys',
      'workspace set-customer-key',
      'workspace move',
      'signup invite',
      'signup list',
      'signup revoke',
    ])
      expect(PRODUCTION_RULES[c], c).toEqual({ kind: 'broker' });
    const args: Record<string, string[]> = {
      'workspace rotate-keys': ['--workspace', '00000000-0000-4000-8000-000000000000'],
      'workspace protect-keys': ['--all'],
      'workspace set-customer-key': ['--workspace', 'x', '--kms-key-arn', 'arn:aws:kms:eu-central-1:123456789012:key/x'],
      'workspace move': ['--workspace', 'x', '--region', 'us'],
      'retention run': [],
      seed: ['--synthetic'],
      'audit sign-heads': [],
      'audit retention': [],
      'signup invite': ['--email', 'new@example.com'],
      'signup list': [],
      'signup revoke': ['--id', 'x'],
    };
    for (const [command] of refused) {
      const res = await prod([...command.split(' '), ...(args[command] ?? [])]);
      expect(res.code, command).toBe(1);
      expect(res.stderr.trim().split('\n'), command).toEqual([expect.stringMatching(/^wact: refused in production: /)]);
    }
  }, 120_000);

  it('every broker command without a CLI session says to sign in, and never falls back to the database URLs in the shell', async () => {
    for (const args of [
      ['workspace', 'list'],
      ['workspace', 'wipe', '--workspace', '00000000-0000-4000-8000-000000000000', '--yes', '--confirm', 'x'],
      ['retention', 'show', '--workspace', '00000000-0000-4000-8000-000000000000'],
      ['audit', 'export', '--workspace', '00000000-0000-4000-8000-000000000000', '--format', 'csv'],
      ['workspace', 'rotate-keys', '--workspace', '00000000-0000-4000-8000-000000000000'],
      ['workspace', 'rotate-keys', '--workspace', '00000000-0000-4000-8000-000000000000', '--reencrypt'],
      ['workspace', 'move', '--workspace', '00000000-0000-4000-8000-000000000000', '--region', 'us'],
      ['signup', 'list'],
    ]) {
      const res = await prod(args);
      expect(res.code, args.join(' ')).toBe(1);
      expect(res.stderr.trim().split('\n')).toEqual(['wact: not signed in: run wact login']);
    }
  }, 180_000);

  it('withOperator refuses in production before opening a database', async () => {
    const { withOperator } = await import('../../cli/operator.ts');
    const saved = process.env.WACT_ENV;
    process.env.WACT_ENV = 'production';
    let opened = false;
    try {
      await expect(
        withOperator(async () => {
          opened = true;
        }),
      ).rejects.toThrow(/^refused in production: wact .* may not use database credentials; it acts through the broker/);
    } finally {
      process.env.WACT_ENV = saved;
    }
    expect(opened).toBe(false);
  });

  it('every command has a production rule; unknown ones are refused', async () => {
    const { Command } = await import('commander');
    const { productionGate } = await import('../../cli/mode.ts');
    const cmd = new Command('wact').command('something-new');
    expect(() => productionGate(cmd, { WACT_ENV: 'production' })).toThrow(
      /^refused in production: wact something-new has no production mode/,
    );
    expect(() => productionGate(cmd, { WACT_ENV: 'development' })).not.toThrow();
  });
});
