import type { Command } from 'commander';
import { loadConfig } from '../../shared/config/config.ts';
import { ConfigError } from '../../shared/errors/errors.ts';
import { serveOne } from '../start/product.ts';
import { SERVICE_NAMES, type ServiceName } from '../start/services.ts';

/**
 * `wact serve ingest|broker|gateway|worker`: one service per process, as
 * production deploys them (any number of each, behind a load balancer for the
 * HTTP and gateway services). Prints the service's URLs, then "ready"; stops
 * on SIGTERM/SIGINT after closing its listeners and pools.
 */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .argument('<service>', SERVICE_NAMES.join('|'))
    .description('run one service in this process (production deployables; `wact start` runs them all for development)')
    .option(
      '--queues <groups>',
      'worker only: comma-separated queue groups (sessions, audit-sign, audit, lifecycle, export, partitions); default all',
    )
    .option('--json', 'print one JSON line {service, urls} when ready')
    .action(async (name: string, opts: { queues?: string; json?: boolean }) => {
      if (!(SERVICE_NAMES as readonly string[]).includes(name))
        throw new ConfigError(`unknown service "${name}" (one of ${SERVICE_NAMES.join(', ')})`);
      if (opts.queues && name !== 'worker') throw new ConfigError('--queues is for `wact serve worker` only');
      const config = loadConfig();
      const { parseQueueGroups } = await import('../../worker/worker-server.ts');
      const { service, stop } = await serveOne(config, name as ServiceName, { queues: parseQueueGroups(opts.queues) });
      if (opts.json) console.log(JSON.stringify({ service: service.name, urls: service.urls, pid: process.pid }));
      else {
        console.log(`WAct ${service.name} (${config.env}), pid ${process.pid}`);
        for (const [label, url] of Object.entries(service.urls)) console.log(`${label.padEnd(12)} ${url}`);
        for (const note of service.notes ?? []) console.log(`  ${note}`);
        console.log('ready');
      }
      let stopping = false;
      const shutdown = async () => {
        if (stopping) return;
        stopping = true;
        await stop();
        process.exit(0);
      };
      process.on('SIGINT', () => void shutdown());
      process.on('SIGTERM', () => void shutdown());
    });
}
