import { spawn } from 'node:child_process';
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
