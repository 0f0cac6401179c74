import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { inspect } from 'node:util';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/errors/errors.ts';
import {
  createHttpsServer,
  devCertificatePaths,
  ensureDevCertificates,
  httpsOptions,
  loadTlsMaterial,
  outboundOnlyTls,
  type TlsMaterial,
} from '../../../shared/http/tls.ts';
import { HSTS_MAX_AGE_SECONDS, securityHeaders } from '../../../shared/http/security-headers.ts';
import type https from 'node:https';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-tls-'));
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

describe('development certificates', () => {
  it('are made once, for localhost, 127.0.0.1 and the public host, keys 0600', async () => {
    const paths = await ensureDevCertificates(home, ['wact.example.test']);
    const ca = new X509Certificate(fs.readFileSync(paths.caFile));
    const cert = new X509Certificate(fs.readFileSync(paths.certFile));
    expect(ca.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(ca) && cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkHost('wact.example.test')).toBe('wact.example.test');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(fs.statSync(paths.keyFile).mode & 0o777).toBe(0o600);
    expect(fs.statSync(paths.caKeyFile).mode & 0o777).toBe(0o600);
    const before = fs.readFileSync(paths.certFile, 'utf8');
    await ensureDevCertificates(home, ['wact.example.test']);
    expect(fs.readFileSync(paths.certFile, 'utf8')).toBe(before); // kept
  });

  it('reissue the server certificate (same CA) when a new host appears', async () => {
    const paths = devCertificatePaths(home);
    const caBefore = fs.readFileSync(paths.caFile, 'utf8');
    await ensureDevCertificates(home, ['wact.example.test', 'other.example.test']);
    expect(new X509Certificate(fs.readFileSync(paths.certFile)).checkHost('other.example.test')).toBe('other.example.test');
    expect(fs.readFileSync(paths.caFile, 'utf8')).toBe(caBefore);
  });

  it('agree on one CA when several processes start at once', async () => {
    const fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-tls-race-'));
    await Promise.all(Array.from({ length: 4 }, () => ensureDevCertificates(fresh, ['wact.example.test'])));
    const p = devCertificatePaths(fresh);
    const cert = new X509Certificate(fs.readFileSync(p.certFile));
    expect(cert.checkIssued(new X509Certificate(fs.readFileSync(p.caFile)))).toBe(true);
    expect(fs.readdirSync(path.dirname(p.caFile)).sort()).toEqual(['ca.crt', 'ca.key', 'server.crt', 'server.key']);
    fs.rmSync(fresh, { recursive: true, force: true });
  });

  it('loadTlsMaterial reads them, and never shows the key', () => {
    const material = loadTlsMaterial({ env: 'development', home, tls: {} });
    expect(material.key).toContain('PRIVATE KEY');
    expect(material.ca).toContain('CERTIFICATE');
    expect(inspect(material)).not.toContain('PRIVATE KEY');
    expect(JSON.stringify(material)).not.toContain('PRIVATE KEY');
    expect(String({ ...material })).not.toContain('PRIVATE KEY');
  });

  it('loadTlsMaterial uses the operator files, and refuses production without them', () => {
    const p = devCertificatePaths(home);
    const m = loadTlsMaterial({ env: 'production', home: '/nonexistent', tls: { certFile: p.certFile, keyFile: p.keyFile } });
    expect(m.cert).toBe(fs.readFileSync(p.certFile, 'utf8'));
    expect(() => loadTlsMaterial({ env: 'production', home, tls: {} })).toThrow(ConfigError);
    expect(() => loadTlsMaterial({ env: 'development', home: '/nonexistent', tls: {} })).toThrow(ConfigError);
    expect(() => loadTlsMaterial({ env: 'development', home, tls: { certFile: p.certFile } })).toThrow(ConfigError);
  });
});

describe('HTTPS server', () => {
  let server: https.Server;
  let port: number;
  let material: TlsMaterial;

  beforeAll(async () => {
    await ensureDevCertificates(home, ['wact.example.test']);
    material = loadTlsMaterial({ env: 'development', home, tls: {} });
    const app = express();
    app.use(securityHeaders());
    app.get('/ping', (_req, res) => {
      res.json({ ok: true });
    });
    server = createHttpsServer(app, material);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    if (!server) return;
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('options always say TLS 1.2 at least', () => {
    expect(httpsOptions(material).minVersion).toBe('TLSv1.2');
  });

  function handshake(opts: tls.ConnectionOptions): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: material.ca, ...opts }, () => {
        const version = socket.getProtocol() ?? '?';
        socket.end();
        resolve(version);
      });
      socket.on('error', reject);
    });
  }

  it('serves TLS 1.3 and TLS 1.2 clients, verifying against the dev CA', async () => {
    expect(await handshake({ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' })).toBe('TLSv1.3');
    expect(await handshake({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })).toBe('TLSv1.2');
  });

  it('refuses a TLS 1.1 client', async () => {
    // SECLEVEL=0 lets our client really offer TLS 1.1 (OpenSSL 3 refuses to by
    // default), so the refusal below is the server's doing.
    const err = await handshake({ minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }).then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e,
    );
    expect(err).toBeDefined();
    // alert 70 (protocol_version) sent by the server
    expect(err?.code).toBe('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
  });

  it('proves the TLS 1.1 client above does offer TLS 1.1 (to a server allowing it)', async () => {
    const lax = tls.createServer({ key: material.key, cert: material.cert, minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' }, (s) =>
      s.end(),
    );
    await new Promise<void>((r) => lax.listen(0, '127.0.0.1', r));
    const version = await new Promise<string>((resolve, reject) => {
      const s = tls.connect(
        {
          host: '127.0.0.1',
          port: (lax.address() as AddressInfo).port,
          ca: material.ca,
          servername: 'localhost',
          minVersion: 'TLSv1.1',
          maxVersion: 'TLSv1.1',
          ciphers: 'DEFAULT@SECLEVEL=0',
        },
        () => {
          resolve(s.getProtocol() ?? '?');
          s.end();
        },
      );
      s.on('error', reject);
    });
    await new Promise((r) => lax.close(r));
    expect(version).toBe('TLSv1.1');
  });

  it('sends HSTS (≥ 1 year, includeSubDomains) and a strict CSP', async () => {
    const res = await fetchWithCa(`https://localhost:${port}/ping`, material.ca!);
    expect(res.status).toBe(200);
    const hsts = res.headers['strict-transport-security'] as string;
    const maxAge = Number(/max-age=(\d+)/.exec(hsts)?.[1]);
    expect(maxAge).toBeGreaterThanOrEqual(365 * 24 * 3600);
    expect(maxAge).toBe(HSTS_MAX_AGE_SECONDS);
    expect(hsts).toContain('includeSubDomains');
    const csp = res.headers['content-security-policy'] as string;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*(unsafe-inline|unsafe-eval)/);
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });
});

async function fetchWithCa(url: string, ca: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = request(url, { ca }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('a process that listens on nothing (the worker) in production', () => {
  const production = (tlsFiles: { certFile?: string; keyFile?: string; caFile?: string }) =>
    ({ env: 'production', home, tls: tlsFiles }) as const;

  it('needs no certificate: it gets the outbound CA, and reading a key or certificate refuses (so does listening)', async () => {
    const paths = await ensureDevCertificates(home);
    const material = outboundOnlyTls(production({ caFile: paths.caFile }));
    expect(material.ca).toBe(fs.readFileSync(paths.caFile, 'utf8'));
    expect(() => material.key).toThrow(ConfigError);
    expect(() => material.cert).toThrow(/no TLS certificate \(TLS_CERT_FILE, TLS_KEY_FILE\): it may not listen/);
    expect(() => createHttpsServer(express(), material)).toThrow(/may not listen/);
    // Logging or serialising it stays harmless.
    expect(() => inspect(material)).not.toThrow();
    expect(JSON.parse(JSON.stringify(material))).toEqual({ ca: material.ca });
    // Without TLS_CA_FILE production trusts the system store alone: no extra CA.
    expect(outboundOnlyTls(production({})).ca).toBeUndefined();
  });

  it('with a certificate configured it gets the full material, and half a pair is refused as before', async () => {
    const paths = await ensureDevCertificates(home);
    const full = outboundOnlyTls(production({ certFile: paths.certFile, keyFile: paths.keyFile }));
    expect(full.cert).toBe(fs.readFileSync(paths.certFile, 'utf8'));
    expect(() => outboundOnlyTls(production({ certFile: paths.certFile }))).toThrow(/set both TLS_CERT_FILE and TLS_KEY_FILE/);
  });

  it('a listening process in production still refuses to start without one', () => {
    expect(() => loadTlsMaterial(production({}))).toThrow(/production needs TLS_CERT_FILE and TLS_KEY_FILE/);
  });
});
