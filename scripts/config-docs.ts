// Prints the configuration table of docs/configuration.md from the one zod
// schema, so the documentation cannot drift from what the code reads:
//   npx tsx scripts/config-docs.ts           (print)
//   npx tsx scripts/config-docs.ts --write   (replace the table in docs/configuration.md)
import fs from 'node:fs';
import { z } from 'zod';
import { configSchema } from '../shared/config/config-schema.ts';

function defaultOf(field: z.ZodType): string {
  const def = (field as unknown as { _zod?: { def?: { type?: string; defaultValue?: unknown; innerType?: z.ZodType } } })._zod?.def;
  if (!def) return '';
  if (def.type === 'default') {
    const v = typeof def.defaultValue === 'function' ? (def.defaultValue as () => unknown)() : def.defaultValue;
    return `\`${String(v)}\``;
  }
  if (def.innerType) return defaultOf(def.innerType);
  return '';
}

export function configTable(): string {
  const rows = Object.entries(configSchema.shape).map(([name, field]) => {
    const description = (field as z.ZodType).description ?? '';
    return `| \`${name}\` | ${defaultOf(field as z.ZodType) || '—'} | ${description.replaceAll('|', '\\|')} |`;
  });
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--write')) {
    const file = new URL('../docs/configuration.md', import.meta.url);
    const doc = fs.readFileSync(file, 'utf8');
    const table = /(<!-- config-table:start -->\n)[\s\S]*?(\n<!-- config-table:end -->)/;
    if (!table.test(doc)) throw new Error('docs/configuration.md has lost its config-table markers');
    fs.writeFileSync(file, doc.replace(table, `$1${configTable()}$2`));
  } else {
    console.log(configTable());
  }
}
