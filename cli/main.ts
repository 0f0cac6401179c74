import { Command } from 'commander';
import { printFailure } from './output.ts';
import { registerMigrateCommand } from './commands/migrate.ts';
import { registerStartCommand } from './commands/start.ts';
import { registerWorkspaceCommands } from './commands/workspace.ts';
import { registerIdentityCommands } from './commands/identity.ts';
import { registerIngestCommands } from './commands/ingest.ts';
import { registerLifecycleCommands } from './commands/lifecycle.ts';
import { registerAuditCommands } from './commands/audit.ts';
import { registerDbCommands } from './commands/db.ts';

const program = new Command('wact').description('WAct data-protection platform').showHelpAfterError();

// One line per feature; each feature keeps its commands in cli/commands/<feature>.ts.
registerStartCommand(program);
registerMigrateCommand(program);
registerWorkspaceCommands(program);
registerIdentityCommands(program);
registerIngestCommands(program);
registerLifecycleCommands(program);
registerAuditCommands(program);
registerDbCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  printFailure(err);
}
