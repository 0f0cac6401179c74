import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configTable } from '../../../scripts/config-docs.ts';

describe('configuration documentation', () => {
  it('the README shows the table generated from the one config schema (npx tsx scripts/config-docs.ts)', () => {
    const readme = fs.readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(configTable());
  });
});
