import { Command } from 'commander';
import { printFailure } from './output.ts';
import { registerMigrateCommand } from './commands/migrate.ts';
import { registerStartCommand } from './commands/start.ts';
import { registerServeCommand } from './commands/serve.ts';
import { registerWorkspaceCommands } from './commands/workspace.ts';
import { registerIdentityCommands } from './commands/identity.ts';
import { registerIngestCommands } from './commands/ingest.ts';
import { registerLifecycleCommands } from './commands/lifecycle.ts';
import { registerAuditCommands } from './commands/audit.ts';
import { registerDbCommands } from './commands/db.ts';
import { registerDbAdminCommands } from './commands/db-admin.ts';
import { productionGate } from './mode.ts';

const program = new Command('wact')
  .description(
    'WAct data-protection platform. Production (WACT_ENV=production): every command that reads or changes workspace data goes through the broker as the person signed in with `wact login` (SSO + TOTP); database credentials are refused except for `wact migrate` and `wact db rotate-service-passwords` (the deploy pipeline). Development: operator commands use the development database directly, audited as operator:<os user>.',
  )
  .showHelpAfterError();

// One line per feature; each feature keeps its commands in cli/commands/<feature>.ts.
registerStartCommand(program);
registerServeCommand(program);
registerMigrateCommand(program);
registerWorkspaceCommands(program);
registerIdentityCommands(program);
registerIngestCommands(program);
registerLifecycleCommands(program);
registerAuditCommands(program);
registerDbCommands(program);
registerDbAdminCommands(program);

// Before any action: production allows each command only in its declared mode (cli/mode.ts).
program.hook('preAction', (_root, action) => productionGate(action));

try {
  await program.parseAsync(process.argv);
} catch (err) {
  printFailure(err);
}
