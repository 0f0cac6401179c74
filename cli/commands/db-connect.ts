import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ConnectionInfo } from '../../shared/access/access-types.ts';

/**
 * Turns the broker's connection details into a psql the user never has to assemble, like
 * `tsh db connect`: the session token goes to psql through a 0600 passfile (never argv, never a
 * URL: those end up in shell history, `ps`, terminal scrollback and screen shares), and psql
 * verifies the gateway's certificate and host name (sslmode=verify-full) against the CA the
 * broker named — with sslmode=require anyone on the path could present their own certificate
 * and read the password message.
 */

/** Where libpq looks for the operating system's CA bundle (PostgreSQL 15 has no sslrootcert=system). */
const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];

/**
 * Inherited variables that may stay: presentation only. Every other PG* variable is dropped, so a
 * stray PGPASSWORD, PGSSLMODE=disable, PGSERVICE or PGSSLROOTCERT in the user's shell cannot
 * override what the broker told us (libpq prefers PGPASSWORD to the passfile, for instance).
 */
const KEEP_PG = new Set(['PGCLIENTENCODING', 'PGTZ', 'PGDATESTYLE', 'PGAPPNAME', 'PGCONNECT_TIMEOUT']);

/** Only what the gateway can be: a host name or IP literal, a port, a UUID-like user. */
function checkTarget(info: ConnectionInfo): void {
  if (!/^[A-Za-z0-9.:[\]-]{1,253}$/.test(info.host)) throw new Error(`refusing an unexpected gateway host: ${JSON.stringify(info.host)}`);
  if (!Number.isInteger(info.port) || info.port < 1 || info.port > 65535)
    throw new Error(`refusing an unexpected gateway port: ${info.port}`);
  if (!/^[A-Za-z0-9_-]{1,63}$/.test(info.user) || !/^[A-Za-z0-9_-]{1,63}$/.test(info.database))
    throw new Error('refusing an unexpected session user or database name');
  if (!info.password) throw new Error('the broker returned no session token');
}

/** The file psql trusts for the gateway: the broker's CA, else the system bundle; never none. */
function systemBundle(): string {
  const found = SYSTEM_BUNDLES.find((f) => fs.existsSync(f));
  if (!found) throw new Error('the broker named no CA for the gateway and no system CA bundle was found: refusing to connect unverified');
  return found;
}

/** libpq passfile fields escape ':' and '\'. */
function passfileField(value: string): string {
  return value.replace(/[\\:]/g, (c) => `\\${c}`);
}

/** The environment psql gets: the user's, minus PG* settings, plus the gateway's (never the token). */
export function psqlEnvironment(info: ConnectionInfo, sslrootcert: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  checkTarget(info);
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) if (!k.startsWith('PG') || KEEP_PG.has(k)) env[k] = v;
  return {
    ...env,
    PGHOST: info.host,
    PGPORT: String(info.port),
    PGDATABASE: info.database,
    PGUSER: info.user,
    // Not taken from the broker's answer: whatever it says, the client verifies.
    PGSSLMODE: 'verify-full',
    PGSSLROOTCERT: sslrootcert,
  };
}

/**
 * A persistent copy of the gateway CA for `--print` and `wact db env` (the variables outlive this
 * process). A public certificate, not a secret; named by its fingerprint so a CA change never
 * silently reuses an old file.
 */
export function persistentCaFile(info: ConnectionInfo, stateDir: string): string {
  if (!info.sslrootcert) return systemBundle();
  const digest = crypto.createHash('sha256').update(info.sslrootcert).digest('hex').slice(0, 16);
  const file = path.join(stateDir, `gateway-ca-${digest}.crt`);
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === info.sslrootcert) return file;
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, info.sslrootcert, { mode: 0o644 });
  fs.renameSync(tmp, file);
  return file;
}

/** Single-quoted for POSIX shells. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** `export PG…=` lines for `eval "$(wact db env …)"` (they hold the token: for eval, not for pasting). */
export function exportLines(info: ConnectionInfo, sslrootcert: string): string {
  const env = psqlEnvironment(info, sslrootcert, {});
  const names = ['PGHOST', 'PGPORT', 'PGDATABASE', 'PGUSER', 'PGSSLMODE', 'PGSSLROOTCERT'];
  return [
    ...names.map((n) => `export ${n}=${shellQuote(String(env[n]))}`),
    `export PGPASSWORD=${shellQuote(info.password)}`,
    // A passfile or service left over from elsewhere must not be mixed in.
    'unset PGPASSFILE PGSERVICE',
  ].join('\n');
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };

/**
 * Runs psql against the gateway and resolves with its exit code (128 + signal when it was killed).
 * The CA and the passfile live in a fresh 0700 folder that is removed when psql exits, also when
 * this process is told to stop.
 */
export async function launchPsql(
  info: ConnectionInfo,
  opts: { env?: NodeJS.ProcessEnv; psql?: string; args?: string[]; stdio?: StdioOptions; onSpawn?: (child: ChildProcess) => void } = {},
): Promise<number> {
  checkTarget(info);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-db-'));
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  process.once('exit', cleanup);
  const relay: Partial<Record<NodeJS.Signals, () => void>> = {};
  try {
    fs.chmodSync(dir, 0o700);
    let rootcert: string;
    if (info.sslrootcert) {
      rootcert = path.join(dir, 'gateway-ca.crt');
      fs.writeFileSync(rootcert, info.sslrootcert, { mode: 0o600, flag: 'wx' });
    } else rootcert = systemBundle();
    // Exact host, port, database and user: a `\connect` elsewhere from inside psql does not get the token.
    const passfile = path.join(dir, 'pgpass');
    const line = [info.host, String(info.port), info.database, info.user, info.password].map(passfileField).join(':');
    fs.writeFileSync(passfile, line + '\n', { mode: 0o600, flag: 'wx' });
    fs.chmodSync(passfile, 0o600); // libpq ignores a passfile others can read
    const env = { ...psqlEnvironment(info, rootcert, opts.env ?? process.env), PGPASSFILE: passfile };

    return await new Promise<number>((resolve, reject) => {
      const child = spawn(opts.psql ?? 'psql', opts.args ?? [], { stdio: opts.stdio ?? 'inherit', env });
      // The terminal sends Ctrl-C / Ctrl-\ to psql as well (it cancels the running query); this
      // process must survive them to clean up. A TERM or HUP aimed at us is passed on.
      for (const sig of ['SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGHUP'] as const) {
        relay[sig] = sig === 'SIGINT' || sig === 'SIGQUIT' ? () => undefined : () => child.kill(sig);
        process.on(sig, relay[sig]!);
      }
      child.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'ENOENT' ? new Error('psql not found on PATH: install the PostgreSQL client, or use wact db env / --print') : err,
        ),
      );
      child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? (SIGNAL_NUMBERS[signal] ?? 0) : 0)));
      opts.onSpawn?.(child);
    });
  } finally {
    for (const [sig, fn] of Object.entries(relay)) process.off(sig, fn);
    process.off('exit', cleanup);
    cleanup();
  }
}
