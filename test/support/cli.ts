import { spawn } from 'node:child_process';
import path from 'node:path';
import { saveCliToken } from '../../cli/commands/identity.ts';
import type { DevIdentity } from '../../broker/dev-oidc/dev-identities.ts';
import { devCertificatePaths } from '../../shared/http/tls.ts';
import { rawRequest, type ApiClient, type TestBroker } from './broker.ts';
import { testDb } from './db.ts';
import { databaseEnv } from './scratch-databases.ts';

export interface CliResult {
  stdout: string;
  stderr: string;
  code: number;
}

/**
 * Runs the real `wact` binary against the run's test databases, as an operator
 * would. `home` defaults to the run's shared state folder (its KEKs wrap the
 * platform keys stored in the shared databases).
 */
export function runWact(args: string[], opts: { home?: string; stdin?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  const { urls, servicePasswords, home } = testDb();
  const env = { ...process.env, ...databaseEnv({ urls, servicePasswords }), WACT_HOME: opts.home ?? home, ...opts.env };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/wact.mjs', ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ stdout, stderr, code: code ?? 1 }));
    child.stdin.end(opts.stdin ?? '');
  });
}

/**
 * Signs the CLI in as `who` the way `wact login` does (device code, approved in
 * that person's browser session after SSO + TOTP) and stores the token in
 * `home` (0600). Returns the environment of a production terminal: WACT_ENV,
 * the state folder with the token and the broker's CA, nothing else of note
 * (runWact adds the run's superuser DATABASE_URL_* too: an insider's shell
 * may well hold them, and production must not use them).
 */
export async function signInCli(
  broker: TestBroker,
  who: DevIdentity | string,
  home: string,
): Promise<{ env: Record<string, string>; browser: ApiClient }> {
  const post = (p: string, body: unknown) =>
    rawRequest(broker.agent, undefined, `${broker.url}${p}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    });
  const start = await post('/auth/cli/device', {});
  const browser = await broker.loginAs(who);
  const approved = await browser.post('/auth/cli/device/approve', { user_code: start.body.userCode });
  if (approved.status !== 200) throw new Error(`approval answered ${approved.status}: ${approved.text}`);
  const token = await post('/auth/cli/token', { deviceCode: start.body.deviceCode });
  if (token.status !== 200) throw new Error(`token answered ${token.status}: ${token.text}`);
  saveCliToken(
    {
      broker: broker.url,
      token: token.body.token,
      sessionId: token.body.sessionId,
      expiresAt: new Date(Date.now() + token.body.expiresInSeconds * 1000).toISOString(),
      user: token.body.user,
    },
    path.join(home, 'cli-token.json'),
  );
  return {
    env: { WACT_ENV: 'production', WACT_HOME: home, TLS_CA_FILE: devCertificatePaths(broker.config.home).caFile },
    browser,
  };
}
