import { execFile } from 'node:child_process';
import net from 'node:net';
import tls from 'node:tls';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchPsql } from '../../../cli/commands/db-connect.ts';
import type { ConnectionInfo } from '../../../shared/access/access-types.ts';
import { redactedSession, startHarness, type Harness } from '../../broker/gateway/harness.ts';

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/**
 * A man in the middle on another port: answers the SSLRequest itself, completes TLS with its own
 * self-signed certificate (valid for 127.0.0.1 and localhost, so only the issuer gives it away),
 * opens its own TLS connection to the gateway and relays both ways, keeping everything the client
 * sent in clear.
 */
async function startMitm(gatewayPort: number) {
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7 as const, ip: '127.0.0.1' },
          { type: 2 as const, value: 'localhost' },
        ],
      },
    ],
  });
  const fromClient: Buffer[] = [];
  let handshakes = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((raw) => {
    sockets.add(raw);
    raw.on('error', () => undefined);
    raw.once('data', (first) => {
      if (!first.subarray(0, 8).equals(SSL_REQUEST)) return raw.destroy();
      raw.write('S');
      const client = new tls.TLSSocket(raw, { isServer: true, key: pems.private, cert: pems.cert });
      client.on('error', () => undefined);
      client.once('secure', () => handshakes++);
      const queued: Buffer[] = [];
      let upstream: tls.TLSSocket | undefined;
      client.on('data', (d: Buffer) => {
        fromClient.push(d);
        if (upstream) upstream.write(d);
        else queued.push(d);
      });
      const up = net.connect(gatewayPort, '127.0.0.1');
      sockets.add(up);
      up.on('error', () => undefined);
      up.write(SSL_REQUEST);
      up.once('data', () => {
        const secure = tls.connect({ socket: up, rejectUnauthorized: false, servername: 'localhost' });
        secure.on('error', () => undefined);
        secure.once('secureConnect', () => {
          upstream = secure;
          for (const d of queued.splice(0)) secure.write(d);
          secure.pipe(client);
        });
        secure.on('close', () => client.destroy());
      });
      client.on('close', () => up.destroy());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    /** The frontend messages the proxy read in clear (after the startup packet): type bytes. */
    messageTypes(): string[] {
      const all = Buffer.concat(fromClient);
      const types: string[] = [];
      if (all.length < 4) return types;
      let at = all.readInt32BE(0); // the startup message has no type byte
      while (at + 5 <= all.length) {
        types.push(String.fromCharCode(all[at]));
        at += 1 + all.readInt32BE(at + 1);
      }
      return types;
    },
    clearBytes: () => Buffer.concat(fromClient),
    handshakes: () => handshakes,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Runs `wact db connect`'s launcher with the real psql, feeding it a script on stdin. */
function runPsql(connection: ConnectionInfo, script: string) {
  let stdout = '';
  let stderr = '';
  return launchPsql(connection, {
    args: ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1'],
    env: { ...process.env, PGCONNECT_TIMEOUT: '5' },
    stdio: ['pipe', 'pipe', 'pipe'],
    onSpawn: (child) => {
      child.stdout!.on('data', (d) => (stdout += d));
      child.stderr!.on('data', (d) => (stderr += d));
      child.stdin!.end(script);
    },
  }).then((code) => ({ code, stdout, stderr }));
}

describe('wact db connect with the real psql: verify-full against the gateway CA', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('connects through the real gateway with sslmode=verify-full and the CA the broker named', async () => {
    const { connection } = await redactedSession(h);
    expect(connection).toMatchObject({ sslmode: 'verify-full', host: '127.0.0.1' });
    expect(connection.sslrootcert?.trim()).toBe(h.ca.trim());
    const out = await runPsql({ ...connection, port: h.port }, 'SELECT 6 * 7;\nSELECT count(*) FROM redacted.conversations;\n');
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout.trim().split('\n')).toEqual(['42', '3']);
  });

  it('a man in the middle with another certificate: psql refuses before sending the token, and exits non-zero', async () => {
    const { connection } = await redactedSession(h);
    const mitm = await startMitm(h.port);
    try {
      const out = await runPsql({ ...connection, port: mitm.port }, 'SELECT 1;\n');
      expect(out.code).not.toBe(0);
      expect(out.stderr).toMatch(/certificate verify failed/);
      expect(mitm.messageTypes()).not.toContain('p');
      expect(mitm.clearBytes().includes(Buffer.from(connection.password))).toBe(false);
    } finally {
      await mitm.close();
    }
  });

  it('control: with the old sslmode=require the same proxy reads the token (so the test above can fail)', async () => {
    const { connection } = await redactedSession(h);
    const mitm = await startMitm(h.port);
    try {
      const out = await new Promise<{ code: number; stdout: string }>((resolve) => {
        execFile(
          'psql',
          ['-X', '-A', '-t', '-c', 'SELECT 1'],
          {
            env: {
              PATH: process.env.PATH,
              PGHOST: '127.0.0.1',
              PGPORT: String(mitm.port),
              PGDATABASE: 'wact',
              PGUSER: connection.user,
              PGPASSWORD: connection.password,
              PGSSLMODE: 'require',
              PGCONNECT_TIMEOUT: '5',
            },
          },
          (err, stdout) => resolve({ code: err ? 1 : 0, stdout }),
        );
      });
      expect(out).toEqual({ code: 0, stdout: '1\n' });
      expect(mitm.messageTypes()).toContain('p');
      expect(mitm.clearBytes().includes(Buffer.from(connection.password))).toBe(true);
    } finally {
      await mitm.close();
    }
  });
});
