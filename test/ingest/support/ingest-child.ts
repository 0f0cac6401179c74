/**
 * Runs ingest in its own process so a test can capture every byte it logs
 * (pino writes to fd 1). Configuration comes from the environment; prints
 * "READY <port>" when listening and stops on SIGTERM.
 */
import { loadConfig } from '../../../shared/config/config.ts';
import { ensureDevCertificates, loadTlsMaterial } from '../../../shared/http/tls.ts';
import { openDatabases } from '../../../shared/runtime/databases.ts';
import { startIngest } from '../../../ingest/server.ts';

const config = loadConfig(process.env);
await ensureDevCertificates(config.home);
const databases = await openDatabases(config);
const ingest = await startIngest({ config, databases, tls: loadTlsMaterial(config) });
process.stdout.write(`READY ${ingest.port}\n`);
process.on('SIGTERM', () => {
  void ingest.close().finally(() => process.exit(0));
});
