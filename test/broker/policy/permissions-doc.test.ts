import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../shared/config/config-schema.ts';
import { permissionsMarkdown } from '../../../shared/permissions/permissions.ts';

describe('docs/identity.md roles and permissions table', () => {
  it('is exactly the policy table (regenerate: npx tsx broker/policy/print-permissions.ts)', () => {
    const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'identity.md'), 'utf8');
    const m = /<!-- permissions-table:start -->\n([\s\S]*?)\n<!-- permissions-table:end -->/.exec(doc);
    expect(m, 'docs/identity.md needs the permissions table between its markers').toBeTruthy();
    expect(m![1].trim()).toBe(permissionsMarkdown().trim());
  });
});
