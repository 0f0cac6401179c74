import type express from 'express';
import { stringify } from 'csv-stringify/sync';
import { neutraliseCell } from '../../shared/audit/audit-canonical.ts';

/**
 * Streams rows as CSV or JSON Lines. CSV cells are neutralised against spreadsheet
 * formula injection (leading =, +, -, @, tab or NUL get a leading ').
 */
export async function streamRows<T extends Record<string, unknown>>(
  res: express.Response,
  rows: AsyncIterable<T>,
  opts: { format: 'csv' | 'jsonl'; filename: string; columns: (keyof T & string)[] },
): Promise<number> {
  res.status(200);
  res.setHeader('Content-Type', opts.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="${opts.filename}.${opts.format}"`);
  let n = 0;
  const write = (chunk: string) => (res.write(chunk) ? Promise.resolve() : new Promise<void>((r) => res.once('drain', () => r())));
  if (opts.format === 'csv') await write(stringify([opts.columns]));
  for await (const row of rows) {
    if (opts.format === 'csv') {
      await write(stringify([opts.columns.map((c) => cell(row[c]))]));
    } else {
      await write(`${JSON.stringify(Object.fromEntries(opts.columns.map((c) => [c, row[c] ?? null])))}\n`);
    }
    n++;
  }
  res.end();
  return n;
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return neutraliseCell(s);
}
