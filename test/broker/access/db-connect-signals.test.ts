import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `wact db connect` must survive the Ctrl-C meant for psql (the terminal sends it to both) and pass
 * a TERM on, and in both cases remove the passfile and the CA copy. Run in a child process so the
 * signals do not hit the test runner.
 */
describe('wact db connect: signals while psql runs', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-psql-signals-'));
    // A psql that reports its passfile, then runs for a while and exits 7 (or dies of a TERM).
    fs.writeFileSync(
      path.join(dir, 'psql'),
      `#!${process.execPath}
require('node:fs').writeFileSync(process.env.FAKE_PSQL_DUMP, process.env.PGPASSFILE);
setTimeout(() => process.exit(7), 1500);
`,
      { mode: 0o755 },
    );
    const launcher = path.resolve('cli/commands/db-connect.ts');
    fs.writeFileSync(
      path.join(dir, 'run.mts'),
      `import { launchPsql } from ${JSON.stringify(launcher)};
const code = await launchPsql(
  { host: '127.0.0.1', port: 6432, database: 'wact', user: 'sess', password: 'secret-token', sslmode: 'verify-full',
    sslrootcert: '-----BEGIN CERTIFICATE-----\\nx\\n-----END CERTIFICATE-----\\n', caFingerprint: null, env: {}, psql: 'psql' },
  { stdio: 'ignore' },
);
process.stdout.write(String(code));
`,
    );
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function run(signal: NodeJS.Signals) {
    const dump = path.join(dir, `dump-${signal}`);
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(dir, 'run.mts')], {
      env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, FAKE_PSQL_DUMP: dump },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    await expect.poll(() => fs.existsSync(dump), { timeout: 20_000 }).toBe(true);
    const passfile = fs.readFileSync(dump, 'utf8');
    expect(fs.existsSync(passfile)).toBe(true);
    child.kill(signal);
    const code = await exited;
    return { code, stdout, passfile };
  }

  it('Ctrl-C: the wrapper stays, psql finishes, its exit code comes through, the files are removed', async () => {
    const r = await run('SIGINT');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('7');
    expect(fs.existsSync(path.dirname(r.passfile))).toBe(false);
  });

  it('TERM: passed on to psql, 128+15 comes back, the files are removed', async () => {
    const r = await run('SIGTERM');
    expect(r.stdout).toBe('143');
    expect(fs.existsSync(path.dirname(r.passfile))).toBe(false);
  });
});
