import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';

/** A digest file's name: stream, then its seq range (sorts by seq within a stream). */
export const digestFileName = (streamId: string, firstSeq: string, lastSeq: string) =>
  `wact-audit-digest-${streamId}-${firstSeq.padStart(12, '0')}-${lastSeq.padStart(12, '0')}.json`;

/** The digest files of one stream, oldest first, as stored and served. */
export async function listDigests(
  pool: Pick<pg.Pool, 'query'>,
  streamId: string,
  opts: { limit?: number; afterSeq?: string } = {},
): Promise<{ name: string; firstSeq: string; lastSeq: string; periodStart: string; periodEnd: string; body: string }[]> {
  const { rows } = await pool.query<{ first_seq: string; last_seq: string; period_start: Date; period_end: Date; body: string }>(
    `SELECT first_seq::text, last_seq::text, period_start, period_end, body FROM audit.digests
      WHERE stream_id = $1 AND last_seq > $2 ORDER BY last_seq LIMIT $3`,
    [streamId, opts.afterSeq ?? '0', opts.limit ?? 100_000],
  );
  return rows.map((r) => ({
    name: digestFileName(streamId, r.first_seq, r.last_seq),
    firstSeq: r.first_seq,
    lastSeq: r.last_seq,
    periodStart: r.period_start.toISOString(),
    periodEnd: r.period_end.toISOString(),
    body: r.body,
  }));
}

/** Every *.json file of a folder the customer kept, parsed (an unreadable one is refused: fail closed). */
export function readDigestDir(dir: string): { name: string; digest: Record<string, unknown> }[] {
  const names = fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .sort();
  if (!names.length) throw new Error(`no digest files (*.json) in ${dir}`);
  return names.map((name) => {
    try {
      return { name, digest: JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as Record<string, unknown> };
    } catch {
      throw new Error(`digest file ${name} is not JSON`);
    }
  });
}
