import type net from 'node:net';
import { StatementTracker, type StatementResult } from './statement-tracker.ts';
import { errorMessage, Framer } from './wire.ts';

/**
 * Relays one authenticated connection: client → upstream at once (the
 * statement runs without waiting), upstream → client held per statement until
 * that statement's audit record is durable. Reply bytes are released strictly
 * in order; a failed audit write fails the connection closed (the client gets
 * an error, never the withheld data).
 *
 * A reply larger than `holdLimitBytes` is not buffered whole: a provisional
 * record ("statement started") is made durable first, then the rows stream,
 * and the final record (with the row count) still gates the completion.
 */

export interface RelayOptions {
  client: net.Socket;
  upstream: net.Socket;
  /** Writes the statement's audit record; resolves once durable. */
  record(result: StatementResult): Promise<void>;
  /** Durable provisional record for a large reply before it streams. */
  recordStarted(statement: { text: string; protocol: 'simple' | 'extended'; startedAt: number }): Promise<void>;
  /** The upstream ended (FATAL frame if it sent one): the owner decides what the client is told. */
  onUpstreamEnd(fatal: Record<string, string> | undefined, frame: Buffer | undefined): void;
  onClientEnd(): void;
  onError(err: Error): void;
  holdLimitBytes?: number;
  now?: () => number;
}

export class Relay {
  private readonly tracker: StatementTracker;
  private readonly clientFramer = new Framer();
  private readonly upstreamFramer = new Framer();
  private held: Buffer[] = [];
  private heldBytes = 0;
  private heldData = false;
  private streaming = false; // the current statement already has a durable provisional record
  private chain: Promise<void> = Promise.resolve();
  private pendingGates = 0;
  private closed = false;
  private upstreamEnded = false;
  private readonly holdLimit: number;

  constructor(private readonly opts: RelayOptions) {
    this.tracker = new StatementTracker(opts.now);
    this.holdLimit = opts.holdLimitBytes ?? 16 * 1024 * 1024;
    opts.client.on('data', (c: Buffer) => this.fromClient(c));
    opts.upstream.on('data', (c: Buffer) => this.fromUpstream(c));
    opts.client.on('drain', () => opts.upstream.resume());
    opts.upstream.on('drain', () => opts.client.resume());
    opts.client.on('close', () => {
      if (!this.closed) opts.onClientEnd();
    });
    opts.upstream.on('close', () => this.upstreamClosed(undefined, undefined));
    opts.client.on('error', () => undefined); // 'close' follows
    opts.upstream.on('error', () => undefined);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private fromClient(chunk: Buffer): void {
    if (this.closed) return;
    let frames: Buffer[];
    try {
      frames = this.clientFramer.push(chunk);
    } catch (err) {
      this.fail('malformed message from client', '08P01', err as Error);
      return;
    }
    let terminate = false;
    for (const frame of frames) {
      let verdict;
      try {
        verdict = this.tracker.onFrontend(frame);
      } catch (err) {
        this.fail('malformed message from client', '08P01', err as Error);
        return;
      }
      if (!verdict.ok) {
        this.fail(verdict.reason, '0A000');
        return;
      }
      if (verdict.terminate) terminate = true;
    }
    if (!frames.length) return;
    const out = frames.length === 1 ? frames[0] : Buffer.concat(frames);
    if (!this.opts.upstream.write(out)) this.opts.client.pause();
    if (terminate) {
      this.opts.upstream.end();
    }
  }

  private fromUpstream(chunk: Buffer): void {
    if (this.closed) return;
    let frames: Buffer[];
    try {
      frames = this.upstreamFramer.push(chunk);
    } catch (err) {
      this.fail('malformed message from the database', '08P01', err as Error);
      return;
    }
    for (const frame of frames) {
      let v;
      try {
        v = this.tracker.onBackend(frame);
      } catch (err) {
        this.fail('malformed message from the database', '08P01', err as Error);
        return;
      }
      if (v.fatal) {
        this.upstreamClosed(v.fatal, frame);
        return;
      }
      this.held.push(frame);
      this.heldBytes += frame.length;
      if (v.data) this.heldData = true;
      if (v.complete) {
        this.streaming = false;
        this.release(this.opts.record(v.complete));
      } else if (v.release && !this.heldData) {
        this.release(null);
      }
    }
    if (!this.held.length) return;
    if (!this.heldData || this.streaming) {
      this.release(null); // nothing unaudited in it: no need to hold
    } else if (this.heldBytes > this.holdLimit) {
      const current = this.tracker.current();
      if (current) {
        this.streaming = true;
        this.release(this.opts.recordStarted(current));
      }
    }
  }

  /** Queues what is held behind `gate` (and everything queued before it). */
  private release(gate: Promise<void> | null): void {
    const bufs = this.held;
    this.held = [];
    this.heldBytes = 0;
    this.heldData = false;
    if (!bufs.length && !gate) return;
    if (!gate && this.pendingGates === 0) {
      this.write(bufs);
      return;
    }
    this.pendingGates++;
    // Rejections are handled here so the chain itself never rejects.
    const guarded: Promise<true | Error> = gate
      ? gate.then(
          () => true as const,
          (err: Error) => err,
        )
      : Promise.resolve(true as const);
    this.chain = this.chain.then(async () => {
      const ok = await guarded;
      this.pendingGates--;
      if (ok !== true) {
        this.fail('the audit log could not record this statement; its result is withheld', '58000', ok);
        return;
      }
      this.write(bufs);
    });
  }

  private write(bufs: Buffer[]): void {
    if (this.closed || !bufs.length) return;
    const ok = this.opts.client.write(bufs.length === 1 ? bufs[0] : Buffer.concat(bufs));
    if (!ok) this.opts.upstream.pause();
  }

  private upstreamClosed(fatal: Record<string, string> | undefined, frame: Buffer | undefined): void {
    if (this.upstreamEnded || this.closed) return;
    this.upstreamEnded = true;
    this.opts.onUpstreamEnd(fatal, frame);
  }

  /**
   * Ends the connection with a FATAL message, after the replies already
   * audited (waiting at most `graceMs` for them). Unaudited data is dropped.
   */
  terminate(frame: Buffer, graceMs = 500): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.held = [];
    const pending = Promise.race([this.chain, new Promise<void>((r) => setTimeout(r, graceMs).unref())]);
    return pending.then(() => {
      if (this.closed) return;
      this.closed = true;
      this.opts.client.end(frame);
      this.opts.upstream.destroy();
      setTimeout(() => this.opts.client.destroy(), 1000).unref();
    });
  }

  private fail(message: string, code: string, cause?: Error): void {
    if (this.closed) return;
    if (cause) this.opts.onError(cause);
    this.closed = true;
    this.held = [];
    this.opts.client.end(errorMessage({ severity: 'FATAL', code, message }));
    this.opts.upstream.destroy();
    setTimeout(() => this.opts.client.destroy(), 1000).unref();
    this.opts.onClientEnd();
  }

  /** Stops relaying without a message (both sides gone). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.opts.client.destroy();
    this.opts.upstream.destroy();
  }
}
