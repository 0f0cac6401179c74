import type dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/errors/errors.ts';
import { classifyAddress, createOutboundClient, describeOutbound } from '../../../shared/http/outbound-client.ts';

/**
 * The customer-destination client must never reach a local service. A real
 * HTTP server listens on loopback and counts every request it receives: for
 * each hostile spelling the request must be refused and the count stay 0.
 */

let hits = 0;
let port = 0;
let server6Hits = 0;
let port6 = 0;
const servers: http.Server[] = [];

beforeAll(async () => {
  const s = http.createServer((_req, res) => {
    hits++;
    res.end('local');
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  port = (s.address() as AddressInfo).port;
  servers.push(s);
  const s6 = http.createServer((_req, res) => {
    server6Hits++;
    res.end('local6');
  });
  await new Promise<void>((r) => {
    s6.once('error', () => r()); // no IPv6 loopback on this machine: the IPv6 rows still must be refused
    s6.listen(0, '::1', () => {
      port6 = (s6.address() as AddressInfo).port;
      r();
    });
  });
  servers.push(s6);
});
afterAll(() => {
  for (const s of servers) s.close();
});

const stub =
  (answer: (call: number) => dns.LookupAddress[]) =>
  (): ((hostname: string, cb: (err: Error | null, a: dns.LookupAddress[]) => void) => void) => {
    let calls = 0;
    return (_h, cb) => setImmediate(() => cb(null, answer(++calls)));
  };

describe('classifyAddress', () => {
  const refused: Array<[string, string]> = [
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'IPv6 loopback'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'IPv6 unspecified'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.1', 'private'],
    ['169.254.169.254', 'metadata (link-local)'],
    ['169.254.170.2', 'ECS metadata'],
    ['fd00:ec2::254', 'AWS IPv6 metadata'],
    ['168.63.129.16', 'Azure WireServer'],
    ['100.64.0.1', 'CGNAT'],
    ['100.100.100.200', 'Alibaba metadata in CGNAT'],
    ['198.18.0.1', 'benchmark'],
    ['192.0.2.1', 'documentation'],
    ['240.0.0.1', 'reserved'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['fe80::1', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['ff02::1', 'IPv6 multicast'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback, hex'],
    ['::ffff:a9fe:a9fe', 'IPv4-mapped metadata'],
    ['::ffff:10.0.0.1', 'IPv4-mapped private'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 metadata'],
    ['64:ff9b::7f00:1', 'NAT64 loopback'],
    ['64:ff9b:1::a00:1', 'local-use NAT64'],
    ['2002:7f00:1::', '6to4 loopback'],
    ['2002:a9fe:a9fe::1', '6to4 metadata'],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'Teredo'],
    ['::127.0.0.1', 'IPv4-compatible'],
    ['::ffff:0:7f00:1', 'SIIT (rfc6145)'],
    ['2001:db8::1', 'documentation'],
    ['not-an-ip', 'garbage'],
  ];
  it.each(refused)('refuses %s (%s)', (ip) => {
    expect(classifyAddress(ip).allowed).toBe(false);
  });

  it.each(['8.8.8.8', '1.1.1.1', '93.184.216.34', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('allows public %s', (ip) => {
    expect(classifyAddress(ip)).toEqual({ allowed: true });
  });
});

describe('hostile URL spellings never reach the loopback server', () => {
  const client = createOutboundClient({ env: 'test', allowHttp: true, timeoutMs: 2000 });
  afterAll(() => client.close());

  const spellings = [
    (p: number) => `http://127.0.0.1:${p}/`,
    (p: number) => `http://2130706433:${p}/`, // decimal
    (p: number) => `http://0177.0.0.1:${p}/`, // octal
    (p: number) => `http://0177.0000.0000.0001:${p}/`,
    (p: number) => `http://0x7f.0.0.1:${p}/`, // hex
    (p: number) => `http://0x7f000001:${p}/`,
    (p: number) => `http://127.1:${p}/`, // short form
    (p: number) => `http://127.0.1:${p}/`,
    (p: number) => `http://[::ffff:127.0.0.1]:${p}/`,
    (p: number) => `http://[::ffff:7f00:1]:${p}/`,
    (p: number) => `http://[0:0:0:0:0:ffff:127.0.0.1]:${p}/`,
    (p: number) => `http://[64:ff9b::7f00:1]:${p}/`,
    (p: number) => `http://[2002:7f00:1::]:${p}/`,
    (p: number) => `http://[::127.0.0.1]:${p}/`,
    (p: number) => `http://0.0.0.0:${p}/`,
    (p: number) => `http://0:${p}/`,
    (p: number) => `http://localhost:${p}/`,
    (p: number) => `http://LOCALHOST:${p}/`,
    (p: number) => `http://localhost.:${p}/`, // trailing dot
    (p: number) => `http://127.0.0.1.:${p}/`,
    (p: number) => `http://%31%32%37.0.0.1:${p}/`, // percent-encoded host
    (p: number) => `http://127.0.0.1%2e:${p}/`,
    (p: number) => `http://①②⑦.0.0.1:${p}/`, // IDNA digits fold to 127
  ];

  it.each(spellings.map((f) => [f(0).replace(':0/', ':PORT/'), f]))('%s', async (_label, f) => {
    const before = hits;
    const r = await client.send(f(port), { body: 'x' });
    expect(r.ok).toBe(false);
    // Names may also fail to resolve ("localhost." on some resolvers); never a success.
    expect(['not_allowed', 'connection_failed']).toContain(r.category);
    expect(hits).toBe(before);
  });

  it.each([
    (p: number) => `http://[::1]:${p}/`,
    (p: number) => `http://[0:0:0:0:0:0:0:1]:${p}/`,
    (p: number) => `http://[::ffff:a9fe:a9fe]:${p}/`,
    (p: number) => `http://[64:ff9b::a9fe:a9fe]:${p}/`,
    (p: number) => `http://[fd00:ec2::254]:${p}/`,
    (p: number) => `http://169.254.169.254:${p}/`,
    (p: number) => `http://[fe80::1%25lo]:${p}/`,
  ])('IPv6 and metadata literal %#', async (f) => {
    const before = server6Hits + hits;
    const r = await client.send(f(port6 || port), { body: 'x' });
    expect(r).toMatchObject({ ok: false });
    expect(['not_allowed', 'connection_failed']).toContain(r.category);
    expect(server6Hits + hits).toBe(before);
  });

  it('IP literals are refused before any socket is opened', async () => {
    for (const url of [`http://[::ffff:127.0.0.1]:${port}/`, `http://2130706433:${port}/`, `http://[64:ff9b::a9fe:a9fe]/`]) {
      expect((await client.send(url)).category).toBe('not_allowed');
    }
  });

  it('refuses other schemes, credentials in the URL, and http in production', async () => {
    expect((await client.send('file:///etc/passwd')).category).toBe('not_allowed');
    expect((await client.send('ftp://8.8.8.8/')).category).toBe('not_allowed');
    expect((await client.send('https://user:pw@example.com/')).category).toBe('not_allowed');
    const prod = createOutboundClient({ env: 'production', allowHttp: true });
    try {
      expect((await prod.send('http://8.8.8.8/')).category).toBe('not_allowed');
    } finally {
      await prod.close();
    }
  });
});

describe('DNS rebinding', () => {
  it('an answer with a public address first and loopback second is refused whole', async () => {
    const client = createOutboundClient({
      env: 'test',
      allowHttp: true,
      lookup: stub(() => [
        { address: '93.184.216.34', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ])(),
    });
    try {
      const before = hits;
      const r = await client.send(`http://rebind.example:${port}/`, { body: 'x' });
      expect(r).toEqual({ ok: false, category: 'not_allowed', status: null });
      expect(hits).toBe(before);
    } finally {
      await client.close();
    }
  });

  it('a name that was public when configured and loopback when dialled is refused at connect time', async () => {
    const client = createOutboundClient({
      env: 'test',
      allowHttp: true,
      lookup: stub((call) => (call === 1 ? [{ address: '93.184.216.34', family: 4 }] : [{ address: '127.0.0.1', family: 4 }]))(),
    });
    try {
      expect(await client.precheck(`http://rebind.example:${port}/`)).toEqual({ allowed: true }); // configure time
      const before = hits;
      const r = await client.send(`http://rebind.example:${port}/`, { body: 'x' });
      expect(r.category).toBe('not_allowed');
      expect(hits).toBe(before);
    } finally {
      await client.close();
    }
  });

  it('positive control: the same stub answering only an allowed address does reach the server', async () => {
    // Proves the refusals above are the policy, not a broken test server.
    const client = createOutboundClient({
      env: 'test',
      allowHttp: true,
      devAllow: ['127.0.0.1/32'],
      lookup: stub(() => [{ address: '127.0.0.1', family: 4 }])(),
    });
    try {
      const before = hits;
      expect(await client.send(`http://siem.example:${port}/`, { body: 'x' })).toEqual({ ok: true, category: 'ok', status: 200 });
      expect(hits).toBe(before + 1);
    } finally {
      await client.close();
    }
  });
});

describe('development allow-list', () => {
  it('is refused in production', () => {
    expect(() => createOutboundClient({ env: 'production', devAllow: ['127.0.0.1'] })).toThrow(ConfigError);
    expect(() => createOutboundClient({ env: 'production', devAllow: [] })).not.toThrow();
  });

  it('rejects entries that are not addresses or CIDRs', () => {
    expect(() => createOutboundClient({ env: 'development', devAllow: ['localhost'] })).toThrow(ConfigError);
  });

  it('allows exactly what it lists', async () => {
    const client = createOutboundClient({ env: 'development', allowHttp: true, devAllow: ['127.0.0.1'] });
    try {
      expect((await client.send(`http://127.0.0.1:${port}/`)).ok).toBe(true);
      expect((await client.send(`http://[::ffff:127.0.0.1]:${port}/`)).ok).toBe(true); // same address
      expect((await client.send(`http://127.0.0.2:${port}/`)).category).toBe('not_allowed');
      expect((await client.send(`http://169.254.169.254/`)).category).toBe('not_allowed');
    } finally {
      await client.close();
    }
  });
});

describe('redirects and failure categories', () => {
  const client = createOutboundClient({ env: 'test', allowHttp: true, devAllow: ['127.0.0.1'], timeoutMs: 400 });
  afterAll(() => client.close());

  it('does not follow a redirect', async () => {
    const redirector = http.createServer((_req, res) => res.writeHead(302, { location: `http://127.0.0.1:${port}/` }).end());
    await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', () => r()));
    try {
      const before = hits;
      const r = await client.send(`http://127.0.0.1:${(redirector.address() as AddressInfo).port}/`, { body: 'x' });
      expect(r).toEqual({ ok: false, category: 'redirect_not_followed', status: 302 });
      expect(hits).toBe(before);
    } finally {
      redirector.close();
    }
  });

  it('reports HTTP status, timeout, connection failure and TLS failure as categories, never socket errors', async () => {
    const failing = http.createServer((_req, res) => res.writeHead(503).end('internal detail'));
    const silent = http.createServer(() => undefined);
    const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], { keyType: 'ec', curve: 'P-256', algorithm: 'sha256' });
    const untrusted = https.createServer({ key: pems.private, cert: pems.cert }, (_req, res) => res.end());
    for (const s of [failing, silent, untrusted]) await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const at = (s: http.Server | https.Server, scheme = 'http') => `${scheme}://127.0.0.1:${(s.address() as AddressInfo).port}/`;
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const closedUrl = at(closed);
    closed.close();
    try {
      const results = {
        status: await client.send(at(failing)),
        timeout: await client.send(at(silent)),
        refused: await client.send(closedUrl),
        tls: await client.send(at(untrusted, 'https')),
      };
      expect(results.status).toEqual({ ok: false, category: 'http_status', status: 503 });
      expect(results.timeout.category).toBe('timeout');
      expect(results.refused.category).toBe('connection_failed');
      expect(results.tls.category).toBe('tls_failed');
      for (const r of Object.values(results)) expect(describeOutbound(r)).not.toMatch(/E[A-Z]{4,}|internal detail|127\.0\.0\.1/);
    } finally {
      for (const s of [failing, silent, untrusted]) {
        s.closeAllConnections();
        s.close();
      }
    }
  });
});
