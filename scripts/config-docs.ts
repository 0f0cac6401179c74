// Prints the configuration table for the README from the one zod schema, so
// the documentation cannot drift from what the code reads:
//   npx tsx scripts/config-docs.ts           (print)
//   npx tsx scripts/config-docs.ts --write   (replace the table in README.md)
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
    const file = new URL('../README.md', import.meta.url);
    const readme = fs.readFileSync(file, 'utf8');
    const updated = readme.replace(/(<!-- config-table:start -->\n)[\s\S]*?(\n<!-- config-table:end -->)/, `$1${configTable()}$2`);
    fs.writeFileSync(file, updated);
  } else {
    console.log(configTable());
  }
}
