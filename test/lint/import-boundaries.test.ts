import { ESLint } from 'eslint';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The import-boundary rule of eslint.config.js (issue 16.4), run as `npm run
 * lint` runs it, on source text placed at a path inside the tree (the files do
 * not exist; the modules they import do). Each refusal would pass if the rule
 * were switched off or a zone lost, and each permission would fail if a zone
 * grew too wide.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RULE = 'import-x/no-restricted-paths';

let eslint: ESLint;
beforeAll(() => {
  eslint = new ESLint({ cwd: root });
});

async function boundaryMessages(file: string, code: string) {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return result.messages.filter((m) => m.ruleId === RULE).map((m) => ({ severity: m.severity, message: m.message }));
}

const refused = async (file: string, code: string) => {
  const found = await boundaryMessages(file, code);
  expect(found.length, `${file}: ${code}`).toBeGreaterThan(0);
  expect(found.every((m) => m.severity === 2)).toBe(true);
  return found;
};
const allowed = async (file: string, code: string) => expect(await boundaryMessages(file, code), `${file}: ${code}`).toEqual([]);

describe('import boundaries (eslint no-restricted-paths)', () => {
  it('refuses a process folder importing another one, for value, type, re-export and dynamic imports', async () => {
    const [m] = await refused('broker/fixture/x.ts', "import { startIngest } from '../../ingest/server.ts';\nvoid startIngest;\n");
    expect(m.message).toMatch(/broker\/ is one process and ingest\/ another/);
    await refused(
      'broker/fixture/x.ts',
      "import type { ClickService } from '../../ingest/clicks/click-service.ts';\nexport type T = ClickService;\n",
    );
    await refused('broker/fixture/x.ts', "export { clickRoutes } from '../../ingest/clicks/click-routes.ts';\n");
    await refused('broker/fixture/x.ts', "export const load = () => import('../../ingest/server.ts');\n");
    await refused('ingest/fixture/x.ts', "import { startBroker } from '../../broker/server.ts';\nvoid startBroker;\n");
    await refused('cli/commands/x.ts', "import { startIngest } from '../../ingest/server.ts';\nvoid startIngest;\n");
    await refused('worker/fixture/x.ts', "import type { Decision } from '../../broker/policy/policy.ts';\nexport type T = Decision;\n");
  });

  it('refuses shared/ importing a process folder or db/', async () => {
    await refused('shared/fixture/x.ts', "import { startBroker } from '../../broker/server.ts';\nvoid startBroker;\n");
    await refused(
      'shared/fixture/x.ts',
      "import type { WebhookRequest } from '../../ingest/providers/provider-types.ts';\nexport type T = WebhookRequest;\n",
    );
    await refused('shared/fixture/x.ts', "import { migrateDatabase } from '../../db/migrator.ts';\nvoid migrateDatabase;\n");
  });

  it('refuses product code importing test/', async () => {
    await refused('shared/fixture/x.ts', "import { testConfig } from '../../test/support/db.ts';\nvoid testConfig;\n");
    await refused('ingest/fixture/x.ts', "import { testConfig } from '../../test/support/db.ts';\nvoid testConfig;\n");
  });

  it('lets every process import shared/, and a folder import itself', async () => {
    await allowed(
      'broker/fixture/x.ts',
      "import { createLinkService } from '../../shared/workspaces/links/links-service.ts';\nvoid createLinkService;\n",
    );
    await allowed(
      'cli/commands/x.ts',
      "import { createApiKeyService } from '../../shared/workspaces/api-keys/api-keys-service.ts';\nvoid createApiKeyService;\n",
    );
    await allowed('ingest/fixture/x.ts', "import { presentedKey } from '../http-guards.ts';\nvoid presentedKey;\n");
    await allowed(
      'shared/fixture/x.ts',
      "import { createLinkService } from '../workspaces/links/links-service.ts';\nvoid createLinkService;\n",
    );
    await allowed('test/fixture/x.ts', "import { startBroker } from '../../broker/server.ts';\nvoid startBroker;\n");
  });

  it('lets the launcher reach a process through its entry module only', async () => {
    await allowed('cli/start/fixture.ts', "import { startIngest } from '../../ingest/server.ts';\nvoid startIngest;\n");
    await allowed('cli/start/fixture.ts', "import { startBroker } from '../../broker/server.ts';\nvoid startBroker;\n");
    await refused('cli/start/fixture.ts', "import { clickRoutes } from '../../ingest/clicks/click-routes.ts';\nvoid clickRoutes;\n");
    await refused('cli/start/fixture.ts', "import type { Decision } from '../../broker/policy/policy.ts';\nexport type T = Decision;\n");
  });

  it('refuses the console anything of the broker: the permission table both read is in shared/', async () => {
    await allowed('console/src/fixture.ts', "import { PERMISSIONS } from '../../shared/permissions/permissions.ts';\nvoid PERMISSIONS;\n");
    await refused('console/src/fixture.ts', "import type { Decision } from '../../broker/policy/policy.ts';\nexport type T = Decision;\n");
  });

  it('has no allowlist: the files that once only warned are errors like any other', async () => {
    await refused('cli/start/product.ts', "export const load = () => import('../../broker/members/demo-seed.ts');\n");
    await allowed('cli/start/product.ts', "export const load = async () => (await import('../../broker/server.ts')).seedDemoIdentities;\n");
    await refused(
      'worker/jobs/session-jobs.ts',
      "import { accessRoutes } from '../../broker/access/access-routes.ts';\nvoid accessRoutes;\n",
    );
    await allowed('worker/jobs/session-jobs.ts', "import { accessOf } from '../../shared/access/access-wiring.ts';\nvoid accessOf;\n");
    for (const file of ['cli/commands/db.ts', 'cli/commands/db-connect.ts'])
      await refused(file, "import type { ApiRoute } from '../../broker/http/route-types.ts';\nexport type T = ApiRoute;\n");
  });
});
