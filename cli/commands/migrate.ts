import type { Command } from 'commander';
import { loadConfig } from '../../shared/config/config.ts';
import { openDatabases } from '../../shared/runtime/databases.ts';
import { printResult } from '../output.ts';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply pending migrations to the control and regional databases')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const config = loadConfig();
      const applied: string[] = [];
      const dbs = await openDatabases(config, { migrate: true, log: (l) => applied.push(l) });
      await dbs.close();
      printResult(!!opts.json, { applied }, () => (applied.length ? applied.join('\n') : 'databases are up to date'));
    });
}
