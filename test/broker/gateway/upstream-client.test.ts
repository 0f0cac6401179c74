import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { hashMd5Password, PostgresConnection, type PostgresConnectionOptions } from 'pg-gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectUpstream } from '../../../broker/gateway/upstream-client.ts';
import { targetFromUrl } from '../../../shared/db/database-target.ts';
import { ensureDevCertificates, loadTlsMaterial, type TlsMaterial } from '../../../shared/http/tls.ts';

/** A stand-in upstream server (pg-gateway) to check the client side of each login method. */
async function fakeUpstream(opts: PostgresConnectionOptions): Promise<{ port: number; close(): void }> {
  const server = net.createServer((socket) => void new PostgresConnection(socket, opts));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

describe('gateway upstream client', () => {
  let material: TlsMaterial;
  beforeAll(async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-up-'));
    await ensureDevCertificates(home, []);
    material = loadTlsMaterial({ env: 'test', home, tls: {} });
  });
  const servers: { close(): void }[] = [];
  afterAll(() => servers.forEach((s) => s.close()));

  it('verify-full: TLS to the database with its certificate checked against the extra CA; refused without it', async () => {
    let seen = '';
    const up = await fakeUpstream({
      authMode: 'cleartextPassword',
      tls: { key: Buffer.from(material.key), cert: Buffer.from(material.cert) },
      validateCredentials: async (c) => ((seen = c.authMode === 'cleartextPassword' ? c.password : ''), true),
    });
    servers.push(up);
    const url = `postgres://ignored@localhost:${up.port}/wact_eu?sslmode=verify-full`;
    const ok = await connectUpstream(targetFromUrl(url, { ca: material.ca }), {
      user: 'wact_sess_x',
      password: async () => 'iam-token-or-password',
    });
    expect((ok.socket as import('node:tls').TLSSocket).encrypted).toBe(true);
    expect(seen).toBe('iam-token-or-password');
    ok.socket.destroy();
    await expect(connectUpstream(targetFromUrl(url), { user: 'wact_sess_x', password: async () => 'x' })).rejects.toThrow(/TLS failed/);
  });

  it('reads host, port, database and sslmode from the URL as pg does (pg-connection-string), TLS as libpq means it', () => {
    const v6 = targetFromUrl('postgres://u:p%40ss@[::1]:6543/wact%20eu?sslmode=verify-ca');
    expect(v6).toMatchObject({ host: '::1', port: 6543, database: 'wact eu' });
    expect(v6.ssl).toMatchObject({ rejectUnauthorized: true, servername: undefined });
    expect((v6.ssl as { checkServerIdentity?: unknown }).checkServerIdentity).toBeTypeOf('function'); // chain only
    const full = targetFromUrl('postgresql://db.example.com/wact_us?sslmode=verify-full');
    expect(full).toMatchObject({ host: 'db.example.com', port: 5432, database: 'wact_us' });
    expect(full.ssl).toMatchObject({ rejectUnauthorized: true, servername: 'db.example.com' });
    expect((full.ssl as { checkServerIdentity?: unknown }).checkServerIdentity).toBeUndefined(); // host name checked too
    expect((targetFromUrl('postgres://db.example.com/x?sslmode=require').ssl as { rejectUnauthorized: boolean }).rejectUnauthorized).toBe(
      false,
    );
    expect(targetFromUrl('postgres://127.0.0.1')).toMatchObject({ host: '127.0.0.1', port: 5432, database: 'postgres', ssl: false });
  });

  it('MD5 password login', async () => {
    const up = await fakeUpstream({
      authMode: 'md5Password',
      validateCredentials: async (c) => c.authMode === 'md5Password' && c.hash === (await hashMd5Password(c.user, 'secret-pw', c.salt)),
    });
    servers.push(up);
    const target = targetFromUrl(`postgres://x@127.0.0.1:${up.port}/db`);
    const ok = await connectUpstream(target, { user: 'wact_sess_y', password: async () => 'secret-pw' });
    ok.socket.destroy();
    await expect(connectUpstream(target, { user: 'wact_sess_y', password: async () => 'wrong' })).rejects.toThrow(
      /password authentication failed/,
    );
  });
});
