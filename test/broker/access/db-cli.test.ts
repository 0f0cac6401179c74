import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, registerDbCommands, type BrokerCall } from '../../../cli/commands/db.ts';
import { operatorPools } from '../../support/db.ts';
import { endSessionRolesOf } from '../gateway/harness.ts';
import { startTestBroker, type ApiClient, type TestBroker } from '../../support/broker.ts';

/** The CLI's flows against the real broker API (the bearer transport is identity's brokerRequest). */
function callerFor(client: ApiClient): BrokerCall {
  return async <T>(method: string, apiPath: string, body?: unknown): Promise<T> => {
    const res = method === 'GET' ? await client.get(apiPath) : await client.post(apiPath, body ?? {});
    if (res.status >= 400) throw new Error(`${res.body?.error?.message} (${res.body?.error?.code})`);
    return res.body as T;
  };
}

describe('wact db connect', () => {
  let broker: TestBroker;
  let wsId: string;
  let engineer: ApiClient;
  let security: ApiClient;
  beforeAll(async () => {
    broker = await startTestBroker();
    wsId = (await broker.createWorkspace('CLI ws')).id;
    engineer = await broker.loginAs('engineer');
    security = await broker.loginAs('security');
  });
  afterAll(async () => {
    const ops = operatorPools();
    await endSessionRolesOf(ops, [], [wsId].filter(Boolean)).finally(() => ops.end());
    await broker?.close();
  });

  it('redacted: connection details at once, verify-full with the development CA, the token only as the password field', async () => {
    const out = await connect(
      callerFor(engineer),
      { workspaceId: wsId, reason: 'Looking into CLI-1 report', ttl: '5m', scope: 'redacted', wait: true },
      () => undefined,
    );
    const c = out.connection!;
    expect(c).toMatchObject({ user: out.session.id, database: 'wact', sslmode: 'verify-full', psql: 'psql' });
    expect(c.sslrootcert?.trim()).toBe(broker.tls.ca?.trim());
    expect(c.password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const { password, ...rest } = c;
    expect(JSON.stringify(rest)).not.toContain(password);
    expect(JSON.stringify(c)).not.toMatch(/:\/\//);
  });

  it('full: waits for a security approval, tells the requester, then prints the connection', async () => {
    const lines: string[] = [];
    const pending = connect(
      callerFor(engineer),
      { workspaceId: wsId, reason: 'Unmasked look for CLI-2', scope: 'full', wait: true, pollMs: 100 },
      (l) => lines.push(l),
    );
    await expect.poll(() => lines.length).toBe(1);
    expect(lines[0]).toMatch(/waits for approval by a security employee/);
    const list = await security.get(`/api/db/sessions?filter=${encodeURIComponent(JSON.stringify({ status: 'pending' }))}`);
    const id = list.body.find((s: { reason: string }) => s.reason === 'Unmasked look for CLI-2').id;
    expect((await security.post(`/api/db/sessions/${id}/approve`, {})).status).toBe(200);
    const out = await pending;
    expect(out.session).toMatchObject({ id, status: 'active', scope: 'full' });
    expect(out.connection?.user).toBe(id);
  });

  it('full: a denial ends the wait with the note', async () => {
    const pending = connect(
      callerFor(engineer),
      { workspaceId: wsId, reason: 'Unmasked look for CLI-3', scope: 'full', wait: true, pollMs: 100 },
      () => undefined,
    );
    // The wait may end (rejected) while the denial is still being posted: observe it from the start,
    // so the rejection is never unhandled in between.
    const outcome = pending.then(
      () => undefined,
      (err: unknown) => err,
    );
    let id: string | undefined;
    await expect
      .poll(async () => {
        const list = await security.get(`/api/db/sessions?filter=${encodeURIComponent(JSON.stringify({ status: 'pending' }))}`);
        id = list.body.find((s: { reason: string }) => s.reason === 'Unmasked look for CLI-3')?.id;
        return id;
      })
      .toBeDefined();
    await security.post(`/api/db/sessions/${id}/deny`, { note: 'use redacted scope' });
    const err = await outcome;
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/denied by .*: use redacted scope/);
  });

  describe('the wact db commands (a fake psql on PATH records what it is given)', () => {
    let dir: string;
    let dump: string;
    let stateDir: string;
    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-fake-psql-'));
      dump = path.join(dir, 'dump.json');
      stateDir = path.join(dir, 'state');
      // Runs while `wact db connect` waits for it: records argv, environment and the files it is pointed at.
      fs.writeFileSync(
        path.join(dir, 'psql'),
        `#!${process.execPath}
const fs = require('node:fs');
const read = (f) => { try { return { content: fs.readFileSync(f, 'utf8'), mode: (fs.statSync(f).mode & 0o777).toString(8) }; } catch { return null; } };
fs.writeFileSync(process.env.FAKE_PSQL_DUMP, JSON.stringify({
  argv: process.argv.slice(2), env: process.env,
  passfile: read(process.env.PGPASSFILE), rootcert: read(process.env.PGSSLROOTCERT),
}));
process.exit(3);
`,
        { mode: 0o755 },
      );
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** Runs `wact db …` in-process; records the broker's answers so the test knows the real token. */
    async function wact(args: string[], extraEnv: Record<string, string> = {}) {
      const answers: unknown[] = [];
      const base = callerFor(engineer);
      const call: BrokerCall = async <T>(m: string, p: string, b?: unknown) => {
        const r = await base<T>(m, p, b);
        answers.push(r);
        return r;
      };
      const out: string[] = [];
      const err: string[] = [];
      const program = new Command('wact').exitOverride();
      const env = { PATH: `${dir}:${process.env.PATH}`, HOME: dir, FAKE_PSQL_DUMP: dump, ...extraEnv };
      registerDbCommands(program, call, { env, stateDir, out: (t) => out.push(t), err: (l) => err.push(l) });
      const before = process.exitCode;
      try {
        await program.parseAsync(['node', 'wact', 'db', ...args]);
        return { out: out.join('\n'), err: err.join('\n'), exitCode: process.exitCode, answers };
      } finally {
        process.exitCode = before;
      }
    }
    const tokenOf = (answers: unknown[]) => (answers.at(-1) as { connection: { password: string } }).connection.password;

    it('connect starts psql itself: token in a 0600 passfile (not argv, not a URL), verify-full, the CA file, exit code passed through, files removed', async () => {
      fs.rmSync(dump, { force: true });
      const r = await wact(['connect', '--workspace', wsId, '--reason', 'Looking into CLI-4 report'], {
        // A hostile or stale shell: none of these may reach psql.
        PGPASSWORD: 'stale-password',
        PGSSLMODE: 'disable',
        PGSSLROOTCERT: '/dev/null',
        PGSERVICE: 'evil',
        PGTZ: 'UTC',
      });
      const token = tokenOf(r.answers);
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(r.exitCode).toBe(3); // the fake psql's exit code
      const seen = JSON.parse(fs.readFileSync(dump, 'utf8'));
      expect(seen.argv.join(' ')).not.toContain(token);
      expect(seen.argv.join(' ')).not.toMatch(/:\/\/|password/i);
      for (const [k, v] of Object.entries(seen.env as Record<string, string>)) expect(v, k).not.toContain(token);
      expect(seen.env.PGPASSWORD).toBeUndefined();
      expect(seen.env.PGSERVICE).toBeUndefined();
      expect(seen.env.PGTZ).toBe('UTC');
      expect(seen.env).toMatchObject({
        PGSSLMODE: 'verify-full',
        PGUSER: (r.answers.at(-1) as { session: { id: string } }).session.id,
        PGDATABASE: 'wact',
      });
      expect(seen.passfile.mode).toBe('600');
      expect(seen.passfile.content.trim().split(':').at(-1)).toBe(token);
      expect(seen.passfile.content.trim()).toBe(`${seen.env.PGHOST}:${seen.env.PGPORT}:wact:${seen.env.PGUSER}:${token}`);
      expect(seen.rootcert.content.trim()).toBe(broker.tls.ca?.trim());
      // Nothing is left behind: neither the passfile nor the CA copy.
      expect(fs.existsSync(seen.env.PGPASSFILE)).toBe(false);
      expect(fs.existsSync(seen.env.PGSSLROOTCERT)).toBe(false);
      expect(r.out + r.err).not.toContain(token);
    });

    it('connect without psql on PATH fails with a clear message and leaves no files', async () => {
      const tmpBefore = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('wact-db-'));
      const program = new Command('wact').exitOverride();
      registerDbCommands(program, callerFor(engineer), {
        env: { PATH: '/nonexistent' },
        stateDir,
        out: () => undefined,
        err: () => undefined,
      });
      await expect(
        program.parseAsync(['node', 'wact', 'db', 'connect', '--workspace', wsId, '--reason', 'Looking into CLI-5 report']),
      ).rejects.toThrow(/psql not found on PATH/);
      expect(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('wact-db-'))).toEqual(tmpBefore);
    });

    it('connect --print shows host, port, user, verify-full and a CA file, never the token', async () => {
      const r = await wact(['connect', '--print', '--workspace', wsId, '--reason', 'Looking into CLI-6 report']);
      const token = tokenOf(r.answers);
      expect(r.out).not.toContain(token);
      expect(r.out).not.toMatch(/:\/\//);
      expect(r.out).toMatch(/^sslmode\s+verify-full$/m);
      const rootcert = /^sslrootcert\s+(\S+)/m.exec(r.out)![1];
      expect(fs.readFileSync(rootcert, 'utf8').trim()).toBe(broker.tls.ca?.trim());
      expect(r.out).toMatch(/^user\s+[0-9a-f-]{36}$/m);
    });

    it('connect --json gives scripts the details and the token as a labelled separate field, no URL', async () => {
      const r = await wact(['connect', '--json', '--workspace', wsId, '--reason', 'Looking into CLI-7 report']);
      const token = tokenOf(r.answers);
      const json = JSON.parse(r.out);
      expect(json.sessionToken).toBe(token);
      expect(json.sessionTokenUse).toMatch(/password/);
      expect(JSON.stringify(json.connection)).not.toContain(token);
      expect(r.out).not.toMatch(/:\/\/[^"]*@/);
      expect(json.connection).toMatchObject({ sslmode: 'verify-full', database: 'wact' });
      expect(json.connection.caCertificate.trim()).toBe(broker.tls.ca?.trim());
      expect(fs.readFileSync(json.connection.sslrootcert, 'utf8').trim()).toBe(broker.tls.ca?.trim());
    });

    it('db env prints export lines that a shell can eval: verify-full, the CA file and PGPASSWORD', async () => {
      const r = await wact(['env', '--workspace', wsId, '--reason', 'Looking into CLI-8 report']);
      const token = tokenOf(r.answers);
      expect(r.err).not.toContain(token);
      const env = execFileSync('sh', ['-c', `${r.out}\nenv`], { encoding: 'utf8', env: { PATH: process.env.PATH, PGPASSFILE: '/x' } });
      const vars = Object.fromEntries(
        env
          .split('\n')
          .filter((l) => l.startsWith('PG'))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      expect(vars).toMatchObject({ PGPASSWORD: token, PGSSLMODE: 'verify-full', PGDATABASE: 'wact' });
      expect(vars.PGPASSFILE).toBeUndefined();
      expect(fs.readFileSync(vars.PGSSLROOTCERT, 'utf8').trim()).toBe(broker.tls.ca?.trim());
      expect(r.out.split('\n').filter((l) => l.includes(token))).toEqual([`export PGPASSWORD='${token}'`]);
    });
  });
});
