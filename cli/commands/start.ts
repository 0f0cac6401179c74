import type { Command } from 'commander';
import { loadConfig } from '../../shared/config/config.ts';
import { startProduct } from '../start/product.ts';

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('start the whole product (embedded PostgreSQL, migrations, demo data, every service)')
    .action(async () => {
      const config = loadConfig();
      console.log(`WAct (${config.env}) — state in ${config.home}`);
      const product = await startProduct(config, (line) => console.log(`  ${line}`));
      if (product.databases.server) {
        console.log(
          `PostgreSQL   postgres://postgres@127.0.0.1:${product.databases.server.port}/ (password in ${config.home}/pg-superuser-password)`,
        );
      }
      for (const s of product.services) {
        for (const [label, url] of Object.entries(s.urls)) console.log(`${label.padEnd(12)} ${url}`);
        for (const note of s.notes ?? []) console.log(`  ${note}`);
      }
      for (const note of product.seedNotes) console.log(note);
      console.log('Ready. Press Ctrl-C to stop.');
      let stopping = false;
      const shutdown = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        console.log(`\n${signal}: stopping…`);
        await product.stop();
        console.log('stopped.');
        process.exit(0);
      };
      process.on('SIGINT', () => void shutdown('SIGINT'));
      process.on('SIGTERM', () => void shutdown('SIGTERM'));
    });
}
