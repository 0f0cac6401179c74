import https from 'node:https';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { generate } from 'selfsigned';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboundCaList } from '../../../shared/http/tls.ts';

/**
 * Trust that adds, never replaces. Without internet we cannot dial a real
 * platform, so a "public" root is simulated: CA P stands for a root of the
 * system store, CA X is the configured extra CA (the development CA or
 * TLS_CA_FILE). A server whose chain ends at P must still verify when X is
 * configured, and a server under X must verify too.
 */

interface Pem {
  key: string;
  cert: string;
}

async function makeCa(name: string): Promise<Pem> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const pems = await generate([{ name: 'commonName', value: name }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

async function makeLeaf(ca: Pem): Promise<Pem> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + 86_400_000),
    ca,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }] },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

async function serve(leaf: Pem): Promise<{ url: string; close: () => void }> {
  const server = https.createServer({ key: leaf.key, cert: leaf.cert }, (_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `https://localhost:${(server.address() as AddressInfo).port}/`, close: () => server.close() };
}

async function handshake(url: string, ca: string[]): Promise<'verified' | string> {
  const agent = new Agent({ connect: { ca } });
  try {
    const res = await request(url, { dispatcher: agent });
    await res.body.dump();
    return 'verified';
  } catch (err) {
    const e = err as { code?: string; cause?: { code?: string } };
    return e.code ?? e.cause?.code ?? 'error';
  } finally {
    await agent.close();
  }
}

let publicRoot: Pem;
let extraCa: Pem;
let publicServer: { url: string; close: () => void };
let extraServer: { url: string; close: () => void };

beforeAll(async () => {
  publicRoot = await makeCa('simulated public root');
  extraCa = await makeCa('extra CA');
  publicServer = await serve(await makeLeaf(publicRoot));
  extraServer = await serve(await makeLeaf(extraCa));
});
afterAll(() => {
  publicServer?.close();
  extraServer?.close();
});

describe('outboundCaList', () => {
  it('holds every system root and the extra CA', () => {
    const list = outboundCaList(extraCa.cert);
    expect(tls.rootCertificates.length).toBeGreaterThan(50);
    for (const root of tls.rootCertificates) expect(list).toContain(root);
    expect(list).toContain(extraCa.cert);
    expect(list).toHaveLength(tls.rootCertificates.length + 1);
  });

  it('without an extra CA is the system store', () => {
    expect(outboundCaList(undefined)).toEqual([...tls.rootCertificates]);
    expect(outboundCaList('')).toEqual([...tls.rootCertificates]);
  });

  it('a publicly rooted chain still verifies when an extra CA is configured', async () => {
    const ca = outboundCaList(extraCa.cert, [publicRoot.cert]);
    expect(await handshake(publicServer.url, ca)).toBe('verified');
    expect(await handshake(extraServer.url, ca)).toBe('verified');
  });

  it('the replacing form (extra CA alone) is what broke the platforms: the public chain fails', async () => {
    // Proves the test above can fail: this is the old export sender's `ca: extraCa`.
    expect(await handshake(publicServer.url, [extraCa.cert])).toMatch(/CERT|SIGNER|ISSUER|UNABLE/);
  });

  it('a chain under neither CA does not verify', async () => {
    const stranger = await makeCa('stranger');
    const server = await serve(await makeLeaf(stranger));
    try {
      expect(await handshake(server.url, outboundCaList(extraCa.cert, [publicRoot.cert]))).not.toBe('verified');
    } finally {
      server.close();
    }
  });
});
