import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

/** A fixture's bytes exactly as stored (signatures are computed over these). */
export function fixture(name: string): Buffer {
  return fs.readFileSync(path.join(DIR, name));
}

/** Every string value of a JSON fixture or form, for "stored nowhere" checks. */
export function sensitiveValues(name: string): string[] {
  const raw = fixture(name).toString('utf8');
  if (name.endsWith('.form')) return [...new URLSearchParams(raw).values()];
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(JSON.parse(raw));
  return out;
}
