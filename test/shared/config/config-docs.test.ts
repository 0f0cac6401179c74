import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configTable } from '../../../scripts/config-docs.ts';

describe('configuration documentation', () => {
  it('docs/configuration.md shows the table generated from the one config schema (npx tsx scripts/config-docs.ts --write)', () => {
    const doc = fs.readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    expect(doc).toContain(configTable());
  });
});
