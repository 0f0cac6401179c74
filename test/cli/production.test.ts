import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWact, signInCli } from '../support/cli.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';
import type { DevIdentity } from '../../broker/dev-oidc/dev-identities.ts';
import type { Workspace } from '../../shared/workspaces/workspace-service.ts';
import { PRODUCTION_RULES } from '../../cli/mode.ts';

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
  const wact = (args: string[], stdin?: string) => runWact(args, { home, env, stdin });

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
    ({ env } = await signInCli(broker, owner.identity, home));
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
  });

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
  });

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
    const reencrypt = await wact(['workspace', 'rotate-keys', '--workspace', ws.id, '--reencrypt', '--totp', '000000']);
    expect(reencrypt.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^wact: refused in production: --reencrypt/)]);
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
  });
});

describe('wact in production: direct database mode is refused', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-cli-prod-direct-'));
  const prod = (args: string[]) => runWact(args, { home, env: { WACT_ENV: 'production' } });

  it('commands without a broker API are refused in one line, before any connection', async () => {
    const refused = Object.entries(PRODUCTION_RULES).filter(([, r]) => r.kind === 'refused');
    expect(refused.map(([c]) => c)).toEqual(
      expect.arrayContaining(['workspace move', 'workspace protect-keys', 'workspace set-customer-key', 'seed', 'retention run']),
    );
    for (const c of ['workspace rotate-keys', 'signup invite', 'signup list', 'signup revoke'])
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
      ['signup', 'list'],
    ]) {
      const res = await prod(args);
      expect(res.code, args.join(' ')).toBe(1);
      expect(res.stderr.trim().split('\n')).toEqual(['wact: not signed in: run wact login']);
    }
  });

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
