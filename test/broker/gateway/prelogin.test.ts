import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MessageSplitter } from '../../../broker/gateway/wire.ts';
import { fullSession, startHarness, type Harness } from './harness.ts';
import { serialize } from './raw-client.ts';

/**
 * The gateway's edge before login is reachable by anyone on the network:
 * only SSLRequest, GSSENCRequest (refused), CancelRequest, StartupMessage and
 * PasswordMessage are accepted; sizes are capped before anything is
 * buffered; framing is linear; a huge row does not stall other sessions.
 */

async function plain(port: number): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => undefined);
  await new Promise((r) => s.once('connect', r));
  return s;
}

/** Everything the server sends until it closes the connection (or the timeout). */
function collect(s: net.Socket, timeoutMs = 3000): Promise<{ data: Buffer; closed: boolean; ms: number }> {
  const t0 = Date.now();
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ data: Buffer.concat(chunks), closed: false, ms: Date.now() - t0 }), timeoutMs);
    s.once('close', () => {
      clearTimeout(timer);
      resolve({ data: Buffer.concat(chunks), closed: true, ms: Date.now() - t0 });
    });
  });
}

async function secure(port: number, ca: string): Promise<tls.TLSSocket> {
  const s = await plain(port);
  s.write(serialize.requestSsl());
  await new Promise((r) => s.once('data', r));
  const t = tls.connect({ socket: s, ca, servername: 'localhost' });
  t.on('error', () => undefined);
  await new Promise((r) => t.once('secureConnect', r));
  return t;
}

const fatalCode = (data: Buffer) => /C([0-9A-Z]{5})\0/.exec(data.toString('latin1'))?.[1];

describe('gateway: a hard edge before login', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ loginTimeoutMs: 20_000 });
  });
  afterAll(async () => h?.close());

  it('a Query (or any message but the password) instead of the password: FATAL 08P01, nothing printed', async () => {
    const printed = vi.spyOn(process.stdout, 'write');
    const logged = vi.spyOn(console, 'log');
    for (const msg of [serialize.query('SELECT secret_probe'), serialize.sync(), serialize.parse({ text: 'SELECT secret_probe' })]) {
      const t = await secure(h.port, h.ca);
      t.write(serialize.startup({ user: '00000000-0000-0000-0000-000000000000', database: 'wact' }));
      await new Promise((r) => t.once('data', r)); // AuthenticationCleartextPassword
      t.write(msg);
      const out = await collect(t);
      expect(out.closed).toBe(true);
      expect(fatalCode(out.data)).toBe('08P01');
      expect(out.data.toString()).toContain('expected a password message');
    }
    const stdout = printed.mock.calls.map((c) => String(c[0])).join('');
    expect(stdout).not.toContain('secret_probe');
    expect(logged).not.toHaveBeenCalled();
    printed.mockRestore();
    logged.mockRestore();
  });

  it('a Query as the very first packet, an unknown request code, a plaintext startup: refused at once', async () => {
    for (const [first, code] of [
      [serialize.query('SELECT 1'), '08P01'],
      [Buffer.from([0, 0, 0, 8, 0x12, 0x34, 0x56, 0x78]), '08P01'],
      [serialize.startup({ user: 'x', database: 'wact' }), '28000'],
    ] as const) {
      const s = await plain(h.port);
      s.write(first);
      const out = await collect(s);
      expect(out.closed).toBe(true);
      expect(fatalCode(out.data)).toBe(code);
    }
  });

  it('a startup packet that declares ~2 GB is refused from its length, not buffered until the login timer', async () => {
    const s = await plain(h.port);
    const head = Buffer.alloc(8);
    head.writeUInt32BE(0x7fff_fff0, 0);
    head.writeUInt32BE(196608, 4);
    s.write(head);
    const out = await collect(s, 5000);
    expect(out.closed).toBe(true);
    expect(out.ms).toBeLessThan(1000);
    expect(fatalCode(out.data)).toBe('08P01');
    // The same over TLS, for the startup message proper and the password message.
    const t = await secure(h.port, h.ca);
    t.write(head);
    const out2 = await collect(t, 5000);
    expect([out2.closed, out2.ms < 1000, fatalCode(out2.data)]).toEqual([true, true, '08P01']);
    const t2 = await secure(h.port, h.ca);
    t2.write(serialize.startup({ user: 'x', database: 'wact' }));
    await new Promise((r) => t2.once('data', r));
    const pw = Buffer.alloc(5);
    pw.write('p', 0, 'latin1');
    pw.writeUInt32BE(0x7fff_0000, 1);
    t2.write(pw);
    const out3 = await collect(t2, 5000);
    expect([out3.closed, out3.ms < 1000, fatalCode(out3.data)]).toEqual([true, true, '08P01']);
  });

  it('bytes smuggled behind an SSLRequest (read as if they were encrypted) are refused; a flood before login is cut', async () => {
    const s = await plain(h.port);
    s.write(Buffer.concat([serialize.requestSsl(), serialize.startup({ user: 'x', database: 'wact' })]));
    const out = await collect(s);
    expect(out.closed).toBe(true);
    expect(out.data.toString('latin1')).toContain('unencrypted data after SSL request');
    const f = await plain(h.port);
    const big = Buffer.alloc(9000);
    big.writeUInt32BE(9000, 0);
    big.writeUInt32BE(196608, 4);
    f.write(big.subarray(0, 100)); // a startup packet that never finishes…
    for (let i = 0; i < 40 && !f.destroyed; i++) f.write(Buffer.alloc(8192, 1)); // …and a flood behind it
    const out2 = await collect(f, 5000);
    expect(out2.closed).toBe(true);
  });

  it('GSSENCRequest gets N, and the client may go on with TLS; CancelRequest with an unknown key is dropped quietly', async () => {
    const s = await plain(h.port);
    const gss = Buffer.alloc(8);
    gss.writeUInt32BE(8, 0);
    gss.writeUInt32BE(80877104, 4);
    s.write(gss);
    const answer = await new Promise<Buffer>((r) => s.once('data', r));
    expect(answer.toString('latin1')).toBe('N');
    s.write(serialize.requestSsl());
    const ssl = await new Promise<Buffer>((r) => s.once('data', r));
    expect(ssl.toString('latin1')).toBe('S');
    s.destroy();
    const c = await plain(h.port);
    c.write(serialize.cancel(1234, 5678));
    const out = await collect(c);
    expect(out).toMatchObject({ closed: true });
    expect(out.data.length).toBe(0);
  });
});

describe('gateway: framing is linear and one huge row does not stall the others', () => {
  it('MessageSplitter: time grows linearly with a message split in 64 KiB chunks (no re-concatenation)', () => {
    const run = (mb: number) => {
      const total = mb * 1024 * 1024;
      const splitter = new MessageSplitter({ maxWhole: () => 1024, streamable: (t) => t === 0x44 });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const first = Buffer.alloc(64 * 1024, 0x61);
      first.write('D', 0, 'latin1');
      first.writeUInt32BE(total - 1, 1);
      const t0 = performance.now();
      let seen = 0;
      let pieces = 0;
      for (let sent = 0; sent < total; sent += chunk.length) {
        for (const p of splitter.push(sent === 0 ? first : chunk)) {
          seen += p.bytes.length;
          pieces++;
          expect(p.bytes.length).toBeLessThanOrEqual(128 * 1024);
        }
      }
      expect(seen).toBe(total);
      expect(splitter.buffered).toBe(0);
      return { ms: performance.now() - t0, pieces };
    };
    run(8); // warm-up
    const small = run(16);
    const large = run(128);
    // Linear: 8× the bytes, ≈ 8× the time (quadratic copying would be ≈ 64×).
    expect(large.ms / Math.max(small.ms, 0.5)).toBeLessThan(24);
  });

  it('a non-streamable message above its limit is refused from its header', () => {
    const splitter = new MessageSplitter({ maxWhole: () => 1000 });
    const head = Buffer.alloc(5);
    head.write('Q', 0, 'latin1');
    head.writeUInt32BE(5000, 1);
    expect(() => splitter.push(head)).toThrow(/exceeds the limit/);
  });

  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.close());

  it("a 100 MB row streams through while another session's SELECT 1 stays fast", async () => {
    const a = await fullSession(h, 'Large row check BIG-1');
    const b = await fullSession(h, 'Latency check BIG-2');
    const big = await h.client(a.connection.user, a.connection.password);
    const other = await h.client(b.connection.user, b.connection.password);
    const size = 100 * 1024 * 1024;
    let done = false;
    const t0 = performance.now();
    const streaming = big.query(`SELECT repeat('x', ${size}) AS big`).then((r) => {
      done = true;
      return (r.rows[0].big as string).length;
    });
    const latencies: number[] = [];
    while (!done) {
      const s = performance.now();
      await other.query('SELECT 1');
      latencies.push(performance.now() - s);
    }
    expect(await streaming).toBe(size);
    const total = performance.now() - t0;
    latencies.sort((x, y) => x - y);
    const p50 = latencies[Math.floor(latencies.length / 2)];
    const max = latencies.at(-1)!;
    process.stdout.write(
      `100 MB row in ${total.toFixed(0)} ms; meanwhile ${latencies.length} × SELECT 1 on another session: p50 ${p50.toFixed(2)} ms, max ${max.toFixed(1)} ms\n`,
    );
    expect(latencies.length).toBeGreaterThan(3);
    expect(p50).toBeLessThan(100);
    await big.end();
    await other.end();
  }, 120_000);
});
