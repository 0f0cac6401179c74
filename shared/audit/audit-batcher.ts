import type pg from 'pg';
import type { AppendRow } from './audit-validation.ts';

export interface BatcherOptions {
  /** Most events in one transaction (audit.append accepts up to 10,000). */
  maxBatch?: number;
  /** Concurrent transactions per database; more batches wait in the queue. */
  maxInFlight?: number;
  /** A transaction that takes longer fails (callers fail closed instead of hanging). */
  statementTimeoutMs?: number;
}

interface Pending {
  row: AppendRow['row'];
  resolve: () => void;
  reject: (err: unknown) => void;
}

// Data errors belong to one event: retry the batch one by one so a single
// bad event does not fail everyone else's (connection errors fail the batch).
const PER_EVENT_ERROR = /^(22|23|P0)/;
// Gateway statement records (db.statement.started) may carry up to ~2.4 MB of
// metadata, escaped twice more on the way (JSON, literal): a batch also stops
// at this much metadata so it stays far from PostgreSQL's 1 GB value limit
// and one large record does not fail everyone else's batch.
const MAX_BATCH_CHARS = 16 * 1024 * 1024;

/**
 * Group commit for one database: concurrent appends share one transaction
 * (one WAL flush). Each caller's promise settles only when its own batch has
 * committed (or failed). The chain order inside a batch is the arrival order
 * per stream; audit.append_at serialises streams by locking their head rows.
 */
export function createBatcher(pool: Pick<pg.Pool, 'connect'>, opts: BatcherOptions = {}) {
  const maxBatch = opts.maxBatch ?? 2000;
  const maxInFlight = opts.maxInFlight ?? 2;
  const timeout = Math.max(100, Math.floor(opts.statementTimeoutMs ?? 15_000));
  const queue: Pending[] = [];
  let inFlight = 0;
  let scheduled = false;

  async function commit(rows: AppendRow['row'][]): Promise<void> {
    const client = await pool.connect();
    let broken = false;
    try {
      // One round trip (a caller such as the gateway holds its reply until
      // this resolves): the batch travels as an escaped literal in a simple
      // query. Durable means flushed: never rely on the server's default.
      const literal = (client as unknown as { escapeLiteral(s: string): string }).escapeLiteral(JSON.stringify(rows));
      await client.query(
        `BEGIN; SET LOCAL synchronous_commit = on; SET LOCAL statement_timeout = ${timeout}; SELECT audit.append(${literal}::jsonb); COMMIT`,
      );
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async function run(batch: Pending[]): Promise<void> {
    try {
      await commit(batch.map((p) => p.row));
      for (const p of batch) p.resolve();
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (batch.length > 1 && PER_EVENT_ERROR.test(code)) {
        for (const p of batch) {
          await commit([p.row]).then(p.resolve, p.reject);
        }
      } else {
        for (const p of batch) p.reject(err);
      }
    }
  }

  function pump(): void {
    scheduled = false;
    while (inFlight < maxInFlight && queue.length > 0) {
      let take = 0;
      for (let chars = 0; take < queue.length && take < maxBatch; take++) {
        chars += queue[take].row.metadata.length;
        if (take > 0 && chars > MAX_BATCH_CHARS) break;
      }
      const batch = queue.splice(0, take);
      inFlight++;
      void run(batch).finally(() => {
        inFlight--;
        if (queue.length > 0 && !scheduled) pump();
      });
    }
  }

  return {
    push(row: AppendRow['row']): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        queue.push({ row, resolve, reject });
        // Gather what arrives in this turn of the event loop into one batch.
        if (!scheduled && inFlight < maxInFlight) {
          scheduled = true;
          setImmediate(pump);
        }
      });
    },
    get pending() {
      return queue.length + inFlight;
    },
  };
}

export type Batcher = ReturnType<typeof createBatcher>;
