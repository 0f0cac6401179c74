import type net from 'node:net';
import { StatementTracker, type StartRef, type Statement, type StatementResult, type TrackerOptions } from './statement-tracker.ts';
import { errorMessage, MessageSplitter, WireError } from './wire.ts';

/**
 * Relays one authenticated connection.
 *
 * Invariant: no byte the server produces after a statement starts executing
 * leaves the gateway before that statement's record is committed, and none
 * before the statement ends unless a durable provisional record says its
 * reply streams (a reply too large to hold, a COPY FROM that waits for the
 * client). Every backend message is attributed by the tracker to the
 * statement that produced it (rows, COPY data, notices, notifications,
 * parameter changes, errors, completions alike) and is held with it;
 * messages produced outside any statement wait only for what was produced
 * before them (replies leave strictly in order).
 *
 * A statement's record is written in two parts (issue 17): its start record —
 * who, why, what text — as soon as the tracker is certain the server runs it
 * (for a Query to an idle connection, before it is forwarded), so the commit
 * overlaps the execution; its reply waits for that commit. The outcome —
 * tags, rows, error, duration — follows in the same transcript with the next
 * commit (or, when the start record has not left the gateway yet, the whole
 * record takes its place: the owner decides, see gateway-server.ts); nothing
 * waits for it, but a failure to write it ends the connection (fail closed)
 * and the transcript's anchor counts it. When the start record is already
 * durable as the statement ends (it ran longer than the commit), the reply
 * leaves first and the outcome part is recorded right after that write, still
 * before any other record, so records keep their order. Statements that fail
 * before they run (a Parse, Bind… that fails) have one record, as before,
 * which gates their error.
 *
 * Client → upstream goes at once (the statement runs without waiting), after
 * the tracker has seen it; a statement that could not be recorded is refused
 * before it is forwarded. Every statement forwarded gets a record: when the
 * client goes away, the server's answers are still read and recorded (the
 * running statement is cancelled), and what never gets an answer is recorded
 * as unfinished. A failed audit write fails closed: the client gets an error,
 * never the withheld reply.
 *
 * Memory per connection is bounded: messages are split in linear time and
 * large rows pass in pieces; at most `holdLimitBytes` wait for a record before
 * a provisional record is made, and the upstream is paused while replies
 * wait for the audit or the client reads slowly.
 */

export interface RelayOptions {
  client: net.Socket;
  upstream: net.Socket;
  /**
   * Writes a statement's record — or, for a started statement
   * (`result.start`), the outcome part of it; resolves once durable.
   */
  record(result: StatementResult): Promise<void>;
  /** Links a start record into the transcript (synchronously: seq assigned) and writes it; `durable` resolves once committed. */
  recordStart(statement: { text: string; protocol: 'simple' | 'extended'; parameters?: number; startedAt: number }): StartRef;
  /** Durable provisional record for a reply that streams before its statement ends. */
  recordStarted(statement: { text: string; protocol: 'simple' | 'extended'; startedAt: number }): Promise<void>;
  /** The upstream ended (FATAL frame if it sent one): the owner decides what the client is told. */
  onUpstreamEnd(fatal: Record<string, string> | undefined, frame: Buffer | undefined): void;
  /** The relay is over and every record it owes is written (or failed). */
  onFinished(): void;
  onError(err: Error): void;
  /** Asks the server to cancel the running statement (CancelRequest), used when the client goes away mid-statement. */
  cancel?(): void;
  recordable?: TrackerOptions['recordable'];
  /** Largest Query / Parse message accepted (refused from its header, before it is buffered). */
  maxStatementMessageBytes?: number;
  holdLimitBytes?: number;
  /** How long the answers of a departed client's statements are awaited before they are recorded as unfinished. */
  drainTimeoutMs?: number;
  now?: () => number;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const FRONTEND_STREAMABLE = new Set(['d'.charCodeAt(0), 'B'.charCodeAt(0)]);
const BACKEND_STREAMABLE = new Set(['D'.charCodeAt(0), 'd'.charCodeAt(0)]);
const QUERY_TYPES = new Set(['Q'.charCodeAt(0), 'P'.charCodeAt(0)]);

type Phase = 'open' | 'draining' | 'closed';

export class Relay {
  private readonly tracker: StatementTracker;
  private readonly clientSplitter: MessageSplitter;
  private readonly upstreamSplitter: MessageSplitter;
  private readonly holdLimit: number;
  private phase: Phase = 'open';
  private clientGone = false;
  private upstreamEnded = false;

  // Replies held for the statement being answered.
  private hold: Buffer[] = [];
  private holdBytes = 0;
  private holdOwner: Statement | null = null;
  /** The statement whose reply streams after its provisional record. */
  private streaming: Statement | null = null;
  /** Owner of the large backend message whose pieces are arriving. */
  private pieceOwner: Statement | null = null;

  // Replies queued behind audit writes, released strictly in order.
  private chain: Promise<void> = Promise.resolve();
  private pendingGates = 0;
  private pendingBytes = 0;
  private pausedForAudit = false;

  // Every record write, so the end can wait for all of them.
  private readonly writes = new Set<Promise<unknown>>();
  /** Start records known to be durable (set once their commit resolves). */
  private readonly durableStarts = new WeakSet<StartRef>();
  /** Outcome parts whose reply left first: recorded after that write, before any other record. */
  private deferred: StatementResult[] = [];
  private drainTimer?: NodeJS.Timeout;
  private finished = false;
  private afterDrain?: Buffer;

  // Replies released to the client in this turn: written together once it ends (see flush).
  private out: Buffer[] = [];
  private flushQueued = false;
  private readonly flushNow = () => this.flush();

  constructor(private readonly opts: RelayOptions) {
    this.tracker = new StatementTracker({ now: opts.now, recordable: opts.recordable, onStart: (stmt) => this.startRecord(stmt) });
    this.holdLimit = opts.holdLimitBytes ?? 16 * MiB;
    const maxStatement = opts.maxStatementMessageBytes ?? 2 * MiB;
    this.clientSplitter = new MessageSplitter({
      maxWhole: (t) => (QUERY_TYPES.has(t) ? maxStatement : MiB),
      streamable: (t) => FRONTEND_STREAMABLE.has(t),
    });
    this.upstreamSplitter = new MessageSplitter({
      maxWhole: () => 64 * MiB,
      streamable: (t) => BACKEND_STREAMABLE.has(t),
      // Runs of rows / COPY data in one chunk: one piece, one tracker call (which counts them).
      coalescable: (t) => BACKEND_STREAMABLE.has(t),
    });
    opts.client.on('data', (c: Buffer) => this.fromClient(c));
    opts.upstream.on('data', (c: Buffer) => this.fromUpstream(c));
    opts.client.on('drain', () => {
      if (this.phase !== 'closed' && !this.pausedForAudit) opts.upstream.resume();
    });
    opts.upstream.on('drain', () => {
      if (this.phase === 'open') opts.client.resume();
    });
    opts.client.on('close', () => this.clientClosed());
    opts.upstream.on('close', () => this.upstreamClosed(undefined, undefined));
    opts.client.on('error', () => undefined); // 'close' follows
    opts.upstream.on('error', () => undefined);
  }

  get isClosed(): boolean {
    return this.phase === 'closed';
  }

  // ---- client → upstream ----------------------------------------------------

  private fromClient(chunk: Buffer): void {
    if (this.phase !== 'open') return;
    let pieces;
    try {
      pieces = this.clientSplitter.push(chunk);
    } catch (err) {
      const e = err as WireError;
      this.refuse(e.code ?? '08P01', e.code === '54000' ? `${e.message}: too large to record` : 'malformed message from client', e);
      return;
    }
    const out: Buffer[] = [];
    let terminate = false;
    for (const piece of pieces) {
      if (piece.first) {
        let verdict;
        try {
          verdict = this.tracker.onFrontend(piece.bytes);
        } catch (err) {
          this.forward(out);
          this.refuse('08P01', 'malformed message from client', err as Error);
          return;
        }
        if (!verdict.ok) {
          this.forward(out);
          if (verdict.refused) this.track(this.record(verdict.refused));
          this.refuse(verdict.code, verdict.reason);
          return;
        }
        if (verdict.terminate) terminate = true;
      }
      out.push(piece.bytes);
    }
    this.forward(out);
    if (terminate) this.opts.upstream.end();
  }

  private forward(out: Buffer[]): void {
    if (!out.length) return;
    if (!writeAll(this.opts.upstream, out)) this.opts.client.pause();
  }

  // ---- upstream → client ----------------------------------------------------

  private fromUpstream(chunk: Buffer): void {
    if (this.phase === 'closed') return;
    let pieces;
    try {
      pieces = this.upstreamSplitter.push(chunk);
    } catch (err) {
      this.abort('08P01', 'malformed message from the database', err as Error);
      return;
    }
    for (const piece of pieces) {
      if (!piece.first) {
        this.take(piece.bytes, this.pieceOwner, []);
        continue;
      }
      let v;
      try {
        v = this.tracker.onBackend(piece.bytes, piece.count);
      } catch (err) {
        this.abort('08P01', 'unexpected message from the database', err as Error);
        return;
      }
      if (v.fatal) {
        this.upstreamClosed(v.fatal, piece.bytes);
        return;
      }
      this.pieceOwner = piece.last ? null : v.owner;
      this.take(piece.bytes, v.owner, v.complete, v.awaitsClient);
    }
    if (this.phase === 'draining') this.maybeEndDrain();
  }

  /** Holds or queues one backend message (or piece) per the invariant. */
  private take(bytes: Buffer, owner: Statement | null, complete: readonly StatementResult[], awaitsClient = false): void {
    if (owner !== null && owner === this.streaming && !complete.length && !this.hold.length && this.pendingGates === 0) {
      // Hot path of a large result behind its provisional record: straight to the client's write of this turn.
      this.queueOut(bytes);
      return;
    }
    this.hold.push(bytes);
    this.holdBytes += bytes.length;
    const streamingOwner = owner !== null && owner === this.streaming;
    if (owner && !streamingOwner) this.holdOwner = owner;
    if (complete.length) {
      if (streamingOwner) this.streaming = null;
      const only = complete.length === 1 ? complete[0] : undefined;
      if (only?.start && this.durableStarts.has(only.start) && this.pendingGates === 0) {
        // Its start record is durable and nothing waits before it: the reply leaves now, and its outcome part
        // (which gates nothing) is linked and written once that write is out, not before it.
        this.deferred.push(only);
        this.release(null);
        queueMicrotask(() => this.recordDeferred()); // after the flush queued by release
        return;
      }
      // Its record gates it and everything held before it.
      const gates = complete.map((r) => this.recordEnd(r));
      this.release(gates.length === 1 ? gates[0] : Promise.all(gates));
      return;
    }
    if (!owner) {
      if (!this.holdOwner) this.release(null); // produced outside any statement: only order matters
      return;
    }
    if (streamingOwner) {
      this.release(null); // behind its provisional record
      return;
    }
    if (awaitsClient || this.holdBytes > this.holdLimit) {
      // The reply must move before the statement ends: a durable provisional record first.
      this.streaming = owner;
      const started = {
        text: owner.text,
        protocol: owner.kind === 'query' ? ('simple' as const) : ('extended' as const),
        startedAt: owner.startedAt,
      };
      this.recordDeferred();
      this.release(this.track(this.opts.recordStarted(started)));
    }
  }

  /** The start record of a statement the server is now certain to run (called by the tracker). */
  private startRecord(stmt: Statement): StartRef {
    this.recordDeferred();
    let ref: StartRef;
    try {
      ref = this.opts.recordStart({
        text: stmt.text,
        protocol: stmt.kind === 'query' ? 'simple' : 'extended',
        parameters: stmt.kind === 'execute' ? stmt.parameters : undefined,
        startedAt: stmt.startedAt,
      });
    } catch (err) {
      ref = { seq: undefined, durable: Promise.reject(err as Error) }; // fails closed when its reply is due
    }
    this.track(ref.durable).then(
      () => this.durableStarts.add(ref),
      () => undefined,
    );
    return ref;
  }

  /** Every record goes through here: outcome parts deferred behind their reply are written first, in order. */
  private record(r: StatementResult): Promise<void> {
    this.recordDeferred();
    return this.opts.record(r);
  }

  private recordDeferred(): void {
    if (!this.deferred.length) return;
    const due = this.deferred;
    this.deferred = [];
    for (const r of due) this.track(this.opts.record(r)).catch(this.outcomeFailed);
  }

  /** An outcome part that could not be written ends the connection (its reply may have left already). */
  private readonly outcomeFailed = (err: Error) =>
    this.abort('58000', 'the audit log could not record a statement; the connection ends', err);

  /**
   * Writes what a finished statement's record still lacks and returns what its
   * reply waits for: the start record for a started statement (the outcome
   * part gates nothing, but failing to write it ends the connection), the
   * whole record otherwise.
   */
  private recordEnd(r: StatementResult): Promise<unknown> {
    const written = this.track(this.record(r));
    if (!r.start || r.start.seq === undefined) return written;
    written.catch(this.outcomeFailed);
    return r.start.durable;
  }

  /** Queues what is held behind `gate` (and everything queued before it). */
  private release(gate: Promise<unknown> | null): void {
    const bufs = this.hold;
    const bytes = this.holdBytes;
    this.hold = [];
    this.holdBytes = 0;
    this.holdOwner = null;
    if (!bufs.length && !gate) return;
    if (!gate && this.pendingGates === 0) {
      this.write(bufs);
      return;
    }
    this.pendingGates++;
    this.pendingBytes += bytes;
    if (this.pendingBytes > this.holdLimit && !this.pausedForAudit) {
      this.pausedForAudit = true;
      this.opts.upstream.pause();
    }
    // Rejections are turned into values here so the chain itself never rejects.
    const guarded: Promise<true | Error> | null = gate
      ? gate.then(
          () => true as const,
          (err: Error) => err,
        )
      : null;
    this.chain = this.chain.then(async () => {
      const ok = guarded ? await guarded : true;
      this.pendingGates--;
      this.pendingBytes -= bytes;
      if (ok !== true) {
        this.abort('58000', 'the audit log could not record this statement; its result is withheld', ok);
        return;
      }
      this.write(bufs);
      if (this.pausedForAudit && this.pendingBytes <= this.holdLimit / 2) {
        this.pausedForAudit = false;
        this.opts.upstream.resume();
      }
    });
  }

  /**
   * Queues released replies for the client. Everything released in one turn
   * of the event loop (a chunk's rows and completions, the replies behind one
   * audit commit) leaves in one write: views of the same chunk are joined back
   * without copying, the rest goes out corked — no per-message write, no
   * concatenation on the hot path.
   */
  private write(bufs: Buffer[]): void {
    if (this.phase === 'closed' || this.clientGone || !bufs.length) return;
    for (const b of bufs) this.out.push(b);
    this.scheduleFlush();
  }

  private queueOut(b: Buffer): void {
    if (this.phase === 'closed' || this.clientGone) return;
    this.out.push(b);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushNow);
    }
  }

  private flush(): void {
    this.flushQueued = false;
    const out = this.out;
    if (!out.length) return;
    this.out = [];
    if (this.clientGone || this.opts.client.destroyed) return;
    if (!writeAll(this.opts.client, out)) this.opts.upstream.pause();
  }

  // ---- endings --------------------------------------------------------------

  private track<T>(p: Promise<T>): Promise<T> {
    this.writes.add(p);
    const done = () => this.writes.delete(p);
    p.then(done, done);
    return p;
  }

  /**
   * Refuses the client's input (a protocol violation, a statement too large
   * to record): nothing more is read from it; what was already forwarded is
   * answered and recorded as usual, then the client gets a FATAL and the
   * connection closes.
   */
  private refuse(code: string, message: string, cause?: Error): void {
    if (this.phase !== 'open') return;
    if (cause) this.opts.onError(cause);
    this.opts.client.pause();
    this.afterDrain = errorMessage({ severity: 'FATAL', code, message });
    this.startDrain();
  }

  /** Ends at once (audit failure, broken upstream): held replies are dropped, never released. */
  private abort(code: string, message: string, cause?: Error): void {
    if (this.phase === 'closed') return;
    if (cause) this.opts.onError(cause);
    this.hold = [];
    this.holdBytes = 0;
    this.closeBoth(errorMessage({ severity: 'FATAL', code, message }), 'the gateway ended the connection');
  }

  private clientClosed(): void {
    this.clientGone = true;
    if (this.phase === 'closed') return;
    if (this.phase === 'open') this.startDrain();
  }

  /** Stops taking client input and lets the server finish what it was sent, recording it. */
  private startDrain(): void {
    this.phase = 'draining';
    if (!this.tracker.idle && this.clientGone) this.opts.cancel?.();
    this.drainTimer = setTimeout(() => this.endDrain('the connection closed before the server answered'), this.opts.drainTimeoutMs ?? 5000);
    this.drainTimer.unref();
    this.maybeEndDrain();
  }

  private maybeEndDrain(): void {
    if (this.phase === 'draining' && (this.tracker.idle || this.upstreamEnded))
      this.endDrain('the connection closed before the server answered');
  }

  private endDrain(reason: string): void {
    if (this.phase !== 'draining') return;
    const frame = this.afterDrain;
    if (frame && !this.clientGone) {
      // After every reply already queued (and recorded).
      this.chain = this.chain.then(() => this.closeBoth(frame, reason));
    } else this.closeBoth(undefined, reason);
  }

  private upstreamClosed(fatal: Record<string, string> | undefined, frame: Buffer | undefined): void {
    if (this.upstreamEnded) return;
    this.upstreamEnded = true;
    if (this.phase === 'draining') {
      this.endDrain(fatal ? `the database ended the connection (${fatal.C ?? 'FATAL'})` : 'the database closed the connection');
      return;
    }
    if (this.phase === 'closed') return;
    this.opts.onUpstreamEnd(fatal, frame);
  }

  /**
   * Ends the connection with a FATAL message, after the replies already
   * audited (waiting at most `graceMs` for them). Unaudited replies are dropped.
   */
  terminate(frame: Buffer, graceMs = 500, reason = 'the session ended'): Promise<void> {
    if (this.phase === 'closed') return Promise.resolve();
    this.hold = [];
    this.holdBytes = 0;
    this.opts.client.pause();
    const pending = Promise.race([this.chain, new Promise<void>((r) => setTimeout(r, graceMs).unref())]);
    return pending.then(() => this.closeBoth(frame, reason));
  }

  /** Stops relaying without a message (both sides gone). */
  close(): void {
    this.clientGone = true;
    this.closeBoth(undefined, 'the gateway closed the connection');
  }

  private closeBoth(frame: Buffer | undefined, reason: string): void {
    if (this.phase === 'closed') return;
    this.flush(); // what was released before the end still goes first
    this.recordDeferred(); // owed before the end is reported (settle waits for what is tracked)
    this.phase = 'closed';
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.hold = [];
    // Statements forwarded but never answered still get their record.
    for (const r of this.tracker.unfinished(reason)) this.track(this.record(r)).catch((err: Error) => this.opts.onError(err));
    if (frame && !this.clientGone) this.opts.client.end(frame);
    else this.opts.client.destroy();
    this.opts.upstream.destroy();
    setTimeout(() => this.opts.client.destroy(), 1000).unref();
    void this.settle();
  }

  /** Waits for every record write, then reports the end once. */
  private async settle(): Promise<void> {
    while (this.writes.size) await Promise.allSettled([...this.writes]);
    if (this.finished) return;
    this.finished = true;
    this.opts.onFinished();
  }
}

/**
 * Writes buffers in order as few writes as possible: neighbouring views of
 * one chunk become one view again (no copy); several pieces go out corked
 * (one writev). Returns the stream's backpressure signal.
 */
function writeAll(sock: net.Socket, bufs: Buffer[]): boolean {
  const joined: Buffer[] = [];
  let cur = bufs[0];
  for (let i = 1; i < bufs.length; i++) {
    const b = bufs[i];
    if (b.buffer === cur.buffer && cur.byteOffset + cur.length === b.byteOffset) {
      cur = Buffer.from(cur.buffer, cur.byteOffset, cur.length + b.length);
    } else {
      joined.push(cur);
      cur = b;
    }
  }
  joined.push(cur);
  if (joined.length === 1) return sock.write(joined[0]);
  sock.cork();
  let ok = true;
  for (const b of joined) ok = sock.write(b);
  sock.uncork();
  return ok;
}
