import { commandTag, cstring, errorFields, HEADER, rowsOfTag, WireError } from './wire.ts';

/**
 * Follows one connection's conversation the way the server processes it
 * (PostgresMain in postgres.c), to know which statement every backend
 * message belongs to and which statements the server actually ran.
 *
 * The server reads frontend messages strictly in order, so the tracker keeps
 * them in a queue and consumes them as their answers arrive. What it models:
 *
 * - simple Query: one statement record for the whole message (it may hold
 *   several SQL statements); the answer ends with ReadyForQuery; an error
 *   ends the rest of the message;
 * - extended protocol: every Execute the server runs is one statement record
 *   (text from the Parse behind its portal, resolved when the server
 *   processes it); after an error the server skips every message — a simple
 *   Query included — until Sync, and so does the tracker (skipped messages
 *   are not records); a failing Parse / Bind / Describe / Close / Sync
 *   (commit) gets a failure record of its phase, since its error text may
 *   quote values;
 * - Execute with a row limit ends with PortalSuspended: a record per Execute,
 *   the resumed portal's next Execute is the next record;
 * - Flush produces nothing; CopyData / CopyDone / CopyFail outside COPY are
 *   ignored by the server;
 * - COPY: CopyOut streams rows; CopyIn makes the server consume the client's
 *   CopyData / CopyDone / CopyFail (Flush and Sync are ignored meanwhile) —
 *   any other message fails the COPY and is consumed by it;
 * - FunctionCall is refused before it is forwarded.
 *
 * A statement is *started* (`onStart`) as soon as the server is certain to
 * run it: when it is at the head of the queue, every message before it
 * answered and no error pending before a Sync — for a Query sent to an idle
 * connection, before it is even forwarded. That is when its start record can
 * be written, so the record's commit overlaps the statement's execution.
 * Nothing the server skips is ever started.
 *
 * Parameter values of Bind are never recorded, only their count.
 */

export type Phase = 'query' | 'execute' | 'parse' | 'bind' | 'describe' | 'close' | 'commit';

export interface StatementResult {
  text: string;
  protocol: 'simple' | 'extended';
  /** What the server did: 'query' and 'execute' ran the statement; the others failed before running it. */
  phase: Phase;
  startedAt: number;
  /** Command tags in order (several for a multi-statement Query). */
  tags: string[];
  /** Rows returned or affected (sum over tags), null if no tag carried a count. */
  rows: number | null;
  parameters?: number;
  error?: { code: string; message: string };
  /** Set when the connection ended before the server answered. */
  unfinished?: string;
  /** What `onStart` returned for the statement (its start record): this result is the rest of its record. */
  start?: StartRef;
}

/** Opaque to the tracker: whatever the owner's `onStart` returned (the relay: its start record). */
export interface StartRef {
  seq: number | undefined;
  durable: Promise<void>;
}

/** A statement the server runs (Query or Execute): the unit every held reply waits for. */
export interface Statement {
  kind: 'query' | 'execute';
  text: string;
  portal?: string;
  parameters?: number;
  startedAt: number;
  tags: string[];
  rows: number | null;
  error?: { code: string; message: string };
  /** DataRows sent for it (a suspended portal's row count: PortalSuspended carries none). */
  dataRows: number;
  /** The server has begun answering it. */
  begun: boolean;
  /** The server sent CopyInResponse for it: it now consumes the client's COPY messages. */
  copyIn: boolean;
  /** The server is certain to run it (onStart was called): see the class comment. */
  started: boolean;
  start?: StartRef;
}

type Item =
  | { kind: 'query'; stmt: Statement }
  | { kind: 'execute'; stmt: Statement }
  | { kind: 'parse'; name: string; text: string }
  | { kind: 'bind'; portal: string; statement: string; parameters: number }
  | { kind: 'describe'; target: 'S' | 'P'; name: string }
  | { kind: 'close'; target: 'S' | 'P'; name: string }
  | { kind: 'sync' }
  | { kind: 'flush' }
  | { kind: 'copy'; message: 'd' | 'c' | 'f' };

export type FrontendVerdict = { ok: true; terminate?: boolean } | { ok: false; code: string; reason: string; refused?: StatementResult };

export interface BackendVerdict {
  /**
   * The statement this message was produced by (it is held until that
   * statement's record is durable); null: produced outside any statement.
   */
  owner: Statement | null;
  /** Records completed by this message, in order (its own statement's last). */
  complete: readonly StatementResult[];
  /** The server now waits for the client's COPY data (the owner must be released first). */
  awaitsClient?: boolean;
  /** FATAL error from the server: the connection is ending. */
  fatal?: Record<string, string>;
}

const FRONTEND_TYPES = 'QPBDECSHdcfX';
const NONE: readonly StatementResult[] = Object.freeze([]);
const PREPARE_PHASE: Record<string, Phase> = { parse: 'parse', bind: 'bind', describe: 'describe', close: 'close', sync: 'commit' };

/**
 * True for every text the server finds empty — only blanks, semicolons and
 * comments (`--` to the end of the line, nested `/* *\/`) — and, to err on
 * the safe side, for an unterminated comment and any Unicode blank.
 */
function mayBeEmpty(text: string): boolean {
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === ';' || /\s/.test(c)) i++;
    else if (c === '-' && text[i + 1] === '-') {
      const nl = text.indexOf('\n', i);
      if (nl < 0) return true;
      i = nl + 1;
    } else if (c === '/' && text[i + 1] === '*') {
      let depth = 1;
      i += 2;
      while (depth > 0) {
        if (i >= text.length) return true;
        const pair = text.slice(i, i + 2);
        if (pair === '/*') depth++;
        else if (pair === '*/') depth--;
        i += pair === '/*' || pair === '*/' ? 2 : 1;
      }
    } else return false;
  }
  return true;
}

const addRows = (acc: number | null, tag: string): number | null => {
  const n = rowsOfTag(tag);
  return n === null ? acc : (acc ?? 0) + n;
};

export interface TrackerOptions {
  now?: () => number;
  /** Checked for every Query and Parse before it is forwarded (a statement that cannot be recorded must not run). */
  recordable?: (sql: string) => { ok: true } | { ok: false; code: string; message: string };
  /** A statement the server is now certain to run (text resolved as the server will resolve it). */
  onStart?: (stmt: Statement) => StartRef | undefined;
}

export class StatementTracker {
  private readonly queue: Item[] = [];
  private readonly statements = new Map<string, string>();
  private readonly portals = new Map<string, { text: string; parameters: number }>();
  private ignoreTillSync = false;
  private readonly now: () => number;

  constructor(private readonly opts: TrackerOptions = {}) {
    this.now = opts.now ?? Date.now;
  }

  /** Called for each whole frontend message (or the first piece of a large Bind / CopyData) before it is forwarded. */
  onFrontend(frame: Buffer): FrontendVerdict {
    const type = String.fromCharCode(frame[0]);
    if (type === 'F')
      return { ok: false, code: '0A000', reason: 'the function-call protocol is not available through the gateway; use SELECT' };
    if (!FRONTEND_TYPES.includes(type)) return { ok: false, code: '08P01', reason: `unsupported protocol message '${type}'` };
    switch (type) {
      case 'Q': {
        const [text] = cstring(frame, HEADER);
        const refusal = this.refuse(text, 'simple');
        if (refusal) return refusal;
        this.queue.push({ kind: 'query', stmt: this.statement('query', text) });
        this.startFront();
        return { ok: true };
      }
      case 'P': {
        const [name, at] = cstring(frame, HEADER);
        const [text] = cstring(frame, at);
        const refusal = this.refuse(text, 'extended');
        if (refusal) return refusal;
        this.queue.push({ kind: 'parse', name, text });
        return { ok: true };
      }
      case 'B': {
        // Only the prefix is read (a large Bind arrives in pieces; the first holds at least 128 KiB).
        const [portal, at] = cstring(frame, HEADER);
        const [statement, at2] = cstring(frame, at);
        const formats = frame.readInt16BE(at2);
        const parameters = frame.readInt16BE(at2 + 2 + formats * 2);
        this.queue.push({ kind: 'bind', portal, statement, parameters });
        return { ok: true };
      }
      case 'D':
      case 'C': {
        const target = String.fromCharCode(frame[HEADER]);
        if (target !== 'S' && target !== 'P')
          return { ok: false, code: '08P01', reason: `invalid ${type === 'D' ? 'Describe' : 'Close'} message` };
        const [name] = cstring(frame, HEADER + 1);
        this.queue.push({ kind: type === 'D' ? 'describe' : 'close', target, name });
        return { ok: true };
      }
      case 'E': {
        const [portal] = cstring(frame, HEADER);
        const stmt = this.statement('execute', '', portal);
        this.queue.push({ kind: 'execute', stmt });
        this.startFront();
        return { ok: true };
      }
      case 'S':
        this.queue.push({ kind: 'sync' });
        return { ok: true };
      case 'H':
        this.queue.push({ kind: 'flush' });
        return { ok: true };
      case 'd':
      case 'c':
      case 'f':
        // CopyData can be many per COPY: consecutive ones collapse into one item.
        if (type === 'd' && this.queue.at(-1)?.kind === 'copy' && (this.queue.at(-1) as { message: string }).message === 'd')
          return { ok: true };
        this.queue.push({ kind: 'copy', message: type });
        return { ok: true };
      default: // 'X'
        return { ok: true, terminate: true };
    }
  }

  /**
   * Called for each backend message (or the first piece of a large one), or
   * once for a run of `count` whole DataRow / CopyData messages (only their
   * type is read: they never complete a statement).
   */
  onBackend(frame: Buffer, count = 1): BackendVerdict {
    const v = this.backend(frame, count);
    // The answer may have finished what stood before the next statement: it is certain to run now.
    const head = this.queue[0];
    if (head !== undefined && !((head.kind === 'query' || head.kind === 'execute') && head.stmt.started)) this.startFront();
    return v;
  }

  private backend(frame: Buffer, count: number): BackendVerdict {
    const type = String.fromCharCode(frame[0]);
    if (count !== 1 && type !== 'D' && type !== 'd') throw new WireError(`a run of '${type}' messages cannot be tracked as one`);
    // At most one record completes per message; most messages complete none (no allocation on the row path).
    let complete = NONE;
    switch (type) {
      case 'D': // DataRow
      case 'd': // CopyData
      case 'c': // CopyDone
      case 'H': // CopyOutResponse
      case 'T': {
        // RowDescription: a Describe's answer, or the start of a result set.
        const front = this.front();
        if (type === 'T' && front?.kind === 'describe') {
          this.queue.shift();
          return { owner: null, complete };
        }
        const stmt = this.running(front, type);
        if (type === 'D') stmt.dataRows += count;
        return { owner: stmt, complete };
      }
      case 'G': {
        // CopyInResponse: the statement now waits for the client's data.
        const stmt = this.running(this.front(), type);
        stmt.copyIn = true;
        return { owner: stmt, complete, awaitsClient: true };
      }
      case 'W':
        throw new WireError('COPY BOTH is not available through the gateway');
      case '1':
      case '2':
      case '3':
      case 't':
      case 'n': {
        const front = this.front();
        const expected = { '1': 'parse', '2': 'bind', '3': 'close', t: 'describe', n: 'describe' }[type];
        if (front?.kind !== expected) throw new WireError(`unexpected '${type}' from the database (tracker out of step)`);
        if (front.kind === 'parse') this.parsed(front, true);
        else if (front.kind === 'bind') this.bound(front, true);
        else if (front.kind === 'close') {
          if (front.target === 'S') this.statements.delete(front.name);
          else this.portals.delete(front.name);
        }
        if (type !== 't') this.queue.shift(); // ParameterDescription is followed by RowDescription / NoData
        return { owner: null, complete };
      }
      case 'C':
      case 'I':
      case 's': {
        const front = this.front();
        if (type === 'I' && front?.kind === 'execute' && !front.stmt.started) {
          // An Execute of an empty statement runs nothing (the server does not even log it): no record.
          this.queue.shift();
          return { owner: null, complete };
        }
        const stmt = this.running(front, type);
        if (stmt.copyIn) this.endCopy(false);
        const tag = type === 'C' ? commandTag(frame) : type === 'I' ? 'EMPTY' : 'SUSPENDED';
        stmt.tags.push(tag);
        stmt.rows = type === 's' ? stmt.dataRows : addRows(stmt.rows, tag);
        // The end of a transaction drops its portals (protocol-level ones are never WITH HOLD).
        if (tag === 'COMMIT' || tag === 'ROLLBACK') this.portals.clear();
        if (stmt.kind === 'execute') {
          this.queue.shift();
          // (An empty one that was started all the same gets its outcome: a start record never dangles.)
          complete = [this.result(stmt)];
        }
        return { owner: stmt, complete };
      }
      case 'E': {
        const fields = errorFields(frame);
        if (fields.S === 'FATAL' || fields.S === 'PANIC') return { owner: this.activeStatement(), complete, fatal: fields };
        const error = { code: fields.C ?? 'XX000', message: fields.M ?? 'error' };
        const front = this.front();
        if (!front) throw new WireError('error from the database while idle (tracker out of step)');
        if (front.kind === 'query' || front.kind === 'execute') {
          const stmt = this.running(front, type);
          if (stmt.copyIn) this.endCopy(true, error.code);
          stmt.error = error;
          if (front.kind === 'execute') {
            this.queue.shift();
            this.ignoreTillSync = true;
            complete = [this.result(stmt)];
          }
          return { owner: stmt, complete };
        }
        if (front.kind === 'flush' || front.kind === 'copy')
          throw new WireError('error from the database for a message that has no answer');
        // A prepare step failed (or the commit at Sync): a failure record of its phase gates this error.
        const failed = this.failed(front, error);
        if (front.kind !== 'sync') {
          if (front.kind === 'parse') this.parsed(front, false);
          if (front.kind === 'bind') this.bound(front, false);
          this.queue.shift();
          this.ignoreTillSync = true;
        }
        complete = [failed];
        return { owner: null, complete };
      }
      case 'Z': {
        const front = this.front();
        // Outside a transaction block no protocol-level portal survives (they are never WITH HOLD).
        if (String.fromCharCode(frame[HEADER]) === 'I') this.portals.clear();
        if (front?.kind === 'query') {
          const stmt = this.running(front, type);
          this.queue.shift();
          complete = [this.result(stmt)];
          return { owner: stmt, complete };
        }
        if (front?.kind !== 'sync') throw new WireError('unexpected ReadyForQuery from the database (tracker out of step)');
        this.queue.shift();
        this.ignoreTillSync = false;
        return { owner: null, complete };
      }
      case 'N': // NoticeResponse
      case 'A': // NotificationResponse
      case 'S': // ParameterStatus
        return { owner: this.activeStatement(), complete };
      default:
        throw new WireError(`unexpected message '${type}' from the database`);
    }
  }

  /**
   * The statements forwarded that the server has not finished (for records
   * when the connection ends before their answers): skipped ones excluded.
   */
  unfinished(reason: string): StatementResult[] {
    const out: StatementResult[] = [];
    let ignoring = this.ignoreTillSync;
    for (const item of this.queue) {
      if (item.kind === 'sync') ignoring = false;
      if (ignoring) continue;
      if (item.kind === 'query' || item.kind === 'execute') out.push({ ...this.result(item.stmt), unfinished: reason });
    }
    this.queue.length = 0;
    return out;
  }

  /** Nothing forwarded is waiting for an answer. */
  get idle(): boolean {
    return this.queue.every((i) => i.kind === 'flush' || i.kind === 'copy');
  }

  private refuse(text: string, protocol: 'simple' | 'extended'): FrontendVerdict | undefined {
    const check = this.opts.recordable?.(text);
    if (!check || check.ok) return undefined;
    return {
      ok: false,
      code: check.code,
      reason: check.message,
      refused: {
        text: `(statement of ${Buffer.byteLength(text)} bytes refused before it ran: too large to record)`,
        protocol,
        phase: protocol === 'simple' ? 'query' : 'parse',
        startedAt: this.now(),
        tags: [],
        rows: null,
        error: { code: check.code, message: check.message },
      },
    };
  }

  private statement(kind: 'query' | 'execute', text: string, portal?: string): Statement {
    return { kind, text, portal, startedAt: this.now(), tags: [], rows: null, dataRows: 0, begun: false, copyIn: false, started: false };
  }

  /** Starts the statement at the head of the queue, if the server is now certain to run it. */
  private startFront(): void {
    const f = this.front();
    if ((f?.kind === 'query' || f?.kind === 'execute') && !this.ignoreTillSync) this.start(f.stmt, true);
  }

  /**
   * `early`: before the server answers. An Execute whose text may be empty is
   * then left for its first answer: the server runs nothing for an empty
   * statement (EmptyQueryResponse, not even logged), so it gets no record.
   */
  private start(stmt: Statement, early = false): void {
    if (stmt.started) return;
    if (stmt.kind === 'execute') {
      // The portal's text as the server sees it now (every Bind before it has been answered).
      const p = this.portals.get(stmt.portal ?? '');
      stmt.text = p?.text ?? `(portal "${stmt.portal}" not bound through the extended protocol)`;
      stmt.parameters = p?.parameters ?? 0;
      if (early && mayBeEmpty(stmt.text)) return;
    }
    stmt.started = true;
    stmt.start = this.opts.onStart?.(stmt);
  }

  /**
   * The item the server is answering now: items that produce no answer in the
   * server's current state are consumed first (Flush; stray COPY messages;
   * everything but Sync while skipping after an error).
   */
  private front(): Item | undefined {
    while (this.queue.length) {
      const f = this.queue[0];
      const head = f.kind === 'query' || f.kind === 'execute' ? f.stmt : undefined;
      if (head?.copyIn) return f; // its COPY messages follow it and are consumed by endCopy
      if (f.kind === 'flush' || f.kind === 'copy' || (this.ignoreTillSync && f.kind !== 'sync')) {
        this.queue.shift();
        continue;
      }
      return f;
    }
    return undefined;
  }

  private running(front: Item | undefined, type: string): Statement {
    if (front?.kind !== 'query' && front?.kind !== 'execute')
      throw new WireError(`unexpected '${type}' from the database (no statement running)`);
    const stmt = front.stmt;
    if (!stmt.begun) {
      stmt.begun = true;
      this.start(stmt); // already started, unless the head was never checked since it became the head
      if (stmt.kind === 'query') {
        // A simple Query replaces the unnamed statement and portal.
        this.statements.delete('');
        this.portals.delete('');
      }
    }
    return stmt;
  }

  /** The statement the server is working on (for notices and the like), after consuming silent items. */
  private activeStatement(): Statement | null {
    const f = this.front();
    if (f?.kind === 'query' || f?.kind === 'execute') return this.running(f, 'N');
    return null;
  }

  /**
   * Consumes the client's COPY messages that the server's COPY read, after
   * its CommandComplete (through CopyDone) or ErrorResponse (through the
   * offending message: CopyFail, or any non-COPY message — 08P01).
   */
  private endCopy(failed: boolean, code?: string): void {
    const stmtItem = this.queue[0];
    if (stmtItem.kind !== 'query' && stmtItem.kind !== 'execute') return;
    stmtItem.stmt.copyIn = false;
    let i = 1;
    while (i < this.queue.length) {
      const it = this.queue[i];
      if (it.kind === 'copy' && it.message !== 'd') {
        i++;
        break; // CopyDone / CopyFail ends the COPY
      }
      if (it.kind === 'copy' || it.kind === 'flush' || it.kind === 'sync') {
        i++;
        continue;
      }
      // A message of another kind: it ended the COPY with a protocol error, and the COPY consumed it.
      if (failed && code === '08P01') i++;
      break;
    }
    if (!failed && !this.queue.slice(1, i).some((it) => it.kind === 'copy' && it.message === 'c'))
      throw new WireError('COPY completed without CopyDone (tracker out of step)');
    this.queue.splice(1, i - 1);
  }

  private parsed(item: Extract<Item, { kind: 'parse' }>, ok: boolean): void {
    if (item.name === '') this.statements.delete(''); // the server drops the unnamed statement first
    if (ok) this.statements.set(item.name, item.text);
  }

  private bound(item: Extract<Item, { kind: 'bind' }>, ok: boolean): void {
    if (item.portal === '') this.portals.delete(''); // likewise the unnamed portal
    if (ok) {
      const text =
        this.statements.get(item.statement) ?? `(prepared statement "${item.statement}" not parsed through the extended protocol)`;
      this.portals.set(item.portal, { text, parameters: item.parameters });
    }
  }

  private failed(item: Item, error: { code: string; message: string }): StatementResult {
    const text =
      item.kind === 'parse'
        ? item.text
        : item.kind === 'bind'
          ? (this.statements.get(item.statement) ?? `(prepared statement "${item.statement}")`)
          : item.kind === 'describe' || item.kind === 'close'
            ? ((item.target === 'S' ? this.statements.get(item.name) : this.portals.get(item.name)?.text) ??
              `(${item.target === 'S' ? 'statement' : 'portal'} "${item.name}")`)
            : '(commit at Sync)';
    return {
      text,
      protocol: 'extended',
      phase: PREPARE_PHASE[item.kind],
      startedAt: this.now(),
      tags: [],
      rows: null,
      parameters: item.kind === 'bind' ? item.parameters : undefined,
      error,
    };
  }

  private result(stmt: Statement): StatementResult {
    // A Query string that does not parse runs nothing (the server parses the whole string before anything runs).
    const unparsed = stmt.kind === 'query' && stmt.error?.code === '42601' && stmt.tags.length === 0;
    return {
      text: stmt.text,
      protocol: stmt.kind === 'query' ? 'simple' : 'extended',
      phase: unparsed ? 'parse' : stmt.kind,
      startedAt: stmt.startedAt,
      tags: stmt.tags,
      rows: stmt.rows,
      parameters: stmt.kind === 'execute' ? stmt.parameters : undefined,
      error: stmt.error,
      start: stmt.start,
    };
  }
}
