/**
 * The benchmark's baseline: a bare express HTTPS endpoint (same TLS material,
 * same listener options as the product) that only answers 200.
 */
import express from 'express';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../shared/config/config.ts';
import { createHttpsServer, loadTlsMaterial } from '../../shared/http/tls.ts';

const config = loadConfig(process.env);
const app = express();
app.post('/v1/webhooks/:provider/:workspaceId', (_req, res) => {
  res.status(200).json({ status: 'ok' });
});
const server = createHttpsServer(app, loadTlsMaterial(config));
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`READY ${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
