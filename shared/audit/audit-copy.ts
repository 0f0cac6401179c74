import type { Writable } from 'node:stream';
import type pg from 'pg';

/**
 * COPY … TO STDOUT streamed into a Writable with backpressure (node-postgres
 * has no COPY OUT API; this is the Submittable it accepts). PostgreSQL sends
 * one CopyData message per row, so `onRow` counts rows exactly.
 */
class CopyOutStream {
  private connection?: { stream: NodeJS.ReadableStream & { pause(): void; resume(): void } };
  private failed: unknown;
  private resolveFn!: (rows: number) => void;
  private rejectFn!: (e: unknown) => void;
  rows = 0;
  readonly done = new Promise<number>((res, rej) => {
    this.resolveFn = res;
    this.rejectFn = rej;
  });

  constructor(
    private readonly text: string,
    private readonly out: Writable,
    private readonly onRows?: (rows: number) => void,
  ) {}

  submit(connection: { query(text: string): void; stream: NodeJS.ReadableStream & { pause(): void; resume(): void } }) {
    this.connection = connection;
    connection.query(this.text);
  }
  handleCopyData(msg: { chunk: Buffer }) {
    this.rows++;
    // A copy, not the chunk: it is a view into node-postgres's parser buffer,
    // which the parser reuses (moves the rest of a partly received message to
    // its start) while the destination may still hold the chunk unread. Seen
    // as corrupt exports once rows are larger than a socket read (long
    // gateway statement records).
    if (!this.out.write(Buffer.from(msg.chunk))) {
      const stream = this.connection!.stream;
      stream.pause();
      this.out.once('drain', () => stream.resume());
    }
    if (this.onRows && this.rows % 5000 === 0) this.onRows(this.rows);
  }
  handleCommandComplete() {}
  handleError(err: unknown) {
    this.failed = err;
  }
  handleReadyForQuery() {
    if (this.failed) this.rejectFn(this.failed);
    else this.resolveFn(this.rows);
  }
  handleEmptyQuery() {}
  handleRowDescription() {}
  handleDataRow() {}
  handlePortalSuspended() {}
}

/** Runs `sql` (a COPY … TO STDOUT without parameters) on `client`, writing every row to `out`; resolves to the row count. */
export async function copyOut(
  client: pg.PoolClient | pg.Client,
  sql: string,
  out: Writable,
  onRows?: (rows: number) => void,
): Promise<number> {
  const copy = new CopyOutStream(sql, out, onRows);
  // A destination that goes away mid-copy must not leave the query hanging.
  const gone = new Promise<never>((_, reject) => {
    const onClose = () => reject(new Error('export destination closed before the end'));
    out.once('close', onClose);
    copy.done.finally(() => out.off('close', onClose)).catch(() => undefined);
  });
  client.query(copy as unknown as pg.QueryConfig);
  return Promise.race([copy.done, gone]);
}
