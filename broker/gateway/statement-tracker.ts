import { commandTag, cstring, errorFields, HEADER, rowsOfTag } from './wire.ts';

/**
 * Follows one connection's protocol conversation to know which statement
 * each backend reply belongs to. The server answers frontend messages in
 * order, so a FIFO of what was sent suffices:
 *
 * - simple protocol: one Query message (possibly several statements) is one
 *   audited statement; its reply ends with ReadyForQuery;
 * - extended protocol: every Execute is one audited statement (text from the
 *   Parse behind its portal); a failing Parse / Bind / Describe is audited as
 *   a failed statement too; after an error the server skips to Sync, and so
 *   does the queue;
 * - COPY (either protocol) is a statement whose CommandComplete carries the
 *   row count.
 *
 * Parameter values of Bind are never recorded, only their count.
 */

export interface StatementResult {
  text: string;
  protocol: 'simple' | 'extended';
  startedAt: number;
  /** Command tags in order (several for a multi-statement Query). */
  tags: string[];
  /** Rows returned or affected (sum over tags), null if no tag carried a count. */
  rows: number | null;
  parameters?: number;
  error?: { code: string; message: string };
}

type Item =
  | { kind: 'parse'; text: string }
  | { kind: 'bind'; text: string; parameters: number }
  | { kind: 'describe'; text?: string }
  | { kind: 'execute'; text: string; parameters: number; startedAt: number; tags: string[]; rows: number | null }
  | { kind: 'close' }
  | { kind: 'sync' }
  | { kind: 'query'; text: string; startedAt: number; tags: string[]; rows: number | null; error?: { code: string; message: string } };

export type FrontendVerdict = { ok: true; terminate?: boolean } | { ok: false; reason: string };

export interface BackendVerdict {
  /** The frame carries result data (rows or COPY data): hold it with its statement. */
  data: boolean;
  /** A statement finished with this frame: audit it before the reply goes out. */
  complete?: StatementResult;
  /** Release what is held so far (no data pending): the server waits for the client. */
  release?: boolean;
  /** FATAL error from the server: the connection is ending. */
  fatal?: Record<string, string>;
}

const addRows = (acc: number | null, tag: string): number | null => {
  const n = rowsOfTag(tag);
  return n === null ? acc : (acc ?? 0) + n;
};

export class StatementTracker {
  private readonly queue: Item[] = [];
  private readonly statements = new Map<string, string>();
  private readonly portals = new Map<string, { text: string; parameters: number }>();
  constructor(private readonly now: () => number = Date.now) {}

  /** Called for each frontend message before it is forwarded. */
  onFrontend(frame: Buffer): FrontendVerdict {
    const type = String.fromCharCode(frame[0]);
    switch (type) {
      case 'Q': {
        const [text] = cstring(frame, HEADER);
        this.queue.push({ kind: 'query', text, startedAt: this.now(), tags: [], rows: null });
        return { ok: true };
      }
      case 'P': {
        const [name, at] = cstring(frame, HEADER);
        const [text] = cstring(frame, at);
        this.statements.set(name, text);
        this.queue.push({ kind: 'parse', text });
        return { ok: true };
      }
      case 'B': {
        const [portal, at] = cstring(frame, HEADER);
        const [statement, at2] = cstring(frame, at);
        // Skip the parameter format codes to read the parameter count.
        const formats = frame.readInt16BE(at2);
        const parameters = frame.readInt16BE(at2 + 2 + formats * 2);
        const text = this.statements.get(statement) ?? `(unknown prepared statement "${statement}")`;
        this.portals.set(portal, { text, parameters });
        this.queue.push({ kind: 'bind', text, parameters });
        return { ok: true };
      }
      case 'D': {
        const kind = String.fromCharCode(frame[HEADER]);
        const [name] = cstring(frame, HEADER + 1);
        this.queue.push({ kind: 'describe', text: kind === 'S' ? this.statements.get(name) : this.portals.get(name)?.text });
        return { ok: true };
      }
      case 'E': {
        const [portal] = cstring(frame, HEADER);
        const p = this.portals.get(portal);
        this.queue.push({
          kind: 'execute',
          text: p?.text ?? `(unknown portal "${portal}")`,
          parameters: p?.parameters ?? 0,
          startedAt: this.now(),
          tags: [],
          rows: null,
        });
        return { ok: true };
      }
      case 'C': {
        const kind = String.fromCharCode(frame[HEADER]);
        const [name] = cstring(frame, HEADER + 1);
        if (kind === 'S') this.statements.delete(name);
        else this.portals.delete(name);
        this.queue.push({ kind: 'close' });
        return { ok: true };
      }
      case 'S':
        this.queue.push({ kind: 'sync' });
        return { ok: true };
      case 'H': // Flush
      case 'd': // CopyData
      case 'c': // CopyDone
      case 'f': // CopyFail
        return { ok: true };
      case 'X':
        return { ok: true, terminate: true };
      case 'F':
        return { ok: false, reason: 'the function-call protocol is not available through the gateway; use SELECT' };
      default:
        return { ok: false, reason: `unsupported protocol message '${type}'` };
    }
  }

  /** Called for each backend message; says whether it completes a statement. */
  onBackend(frame: Buffer): BackendVerdict {
    const type = String.fromCharCode(frame[0]);
    const front = this.queue[0];
    switch (type) {
      case 'D': // DataRow
      case 'd': // CopyData
      case 'H': // CopyOutResponse
      case 'W': // CopyBothResponse
        return { data: true };
      case '1':
      case '2':
      case '3':
        if (front && front.kind !== 'query' && front.kind !== 'sync' && front.kind !== 'execute') this.queue.shift();
        return { data: false };
      case 'T':
      case 'n':
        if (front?.kind === 'describe') this.queue.shift();
        return { data: false };
      case 'G': // CopyInResponse: the server now waits for the client's data
        return { data: false, release: true };
      case 'C':
      case 'I':
      case 's': {
        const tag = type === 'C' ? commandTag(frame) : type === 'I' ? 'EMPTY' : 'SUSPENDED';
        if (front?.kind === 'query') {
          front.tags.push(tag);
          front.rows = addRows(front.rows, tag);
          return { data: false };
        }
        if (front?.kind === 'execute') {
          this.queue.shift();
          return {
            data: false,
            complete: {
              text: front.text,
              protocol: 'extended',
              startedAt: front.startedAt,
              tags: [tag],
              rows: addRows(null, tag),
              parameters: front.parameters,
            },
          };
        }
        return { data: false };
      }
      case 'E': {
        const fields = errorFields(frame);
        const error = { code: fields.C ?? 'XX000', message: fields.M ?? 'error' };
        if (fields.S === 'FATAL' || fields.S === 'PANIC') return { data: false, fatal: fields };
        if (front?.kind === 'query') {
          front.error = error;
          return { data: false };
        }
        if (!front || front.kind === 'sync') {
          // An error at Sync (e.g. a deferred constraint at the implicit commit).
          return {
            data: false,
            complete: { text: '(implicit commit at Sync)', protocol: 'extended', startedAt: this.now(), tags: [], rows: null, error },
          };
        }
        this.queue.shift();
        const text = 'text' in front && front.text ? front.text : undefined;
        if (!text) return { data: false };
        const startedAt = front.kind === 'execute' ? front.startedAt : this.now();
        const parameters = front.kind === 'execute' || front.kind === 'bind' ? front.parameters : undefined;
        return {
          data: false,
          complete: {
            text,
            protocol: 'extended',
            startedAt,
            tags: front.kind === 'execute' ? front.tags : [],
            rows: null,
            parameters,
            error,
          },
        };
      }
      case 'Z': {
        // Everything before the next Sync / Query was skipped by the server after an error.
        while (this.queue.length) {
          const item = this.queue.shift()!;
          if (item.kind === 'sync') return { data: false, release: true };
          if (item.kind === 'query') {
            return {
              data: false,
              release: true,
              complete: {
                text: item.text,
                protocol: 'simple',
                startedAt: item.startedAt,
                tags: item.tags,
                rows: item.rows,
                error: item.error,
              },
            };
          }
        }
        return { data: false, release: true };
      }
      default: // ParameterStatus, NoticeResponse, NotificationResponse, ParameterDescription ('t')
        return { data: false };
    }
  }

  /** The statement whose reply is being received (for a provisional audit record of a large result). */
  current(): { text: string; protocol: 'simple' | 'extended'; startedAt: number } | undefined {
    const item = this.queue.find((i) => i.kind === 'execute' || i.kind === 'query');
    if (!item || (item.kind !== 'execute' && item.kind !== 'query')) return undefined;
    return { text: item.text, protocol: item.kind === 'query' ? 'simple' : 'extended', startedAt: item.startedAt };
  }
}
