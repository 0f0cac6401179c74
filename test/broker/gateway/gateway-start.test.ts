import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { startGateway } from '../../../broker/gateway/gateway-start.ts';
import { ensureDevCertificates, loadTlsMaterial } from '../../../shared/http/tls.ts';
import type { DatabaseUrls } from '../../../shared/db/database-urls.ts';
import { testConfig, testDb } from '../../support/db.ts';
import { databasesOf } from '../../support/scratch-databases.ts';

describe('wact start: gateway starter', () => {
  it('listens with TLS on GATEWAY_PORT and stops cleanly', async () => {
    const config = testConfig({ GATEWAY_PORT: '0' });
    await ensureDevCertificates(config.home, []);
    const { urls, servicePasswords } = testDb();
    const svc = await startGateway({
      config,
      databases: databasesOf({ urls: urls as DatabaseUrls, servicePasswords }),
      tls: loadTlsMaterial(config),
    });
    expect(svc.name).toBe('gateway');
    const port = Number(/:(\d+)\//.exec(svc.urls.gateway)?.[1]);
    expect(port).toBeGreaterThan(0);
    // SSLRequest is answered with 'S'
    const sock = net.connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const req = Buffer.alloc(8);
    req.writeInt32BE(8, 0);
    req.writeInt32BE(80877103, 4);
    sock.write(req);
    const answer = await new Promise<Buffer>((r) => sock.once('data', r));
    expect(answer.toString('latin1', 0, 1)).toBe('S');
    sock.destroy();
    await svc.close();
  });
});
