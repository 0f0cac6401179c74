import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../shared/config/config.ts';
import { configSchema } from '../../shared/config/config-schema.ts';
import { ensureHome } from '../../shared/db/state-files.ts';
import { openDatabases, SERVICE_ROLES, setServicePasswords, type ServicePasswords } from '../../shared/runtime/databases.ts';
import { createPlatform } from '../../shared/runtime/platform.ts';
import { operatorActor } from '../operator.ts';
import { printResult } from '../output.ts';

/**
 * `wact db rotate-service-passwords`: the one explicit way to change the
 * passwords of wact_ingest, wact_broker and wact_signer (no other command touches them).
 *
 * - Development: new random passwords, written into the state folder (0600)
 *   and set on the roles; restart `wact start` to use them. WACT_DB_PASSWORD_*
 *   in the environment win over generating.
 * - Production (the deploy pipeline, with --yes): the new values come from
 *   WACT_DB_PASSWORD_INGEST / _BROKER / _SIGNER, which the secret store already holds for
 *   the services; nothing is generated, so no password exists that the
 *   services cannot read. Refused with RDS IAM authentication (no passwords).
 */
export function registerDbAdminCommands(program: Command): void {
  const db = program.commands.find((c) => c.name() === 'db') ?? program.command('db');
  db.command('rotate-service-passwords')
    .description(
      'set new passwords for the wact_ingest, wact_broker and wact_signer roles (development: generated into the state folder; production: from WACT_DB_PASSWORD_*, needs --yes)',
    )
    .option('--yes', 'confirm (required in production: running services must already have the new values)')
    .option('--json', 'print JSON')
    .action(async (opts: { yes?: boolean; json?: boolean }) => {
      // Refusals first, from the variables alone: nothing is opened for a rotation that must not happen.
      const raw = configSchema.parse(process.env);
      const production = raw.WACT_ENV === 'production';
      if (production && raw.WACT_SERVICE_DB_AUTH === 'rds-iam')
        throw new Error(
          'refusing: the services authenticate with RDS IAM tokens (WACT_SERVICE_DB_AUTH=rds-iam); there are no passwords to rotate',
        );
      if (production && !opts.yes)
        throw new Error(
          'refusing without --yes: the services must already hold the new WACT_DB_PASSWORD_* values, or they are locked out until they get them',
        );
      if (production && (!raw.WACT_DB_PASSWORD_INGEST || !raw.WACT_DB_PASSWORD_BROKER || !raw.WACT_DB_PASSWORD_SIGNER))
        throw new Error(
          'refusing: production takes the new passwords from WACT_DB_PASSWORD_INGEST, WACT_DB_PASSWORD_BROKER and WACT_DB_PASSWORD_SIGNER (never generated)',
        );
      const config = loadConfig();
      const given = config.serviceDbPasswords;
      const fresh = () => crypto.randomBytes(24).toString('base64url');
      const next = Object.fromEntries(SERVICE_ROLES.map((r) => [r, given[r] ?? fresh()])) as ServicePasswords;
      const source = SERVICE_ROLES.every((r) => given[r]) ? 'environment' : 'generated';

      // Development: stage the files first, so a failure never leaves a role with a password nobody kept.
      const staged: { tmp: string; file: string }[] = [];
      if (!production) {
        ensureHome(config.home);
        for (const role of SERVICE_ROLES) {
          if (given[role]) continue;
          const file = path.join(config.home, `db-password-${role}`);
          const tmp = `${file}.${process.pid}.tmp`;
          fs.writeFileSync(tmp, next[role] + '\n', { mode: 0o600 });
          staged.push({ tmp, file });
        }
      }
      const databases = await openDatabases(config, { setServicePasswords: false });
      try {
        try {
          await setServicePasswords(databases.urls.control, next);
        } catch (err) {
          for (const s of staged) fs.rmSync(s.tmp, { force: true });
          throw err;
        }
        for (const s of staged) fs.renameSync(s.tmp, s.file);
        const platform = createPlatform(config, databases, 'operator');
        try {
          await platform.audit.append({
            action: 'db.service_passwords.rotate',
            actor: operatorActor(),
            target: { type: 'database_roles', id: SERVICE_ROLES.map((r) => `wact_${r}`).join(',') },
            outcome: 'success',
            metadata: { source },
          });
        } finally {
          await platform.close();
        }
      } finally {
        await databases.close();
      }
      printResult(
        !!opts.json,
        { rotated: SERVICE_ROLES.map((r) => `wact_${r}`), source },
        () =>
          `new passwords set for ${SERVICE_ROLES.map((r) => `wact_${r}`).join(', ')} (${source === 'generated' ? `kept in ${config.home}; restart wact start` : 'from WACT_DB_PASSWORD_*'})`,
      );
    });
}
