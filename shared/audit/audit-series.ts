import type pg from 'pg';
import { canonicalMetadata, type AppendRow } from './audit-validation.ts';
import type { SeriesEvent } from './audit-types.ts';

/**
 * Writer for audit series: events that share everything but their time,
 * outcome and metadata (one gateway connection's statements). The shared
 * fields were validated once when the series was opened; each event only has
 * its metadata validated. Pending events are written per stream by one
 * `audit.append_series` statement (no JSON, one round trip, a prepared
 * statement per connection); the function itself makes the commit
 * synchronous, so a resolved promise means durable.
 *
 * At most one call per stream is in flight (a second would only wait for the
 * stream's head lock); calls for different streams run side by side.
 */

export interface SeriesTemplate {
  streamId: string;
  /** action, actorKind, actorId, actorRole, actorName, targetType, targetId, reason, sessionId, userAgent */
  common: (string | null)[];
  clientIp: string | null;
}

interface Pending {
  template: SeriesTemplate;
  outcome: string;
  metadata: string;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const OUTCOMES = new Set(['success', 'failure', 'denied']);
// Data errors belong to one event: retry one by one so one bad event does not fail the others.
const PER_EVENT_ERROR = /^(22|23|P0)/;
const MAX_BATCH = 5000;
// Statement records can carry up to ~2.4 MB of metadata each: a batch also
// stops at this much metadata text, far from PostgreSQL's 1 GB per value.
const MAX_BATCH_CHARS = 16 * 1024 * 1024;

/** How many pending events the next call takes: count and metadata size capped, at least one. */
function batchSize(pending: Pending[]): number {
  let chars = 0;
  let n = 0;
  while (n < pending.length && n < MAX_BATCH) {
    chars += pending[n].metadata.length;
    if (n > 0 && chars > MAX_BATCH_CHARS) break;
    n++;
  }
  return n;
}

export function seriesTemplate(row: AppendRow['row']): SeriesTemplate {
  const o = (v: string | undefined) => v ?? null;
  return {
    streamId: row.streamId,
    common: [
      row.action,
      row.actorKind,
      row.actorId,
      o(row.actorRole),
      o(row.actorName),
      o(row.targetType),
      o(row.targetId),
      o(row.reason),
      o(row.sessionId),
      o(row.userAgent),
    ],
    clientIp: o(row.clientIp),
  };
}

export function createSeriesWriter(pool: Pick<pg.Pool, 'query'>, opts: { maxInFlight?: number } = {}) {
  const maxInFlight = opts.maxInFlight ?? 2;
  // Pending events per (stream, shared fields): one call writes one group.
  const groups = new Map<string, Pending[]>();
  const keyOf = new WeakMap<SeriesTemplate, string>();
  const busy = new Set<string>();
  let inFlight = 0;
  let scheduled = false;

  async function write(batch: Pending[]): Promise<void> {
    const t = batch[0].template;
    await pool.query({
      name: 'wact.audit.append_series',
      text: 'SELECT audit.append_series($1, $2, $3, $4, $5)',
      values: [t.streamId, t.common, batch.map((p) => p.template.clientIp), batch.map((p) => p.outcome), batch.map((p) => p.metadata)],
    });
  }

  async function run(batch: Pending[]): Promise<void> {
    try {
      await write(batch);
      for (const p of batch) p.resolve();
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (batch.length > 1 && PER_EVENT_ERROR.test(code)) {
        for (const p of batch) await write([p]).then(p.resolve, p.reject);
      } else {
        for (const p of batch) p.reject(err);
      }
    }
  }

  function pump(): void {
    scheduled = false;
    for (const [key, pending] of groups) {
      if (inFlight >= maxInFlight) break;
      const stream = pending[0].template.streamId;
      if (busy.has(stream)) continue;
      const batch = pending.splice(0, batchSize(pending));
      if (!pending.length) groups.delete(key);
      busy.add(stream);
      inFlight++;
      void run(batch).finally(() => {
        busy.delete(stream);
        inFlight--;
        if (groups.size && !scheduled) pump();
      });
    }
  }

  return {
    push(template: SeriesTemplate, event: SeriesEvent): Promise<void> {
      // Validation throws before anything is queued (the caller fails closed at once).
      if (!OUTCOMES.has(event.outcome)) return Promise.reject(new TypeError('outcome must be success, failure or denied'));
      let metadata: string;
      try {
        metadata = canonicalMetadata(event.metadata, template.common[0]);
      } catch (err) {
        return Promise.reject(err);
      }
      let key = keyOf.get(template);
      if (key === undefined) {
        // Connections of one session share their fields: one group, one call.
        key = `${template.streamId}\u0000${template.common.map((c) => c ?? '\u0001').join('\u0000')}`;
        keyOf.set(template, key);
      }
      return new Promise<void>((resolve, reject) => {
        const p: Pending = { template, outcome: event.outcome, metadata, resolve, reject };
        const g = groups.get(key);
        if (g) g.push(p);
        else groups.set(key, [p]);
        // Gather what arrives in this turn of the event loop into one call.
        if (!scheduled) {
          scheduled = true;
          setImmediate(pump);
        }
      });
    },
  };
}

export type SeriesWriter = ReturnType<typeof createSeriesWriter>;
