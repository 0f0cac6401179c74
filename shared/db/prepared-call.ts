import type pg from 'pg';

/**
 * Runs a named prepared statement with binary parameters and no use for its
 * rows, as a node-postgres Submittable: Parse once per connection, then Bind,
 * Execute and Sync in one write — no Describe, no RowDescription, no rows
 * parsed into objects. For the gateway's group commit, whose one call per
 * batch is on every statement's path (measured in docs/benchmarks.md).
 *
 * Errors keep the server's fields (SQLSTATE in `code`); a lost connection
 * fails the call at once, as node-postgres fails its own queries.
 *
 * It shares node-postgres' per-connection record of prepared statements
 * (`parsedStatements`, `submittedNamedStatements`: internal, not typed), so a
 * name is parsed once whichever of the two prepares it first; an upgrade that
 * changes them fails test/shared/db/prepared-call.test.ts.
 */

interface Connection {
  parsedStatements: Record<string, string>;
  submittedNamedStatements: Record<string, string>;
  stream: { cork?: () => void; uncork?: () => void };
  parse(q: { text: string; name: string; types: number[] }): void;
  bind(q: { statement: string; values: readonly Buffer[]; valueMapper: (v: unknown) => unknown }): void;
  execute(q: Record<string, never>): void;
  sync(): void;
  sendCopyFail(msg: string): void;
}

const asIs = (v: unknown) => v;

class PreparedCall {
  /** Set by pg-pool (it releases its client in it); a Client leaves it unset. */
  callback?: (err: Error | null, res?: unknown) => void;
  private settled = false;
  readonly done: Promise<void>;
  private settle!: (err: Error | null) => void;

  constructor(
    readonly name: string,
    readonly text: string,
    readonly values: readonly Buffer[],
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.settle = (err) => (err ? reject(err) : resolve());
    });
  }

  submit(connection: Connection): Error | null {
    const seen = connection.parsedStatements[this.name] ?? connection.submittedNamedStatements[this.name];
    if (seen !== undefined && seen !== this.text) return new Error(`prepared statement ${this.name} names a different statement`);
    connection.stream.cork?.();
    try {
      if (seen === undefined) {
        connection.parse({ text: this.text, name: this.name, types: [] });
        connection.submittedNamedStatements[this.name] = this.text;
      }
      connection.bind({ statement: this.name, values: this.values, valueMapper: asIs });
      connection.execute({});
      connection.sync();
    } finally {
      connection.stream.uncork?.();
    }
    return null;
  }

  private finish(err: Error | null): void {
    if (this.settled) return;
    this.settled = true;
    this.callback?.(err, err ? undefined : { rows: [] });
    this.settle(err);
  }

  handleError(err: Error): void {
    // Settled at once: a dead connection never sends the ReadyForQuery that follows an error response.
    this.finish(err);
  }

  handleReadyForQuery(): void {
    this.finish(null); // after an error, already settled
  }

  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleCommandComplete(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}
  handleCopyInResponse(connection: Connection): void {
    connection.sendCopyFail('no COPY here');
  }
}

/** Resolves once the statement has run (its transaction committed, for an autocommit call); rejects with the server's error. */
export function callPrepared(
  pool: Pick<pg.Pool, 'query'>,
  statement: { name: string; text: string },
  values: readonly Buffer[],
): Promise<void> {
  const call = new PreparedCall(statement.name, statement.text, values);
  // pg-pool passes its own callback in. Its promise rejects with every error the call already settled on,
  // and also when it cannot connect — then the call never submits, so that rejection becomes the call's.
  const queued = pool.query(call as never) as unknown;
  if (queued && typeof (queued as Promise<unknown>).then === 'function')
    (queued as Promise<unknown>).catch((err: Error) => call.handleError(err));
  return call.done;
}
