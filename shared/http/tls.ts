import { randomBytes, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import type { RequestListener } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { inspect } from 'node:util';
import { generate } from 'selfsigned';
import type { Config } from '../config/config.ts';
import { ConfigError } from '../errors/errors.ts';

/**
 * TLS for every listener. Production: the operator's certificate files.
 * Development: a local CA and a server certificate made once in <home>/tls/
 * (trust ca.crt to get a green padlock).
 */

export interface TlsMaterial {
  /** PEM private key. Not enumerable: it stays out of JSON, inspect and spreads. */
  readonly key: string;
  readonly cert: string;
  /** Extra CA to trust (the development CA, or TLS_CA_FILE). */
  readonly ca?: string;
}

export interface DevCertificatePaths {
  caFile: string;
  caKeyFile: string;
  certFile: string;
  keyFile: string;
}

const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;
const SERVER_DAYS = 365; // clients cap server certificates at ~398 days
const CA_YEARS = 10;

export function devCertificatePaths(home: string): DevCertificatePaths {
  const dir = path.join(home, 'tls');
  return {
    caFile: path.join(dir, 'ca.crt'),
    caKeyFile: path.join(dir, 'ca.key'),
    certFile: path.join(dir, 'server.crt'),
    keyFile: path.join(dir, 'server.key'),
  };
}

/** Wraps PEM strings so the private key never shows when the object is logged or printed. */
export function tlsMaterial(key: string, cert: string, ca?: string): TlsMaterial {
  const material = { cert, ...(ca ? { ca } : {}) } as { key: string; cert: string; ca?: string };
  Object.defineProperty(material, 'key', { value: key, enumerable: false });
  Object.defineProperty(material, inspect.custom, {
    value: () => `TlsMaterial { cert: ${cert.length} bytes${ca ? `, ca: ${ca.length} bytes` : ''}, key: [redacted] }`,
    enumerable: false,
  });
  return material;
}

/**
 * Makes (or keeps) the development CA and a server certificate for localhost,
 * 127.0.0.1, ::1 and `hosts`. Regenerates the server certificate when a host is
 * missing or it expires within 30 days. Safe when several processes start at once.
 */
export async function ensureDevCertificates(home: string, hosts: string[] = []): Promise<DevCertificatePaths> {
  const paths = devCertificatePaths(home);
  const dir = path.dirname(paths.caFile);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const names = [...new Set(['localhost', '127.0.0.1', '::1', ...hosts.filter(Boolean)])];
  if (currentServerCertificate(paths, names)) return paths;
  return withLock(path.join(dir, '.lock'), async () => {
    if (currentServerCertificate(paths, names)) return paths; // another process made it meanwhile
    let ca = readCa(paths);
    if (!ca) {
      ca = await makeCa();
      writeAtomic(paths.caKeyFile, ca.key, 0o600);
      writeAtomic(paths.caFile, ca.cert, 0o644);
    }
    const server = await makeServerCertificate(ca, names);
    writeAtomic(paths.keyFile, server.key, 0o600);
    writeAtomic(paths.certFile, server.cert, 0o644);
    return paths;
  });
}

/**
 * The certificate and key every listener uses. Synchronous: it only reads files.
 * Development without TLS_CERT_FILE reads what ensureDevCertificates made.
 */
export function loadTlsMaterial(config: Pick<Config, 'env' | 'home' | 'tls'>): TlsMaterial {
  const { certFile, keyFile, caFile } = config.tls;
  if (certFile || keyFile) {
    if (!certFile || !keyFile) throw new ConfigError('set both TLS_CERT_FILE and TLS_KEY_FILE, or neither');
    return tlsMaterial(
      readPem(keyFile, 'TLS_KEY_FILE'),
      readPem(certFile, 'TLS_CERT_FILE'),
      caFile ? readPem(caFile, 'TLS_CA_FILE') : undefined,
    );
  }
  if (config.env === 'production') throw new ConfigError('refusing to start: production needs TLS_CERT_FILE and TLS_KEY_FILE');
  const dev = devCertificatePaths(config.home);
  if (!fs.existsSync(dev.certFile) || !fs.existsSync(dev.keyFile)) {
    throw new ConfigError(`no development certificate in ${path.dirname(dev.certFile)} (await ensureDevCertificates first)`);
  }
  const ca = caFile ? readPem(caFile, 'TLS_CA_FILE') : fs.readFileSync(dev.caFile, 'utf8');
  return tlsMaterial(fs.readFileSync(dev.keyFile, 'utf8'), fs.readFileSync(dev.certFile, 'utf8'), ca);
}

/**
 * The TLS material of a process that listens on nothing (the worker): the extra CA its outbound calls
 * trust, and no certificate. Reading `key` or `cert` throws, so a listener started by mistake fails
 * closed at once. A process with a certificate configured gets its full material instead.
 */
export function outboundOnlyTls(config: Pick<Config, 'env' | 'home' | 'tls'>): TlsMaterial {
  if (config.tls.certFile || config.tls.keyFile) return loadTlsMaterial(config);
  const ca = outboundExtraCa(config);
  const missing = (): never => {
    throw new ConfigError('this process has no TLS certificate (TLS_CERT_FILE, TLS_KEY_FILE): it may not listen');
  };
  const material = ca ? { ca } : {};
  Object.defineProperty(material, 'key', { get: missing, enumerable: false });
  Object.defineProperty(material, 'cert', { get: missing, enumerable: false });
  return material as TlsMaterial;
}

/** Server options every HTTPS/TLS listener uses: never below TLS 1.2. */
export function httpsOptions(material: TlsMaterial): https.ServerOptions & { minVersion: 'TLSv1.2' } {
  return {
    key: material.key,
    cert: material.cert,
    ...(material.ca ? { ca: material.ca } : {}),
    minVersion: 'TLSv1.2',
  };
}

/**
 * The CA list of every outbound TLS client: the system store plus the extra CA,
 * never the extra CA alone. (Node's and undici's `ca` option *replaces* the
 * default store, so passing only the development CA or TLS_CA_FILE would make
 * every publicly rooted certificate, i.e. every ad platform, fail to verify.)
 * `systemRoots` exists for tests; it defaults to Node's bundled root store.
 * Note: certificates added with NODE_EXTRA_CA_CERTS are not part of
 * tls.rootCertificates on Node 20; configure such a CA as TLS_CA_FILE instead.
 */
export function outboundCaList(extraCa?: string | string[], systemRoots: readonly string[] = tls.rootCertificates): string[] {
  const extra = (Array.isArray(extraCa) ? extraCa : extraCa ? [extraCa] : []).filter((pem) => pem.trim() !== '');
  return [...systemRoots, ...extra];
}

/**
 * The extra CA outbound clients trust, read from configuration: TLS_CA_FILE, or
 * outside production the development CA in <home>/tls/ca.crt when present.
 */
export function outboundExtraCa(config: Pick<Config, 'env' | 'home' | 'tls'>): string | undefined {
  if (config.tls.caFile) return readPem(config.tls.caFile, 'TLS_CA_FILE');
  if (config.env === 'production') return undefined;
  const dev = devCertificatePaths(config.home).caFile;
  return fs.existsSync(dev) ? fs.readFileSync(dev, 'utf8') : undefined;
}

export function createHttpsServer(app: RequestListener, material: TlsMaterial): https.Server {
  return https.createServer(httpsOptions(material), app);
}

// ---------------------------------------------------------------------------

function readPem(file: string, variable: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    throw new ConfigError(`cannot read ${variable} (${file})`);
  }
}

function readCa(paths: DevCertificatePaths): { key: string; cert: string } | undefined {
  try {
    const cert = fs.readFileSync(paths.caFile, 'utf8');
    const key = fs.readFileSync(paths.caKeyFile, 'utf8');
    const x509 = new X509Certificate(cert);
    if (!x509.ca || Date.parse(x509.validTo) - Date.now() < RENEW_BEFORE_MS) return undefined;
    return { key, cert };
  } catch {
    return undefined;
  }
}

function currentServerCertificate(paths: DevCertificatePaths, names: string[]): boolean {
  try {
    const cert = new X509Certificate(fs.readFileSync(paths.certFile, 'utf8'));
    const ca = new X509Certificate(fs.readFileSync(paths.caFile, 'utf8'));
    if (!fs.existsSync(paths.keyFile)) return false;
    if (Date.parse(cert.validTo) - Date.now() < RENEW_BEFORE_MS) return false;
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
    return names.every((n) => (net.isIP(n) ? cert.checkIP(n) !== undefined : cert.checkHost(n) !== undefined));
  } catch {
    return false;
  }
}

async function makeCa(): Promise<{ key: string; cert: string }> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate);
  notAfterDate.setFullYear(notAfterDate.getFullYear() + CA_YEARS);
  const pems = await generate(
    [
      { name: 'commonName', value: 'WAct development CA' },
      { name: 'organizationName', value: 'WAct (development)' },
    ],
    {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate,
      notAfterDate,
      extensions: [
        { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      ],
    },
  );
  return { key: pems.private, cert: pems.cert };
}

async function makeServerCertificate(ca: { key: string; cert: string }, names: string[]): Promise<{ key: string; cert: string }> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + SERVER_DAYS * 24 * 3600 * 1000);
  const pems = await generate([{ name: 'commonName', value: names[0] }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    ca,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: names.map((n) => (net.isIP(n) ? { type: 7 as const, ip: n } : { type: 2 as const, value: n })) },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

/** tmp + rename in the same folder: readers see the old file or the new one, never half. */
function writeAtomic(file: string, content: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  fs.writeFileSync(tmp, content, { mode, flag: 'wx' });
  fs.chmodSync(tmp, mode); // the umask may have narrowed a 0644 certificate; keys stay 0600
  fs.renameSync(tmp, file);
}

async function withLock<T>(lockFile: string, run: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      fs.closeSync(fs.openSync(lockFile, 'wx', 0o600));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A lock left by a crashed process: certificate generation takes seconds, not a minute.
      const age = Date.now() - (fs.statSync(lockFile, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 60_000) fs.rmSync(lockFile, { force: true });
      else if (Date.now() > deadline) throw new ConfigError(`timed out waiting for ${lockFile}`);
      else await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await run();
  } finally {
    fs.rmSync(lockFile, { force: true });
  }
}
