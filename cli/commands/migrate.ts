import type { Command } from 'commander';
import { loadConfig } from '../../shared/config/config.ts';
import { openDatabases } from '../../shared/runtime/databases.ts';
import { databaseMigrator } from '../../db/migrator.ts';
import { printResult } from '../output.ts';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description(
      'apply pending migrations to the control and regional databases (the only command that migrates; in production the deploy pipeline runs it with its own role)',
    )
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const config = loadConfig();
      const applied: string[] = [];
      // Migrations only: the services' passwords are not this command's business (wact db rotate-service-passwords).
      const dbs = await openDatabases(config, { migrate: databaseMigrator, setServicePasswords: false, log: (l) => applied.push(l) });
      await dbs.close();
      printResult(!!opts.json, { applied }, () => (applied.length ? applied.join('\n') : 'databases are up to date'));
    });
}
