import net from 'node:net';
import { generate } from 'selfsigned';
import { describe, expect, it } from 'vitest';
import { connectionDetails, gatewayTrustFrom } from '../../../shared/access/connection-details.ts';

async function ca(name: string, issuer?: { key: string; cert: string }) {
  const pems = await generate([{ name: 'commonName', value: name }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    ...(issuer ? { ca: issuer } : {}),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

async function leaf(issuer: { key: string; cert: string }, host = '127.0.0.1') {
  const pems = await generate([{ name: 'commonName', value: host }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    ca: issuer,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'subjectAltName', altNames: [net.isIP(host) ? { type: 7 as const, ip: host } : { type: 2 as const, value: host }] },
    ],
  });
  return pems.cert;
}

describe('connection details: which CA the client is told to trust', () => {
  it('picks the CA that issued the gateway certificate out of a bundle, not the unrelated ones', async () => {
    const root = await ca('Gateway root');
    const other = await ca('Database provider root');
    const server = await leaf(root);
    const trust = gatewayTrustFrom({ cert: server, ca: `${other.cert}\n${root.cert}` });
    expect(trust?.pem.trim()).toBe(root.cert.trim());
    expect(trust?.pem).not.toContain(other.cert.trim().split('\n')[1]);
    expect(trust?.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  it('follows served intermediates up to the root in the bundle', async () => {
    const root = await ca('Root');
    const intermediate = await ca('Intermediate', root);
    const server = await leaf(intermediate);
    const trust = gatewayTrustFrom({ cert: `${server}\n${intermediate.cert}`, ca: root.cert });
    expect(trust?.pem.trim()).toBe(root.cert.trim());
  });

  it('names no CA when the bundle does not vouch for the gateway (the client then fails closed)', async () => {
    const root = await ca('Root');
    const stranger = await ca('Stranger');
    expect(gatewayTrustFrom({ cert: await leaf(root), ca: stranger.cert })).toBeUndefined();
    expect(gatewayTrustFrom({ cert: await leaf(root) })).toBeUndefined();
  });

  it('puts the token in the password field only', () => {
    const token = 'T0k3n_'.padEnd(43, 'x');
    const info = connectionDetails({ host: 'gw.example', port: 6432 }, 'sess-1', token, undefined);
    const { password, ...rest } = info;
    expect(password).toBe(token);
    expect(JSON.stringify(rest)).not.toContain(token);
    expect(info).toMatchObject({ sslmode: 'verify-full', sslrootcert: null, psql: 'psql' });
    expect(info.env).toEqual({ PGHOST: 'gw.example', PGPORT: '6432', PGDATABASE: 'wact', PGUSER: 'sess-1', PGSSLMODE: 'verify-full' });
  });
});
