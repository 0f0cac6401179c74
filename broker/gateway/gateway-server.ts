import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import type { AuditEventInput, AuditLog, SeriesEvent } from '../../shared/audit/audit-types.ts';
import { createTranscriptChain, type TranscriptChain, type TranscriptLink } from '../../shared/audit/transcript-chain.ts';
import type { TlsMaterial } from '../../shared/http/tls.ts';
import { endMessage, GatewayAuthError, type GatewaySession, type GatewaySessionSource, type SessionStatus } from './gateway-types.ts';
import { handshake, type HandshakeResult } from './handshake.ts';
import { Relay } from './relay.ts';
import { auditSafe, auditStatementFields, maskMessage, MAX_RECORDABLE_STATEMENT_BYTES, statementRecordable } from './statement-masking.ts';
import type { StatementResult } from './statement-tracker.ts';
import { cancelUpstream, connectUpstream, type UpstreamTarget } from './upstream-client.ts';
import { authenticationOk, errorMessage } from './wire.ts';

/**
 * The auditing PostgreSQL gateway. Its own handshake (handshake.ts) speaks
 * the client side up to authentication — TLS is mandatory; the user is the
 * access session id and the password its broker-issued token; then the
 * connection is relayed (relay.ts) to an upstream connection logged in as the
 * session's own role. Every statement is recorded before any of its reply is
 * released; at expiry or revocation the client is told why, with a FATAL.
 */

export interface GatewayOptions {
  tls: TlsMaterial;
  sessions: GatewaySessionSource;
  audit: AuditLog;
  logger: Logger;
  /**
   * How often live sessions are re-read (ms) and statement counts flushed: the
   * fallback for a missed "session ended" notification (the gateway-start
   * wiring LISTENs for those). Expiring due sessions and dropping their roles
   * is the worker's sweep, not the gateway's: it runs with no gateway at all.
   */
  watchIntervalMs?: number;
  holdLimitBytes?: number;
  /** Time allowed from TCP connect to a completed login. */
  loginTimeoutMs?: number;
}

interface LiveConnection {
  session: GatewaySession;
  relay?: Relay;
  socket: net.Socket;
  statements: number;
  /** This connection's statement records: a chain of its own, anchored into the workspace stream at the end. */
  transcript: TranscriptChain;
  /** The last start part linked: while it waits to be written, its statement's end can make it the whole record. */
  lastStart?: { link: TranscriptLink; masked: string };
  /** The last checkpoint anchor: records up to this seq are proven even if the gateway dies before the end. */
  checkpoint: { seq: number; at: number };
  timer?: NodeJS.Timeout;
  ending: boolean;
  clientIp?: string;
}

const STARTUP_PASSTHROUGH = new Set([
  'application_name',
  'client_encoding',
  'DateStyle',
  'TimeZone',
  'IntervalStyle',
  'extra_float_digits',
  'search_path',
]);

/** How often a connection's transcript is anchored before it ends (whichever comes first). */
const CHECKPOINT_RECORDS = 1000;
const CHECKPOINT_MS = 30_000;

function actorOf(s: GatewaySession): AuditEventInput['actor'] {
  return { id: s.actor.id, kind: 'employee', role: s.actor.role, displayName: s.actor.displayName };
}

export function createGateway(opts: GatewayOptions) {
  const { sessions, audit, logger } = opts;
  const live = new Set<LiveConnection>();
  const pendingCounts = new Map<string, number>();
  const cancelKeys = new Map<string, UpstreamTarget>(); // "pid:secret" → upstream of that backend
  const secureContext = tls.createSecureContext({ key: opts.tls.key, cert: opts.tls.cert, minVersion: 'TLSv1.2' });
  const server = net.createServer((socket) => accept(socket));
  server.on('error', (err) => logger.error({ err }, 'gateway listener error'));

  function baseEvent(s: GatewaySession, action: string, outcome: AuditEventInput['outcome'], conn?: LiveConnection): AuditEventInput {
    return { ...sharedFields(s, action, conn), outcome };
  }

  function sharedFields(s: GatewaySession, action: string, conn?: LiveConnection) {
    return {
      action,
      actor: actorOf(s),
      workspaceId: s.workspaceId,
      region: s.region,
      target: { type: 'db_session', id: s.id },
      reason: s.reason,
      sessionId: s.id,
      clientIp: conn?.clientIp,
    };
  }

  // Statement records (docs/gateway-statements.md): a started statement's record is a start part and an
  // outcome part in the transcript; a statement that failed before it ran has one record with both.
  // Named fields, no spread: V8 (Node 20) builds a spread followed by more
  // properties through its slow path, ≈ 10 µs a statement here (measured).

  /** What a statement is: its part of the record known before it runs. */
  function startMetadata(
    conn: LiveConnection,
    st: Pick<StatementResult, 'text' | 'protocol' | 'parameters'>,
    phase: string,
    masked = auditStatementFields(st.text).statement,
  ) {
    return {
      part: 'start',
      statement: masked,
      protocol: st.protocol,
      phase,
      parameters: st.parameters ?? null,
      scope: conn.session.scope,
      ticket: conn.session.ticketRef,
    };
  }

  /** How it ended: the part of the record known once it ends. */
  function outcomeMetadata(r: StatementResult) {
    return {
      phase: r.phase,
      unfinished: r.unfinished ?? null,
      command: (r.tags.join(', ') || '').slice(0, 200) || null,
      rows: r.rows,
      sqlstate: r.error?.code ?? null,
      error: r.error ? auditSafe(maskMessage(r.error.message).slice(0, 200)) : null,
      durationMs: Date.now() - r.startedAt,
    };
  }

  const outcomeOf = (r: StatementResult): SeriesEvent['outcome'] => (r.error || r.unfinished ? 'failure' : 'success');

  /** The outcome part of a started statement's record (`startSeq` names its start part). */
  function outcomeEvent(r: StatementResult, startSeq: number): SeriesEvent {
    const end = outcomeMetadata(r);
    return {
      outcome: outcomeOf(r),
      metadata: {
        part: 'outcome',
        startSeq,
        phase: end.phase,
        unfinished: end.unfinished,
        command: end.command,
        rows: end.rows,
        sqlstate: end.sqlstate,
        error: end.error,
        durationMs: end.durationMs,
      },
    };
  }

  /** A statement's whole record: both parts' fields, no `part`. */
  function wholeEvent(conn: LiveConnection, r: StatementResult, masked?: string): SeriesEvent {
    const st = startMetadata(conn, r, r.phase, masked);
    const end = outcomeMetadata(r);
    return {
      outcome: outcomeOf(r),
      metadata: {
        statement: st.statement,
        protocol: st.protocol,
        phase: end.phase,
        unfinished: end.unfinished,
        command: end.command,
        rows: end.rows,
        parameters: st.parameters,
        sqlstate: end.sqlstate,
        error: end.error,
        durationMs: end.durationMs,
        scope: st.scope,
        ticket: st.ticket,
      },
    };
  }

  function accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    const clientIp = socket.remoteAddress;
    void handshake(socket, { secureContext, timeoutMs: opts.loginTimeoutMs ?? 30_000 }).then(async (hello) => {
      if (hello.kind === 'cancel') return forwardCancel(hello.processId, hello.secretKey);
      if (hello.kind === 'closed') return;
      await login(hello, clientIp).catch((err: Error) => {
        logger.error({ err: { name: err.name, message: err.message } }, 'gateway login failed');
        hello.refuse('XX000', 'gateway login failed');
      });
    });
  }

  async function login(hello: Extract<HandshakeResult, { kind: 'login' }>, ip: string | undefined): Promise<void> {
    const clientSocket = hello.socket;
    let session: GatewaySession;
    try {
      session = await sessions.authenticate(hello.parameters.user, hello.password);
    } catch (err) {
      if (err instanceof GatewayAuthError) return hello.refuse(err.code, err.message);
      throw err;
    }
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(hello.parameters)) if (STARTUP_PASSTHROUGH.has(k)) params[k] = v;
    params.application_name =
      `wact-gateway ${session.id}${params.application_name ? ` (${params.application_name})`.slice(0, 40) : ''}`.slice(0, 63);
    const { target, login: upstreamLogin } = await sessions.upstream(session);
    const upstream = await connectUpstream(target, { ...upstreamLogin, parameters: params }).catch((err: Error & { code?: string }) => {
      logger.warn({ err: { name: err.name, message: err.message, code: err.code }, sessionId: session.id }, 'upstream login failed');
      return undefined;
    });
    if (!upstream) return hello.refuse('08004', 'the database refused the session (it may have just expired or been revoked)');
    if (clientSocket.destroyed) {
      upstream.socket.destroy(); // the client gave up while we logged in
      return;
    }
    const transcript = createTranscriptChain({ streamId: session.workspaceId, sessionId: session.id });
    const c: LiveConnection = {
      session,
      socket: clientSocket,
      statements: 0,
      transcript,
      checkpoint: { seq: 0, at: Date.now() },
      ending: false,
      clientIp: ip,
    };
    try {
      // The connection itself is an access event: durable before anything is relayed.
      await audit.append({
        ...baseEvent(session, 'db.session.connect', 'success', c),
        metadata: {
          scope: session.scope,
          ticket: session.ticketRef,
          expiresAt: session.expiresAt.toISOString(),
          transcript: transcript.id,
        },
      });
    } catch {
      upstream.socket.destroy();
      return hello.refuse('58000', 'the audit log is unavailable; no session can be opened');
    }
    if (clientSocket.destroyed) {
      upstream.socket.destroy();
      return;
    }
    // This connection's statement records: one audit series (shared fields validated once), written as its transcript.
    const statementLog = audit.series(sharedFields(session, 'db.statement', c));
    const backendKey = upstream.backendKey;
    if (backendKey) cancelKeys.set(`${backendKey.processId}:${backendKey.secretKey}`, target);
    live.add(c);
    clientSocket.cork();
    clientSocket.write(authenticationOk());
    for (const f of upstream.startupFrames) clientSocket.write(f);
    clientSocket.write(upstream.ready);
    clientSocket.uncork();
    c.relay = new Relay({
      client: clientSocket,
      upstream: upstream.socket,
      holdLimitBytes: opts.holdLimitBytes,
      recordable: statementRecordable,
      maxStatementMessageBytes: MAX_RECORDABLE_STATEMENT_BYTES + 64 * 1024,
      recordStart: (st) => {
        const metadata = startMetadata(c, st, st.protocol === 'simple' ? 'query' : 'execute');
        // The masked text is kept: masking is the costly part, and the whole record may replace this one.
        const held = { link: transcript.next('success', metadata), masked: metadata.statement };
        c.lastStart = held;
        const durable = statementLog.append({ outcome: 'success', metadata, transcript: held.link });
        return { seq: held.link.seq, durable: durable.then(() => checkpointIfDue(c, held.link.seq, held.link.hash)) };
      },
      record: async (r) => {
        const counted = () => {
          c.statements++;
          pendingCounts.set(session.id, (pendingCounts.get(session.id) ?? 0) + 1);
        };
        if (r.start?.seq !== undefined) {
          // Ended before its start part left the gateway (it waited behind a commit in flight): that
          // record becomes the whole one, in the same place — one record instead of two.
          const held = c.lastStart;
          // Only while it still waits in the queue: otherwise the whole record would be computed for nothing.
          if (held?.link.seq === r.start.seq && statementLog.replace && (statementLog.waiting?.(held.link) ?? true)) {
            const whole = wholeEvent(c, r, held.masked);
            const replaced = transcript.amend(held.link, whole.outcome, whole.metadata, (link) =>
              statementLog.replace!(held.link, { outcome: whole.outcome, metadata: whole.metadata, transcript: link }),
            );
            if (replaced) {
              held.link = replaced;
              await r.start.durable;
              return counted();
            }
          }
        }
        const event = r.start?.seq !== undefined ? outcomeEvent(r, r.start.seq) : wholeEvent(c, r);
        // Linked (validated, numbered, hashed) in the order the relay hands records over.
        const link = transcript.next(event.outcome, event.metadata);
        // An outcome part gates no reply: it goes with the next commit (transcript-writer.ts).
        await statementLog.append({ outcome: event.outcome, metadata: event.metadata, transcript: link, lazy: r.start?.seq !== undefined });
        counted();
        checkpointIfDue(c, link.seq, link.hash);
      },
      recordStarted: (st) =>
        audit.append({
          ...baseEvent(session, 'db.statement.started', 'success', c),
          metadata: {
            ...auditStatementFields(st.text),
            protocol: st.protocol,
            note: 'large result: streamed after this record; the final record follows',
          },
        }),
      cancel: () => {
        if (backendKey) void cancelUpstream(target, backendKey).catch(() => undefined);
      },
      onUpstreamEnd: (fatal, fatalFrame) => void upstreamEnded(c, fatal, fatalFrame),
      onFinished: () => void closed(c, backendKey),
      onError: (err) => logger.warn({ err: { name: err.name, message: err.message }, sessionId: session.id }, 'relay error'),
    });
    clientSocket.resume();
    const ms = session.expiresAt.getTime() - Date.now();
    c.timer = setTimeout(() => void end(c, { status: 'expired', expiresAt: session.expiresAt, revokedByName: null }), Math.max(0, ms));
    c.timer.unref();
  }

  async function forwardCancel(processId: number, secretKey: number): Promise<void> {
    const target = cancelKeys.get(`${processId}:${secretKey}`);
    if (target) await cancelUpstream(target, { processId, secretKey }).catch(() => undefined);
  }

  /** Tells the client why its session ends, then closes both sides. */
  async function end(c: LiveConnection, status: SessionStatus | undefined): Promise<void> {
    if (c.ending || !c.relay) return;
    c.ending = true;
    const message = endMessage(status);
    await c.relay.terminate(
      errorMessage({ severity: 'FATAL', code: '57P01', message, hint: 'request a new session with `wact db connect`' }),
    );
  }

  async function upstreamEnded(c: LiveConnection, fatal: Record<string, string> | undefined, frame: Buffer | undefined): Promise<void> {
    if (c.ending || !c.relay) return;
    // The upstream went away: say why if it is the session ending (revocation
    // terminates the role's backends, which the client would see as a bare error).
    const status = (await sessions.statuses([c.session.id]).catch(() => new Map<string, SessionStatus>())).get(c.session.id);
    const expired = c.session.expiresAt.getTime() <= Date.now();
    if (status && (status.status !== 'active' || expired)) {
      await end(c, expired && status.status === 'active' ? { ...status, status: 'expired' } : status);
      return;
    }
    c.ending = true;
    await c.relay.terminate(
      frame ?? errorMessage({ severity: 'FATAL', code: fatal?.C ?? '08006', message: 'the database closed the connection' }),
    );
  }

  /**
   * Anchors a long transcript before its end (every CHECKPOINT_RECORDS records or CHECKPOINT_MS): a
   * `db.session.checkpoint` event with the seq and hash of a record already durable (records are stored
   * in seq order), so a gateway that dies leaves at most the records after it unproven.
   */
  function checkpointIfDue(c: LiveConnection, seq: number, hash: Buffer): void {
    if (seq <= c.checkpoint.seq) return; // a later record already anchored
    if (seq - c.checkpoint.seq < CHECKPOINT_RECORDS && Date.now() - c.checkpoint.at < CHECKPOINT_MS) return;
    c.checkpoint = { seq, at: Date.now() };
    void audit
      .append({
        ...baseEvent(c.session, 'db.session.checkpoint', 'success', c),
        metadata: { transcript: c.transcript.id, transcriptRecords: seq, transcriptHash: hash.toString('hex') },
      })
      .catch((err: Error) =>
        logger.warn({ err: { name: err.name, message: err.message }, sessionId: c.session.id }, 'could not anchor a transcript checkpoint'),
      );
  }

  /** After the relay has written every record it owed: the disconnect event comes last. */
  async function closed(c: LiveConnection, key?: { processId: number; secretKey: number }): Promise<void> {
    if (!live.delete(c)) return;
    if (c.timer) clearTimeout(c.timer);
    if (key) cancelKeys.delete(`${key.processId}:${key.secretKey}`);
    await audit
      .append({
        ...baseEvent(c.session, 'db.session.disconnect', 'success', c),
        // The anchor: the transcript's final seq and hash, chained into the workspace stream.
        metadata: {
          statements: c.statements,
          scope: c.session.scope,
          transcript: c.transcript.id,
          transcriptRecords: c.transcript.count,
          transcriptHash: c.transcript.hash,
        },
      })
      .catch((err: Error) =>
        logger.error({ err: { name: err.name, message: err.message }, sessionId: c.session.id }, 'could not audit disconnect'),
      );
  }

  async function flushCounts(): Promise<void> {
    if (!pendingCounts.size) return;
    const counts = new Map(pendingCounts);
    pendingCounts.clear();
    await sessions.addStatements(counts).catch((err: Error) => {
      for (const [id, n] of counts) pendingCounts.set(id, (pendingCounts.get(id) ?? 0) + n);
      logger.warn({ err: { name: err.name, message: err.message } }, 'could not update statement counts');
    });
  }

  /** Revocation seen by polling: each tick checks the sessions that have live connections. */
  async function watch(): Promise<void> {
    if (!live.size) return;
    const ids = [...new Set([...live].map((c) => c.session.id))];
    const statuses = await sessions.statuses(ids);
    for (const c of live) {
      const st = statuses.get(c.session.id);
      if (!st || st.status !== 'active' || (st.expiresAt && st.expiresAt.getTime() <= Date.now())) void end(c, st);
    }
  }

  let watchTimer: NodeJS.Timeout | undefined;
  let watching = false;
  function startTimers(): void {
    watchTimer = setInterval(() => {
      if (watching) return;
      watching = true;
      Promise.all([watch(), flushCounts()])
        .catch((err: Error) => logger.warn({ err: { name: err.name, message: err.message } }, 'session watch failed'))
        .finally(() => (watching = false));
    }, opts.watchIntervalMs ?? 500);
    watchTimer.unref();
  }

  return {
    server,
    async listen(port: number, host: string): Promise<{ port: number; host: string }> {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      startTimers();
      const addr = server.address() as net.AddressInfo;
      return { port: addr.port, host };
    },
    /**
     * A session ended somewhere (the database announced it): re-read its
     * status, so a notification can only end a session that really ended,
     * and close its connections here at once.
     */
    async sessionEnded(sessionId: string): Promise<void> {
      const mine = [...live].filter((c) => c.session.id === sessionId);
      if (!mine.length) return;
      const status = (await sessions.statuses([sessionId])).get(sessionId);
      const over = !status || status.status !== 'active' || (status.expiresAt && status.expiresAt.getTime() <= Date.now());
      if (over) await Promise.all(mine.map((c) => end(c, status)));
    },
    /** Re-reads every live session now (after a gap in notifications). */
    recheck: () => watch(),
    liveSessions(): string[] {
      return [...live].map((c) => c.session.id);
    },
    async close(): Promise<void> {
      if (watchTimer) clearInterval(watchTimer);
      await Promise.all(
        [...live].map((c) =>
          c.relay?.terminate(errorMessage({ severity: 'FATAL', code: '57P01', message: 'the gateway is shutting down' }), 200),
        ),
      );
      await flushCounts();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type Gateway = ReturnType<typeof createGateway>;
