import crypto from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { serialize } from 'pg-protocol';
import type { DatabaseTarget } from '../../shared/db/database-target.ts';
import { createScramClient, SCRAM_MECHANISM } from '../../shared/crypto/scram.ts';
import { decodeLogin, Framer } from './wire.ts';

/**
 * The gateway's PostgreSQL client side: opens the upstream connection as the
 * session role and logs in (trust, cleartext — also how an RDS IAM token is
 * presented —, MD5 or SCRAM-SHA-256), then hands the socket to the relay
 * together with the server's ParameterStatus / BackendKeyData / ReadyForQuery
 * frames, which the client must see as they are.
 */

/** Where the upstream server is (a regional database, from its URL). */
export type UpstreamTarget = DatabaseTarget;

export interface UpstreamLogin {
  user: string;
  /** The session role's secret: a password, or a freshly signed RDS IAM token. */
  password: () => Promise<string>;
  /** Startup parameters passed through (application_name, client_encoding, …). */
  parameters?: Record<string, string>;
  timeoutMs?: number;
}

export interface UpstreamConnection {
  socket: net.Socket;
  /** ParameterStatus, BackendKeyData and NoticeResponse frames of the login, in order. */
  startupFrames: Buffer[];
  /** The first ReadyForQuery frame. */
  ready: Buffer;
  backendKey?: { processId: number; secretKey: number };
}

/** Login refused or failed upstream; `code` is the server's SQLSTATE when it sent one. */
export class UpstreamError extends Error {
  readonly code?: string;
  constructor(message: string, code?: string) {
    super(message);
    this.name = 'UpstreamError';
    this.code = code;
  }
}

function once<T>(
  socket: net.Socket,
  timeoutMs: number,
  onData: (chunk: Buffer, done: (v: T) => void, fail: (e: Error) => void) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => finish(new UpstreamError('upstream login timed out')), timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      socket.off('data', data);
      socket.off('error', finish);
      socket.off('close', closed);
    };
    const finish = (err: Error) => {
      cleanup();
      reject(err instanceof UpstreamError ? err : new UpstreamError(`upstream connection failed: ${err.message}`));
    };
    const closed = () => finish(new UpstreamError('upstream closed the connection during login'));
    const data = (chunk: Buffer) => {
      try {
        onData(
          chunk,
          (v) => {
            cleanup();
            resolve(v);
          },
          finish,
        );
      } catch (err) {
        finish(err as Error);
      }
    };
    socket.on('data', data);
    socket.once('error', finish);
    socket.once('close', closed);
  });
}

async function openSocket(target: UpstreamTarget, timeoutMs: number): Promise<net.Socket> {
  const raw = net.connect({ host: target.host, port: target.port });
  raw.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      raw.destroy();
      reject(new UpstreamError('upstream connection timed out'));
    }, timeoutMs);
    raw.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
    raw.once('error', (err) => {
      clearTimeout(timer);
      reject(new UpstreamError(`upstream connection failed: ${err.message}`));
    });
  });
  if (!target.ssl) return raw;
  raw.write(serialize.requestSsl());
  const answer = await once<string>(raw, timeoutMs, (chunk, done) => done(chunk.toString('latin1', 0, 1)));
  if (answer !== 'S') {
    raw.destroy();
    throw new UpstreamError('upstream server refused TLS');
  }
  raw.pause(); // the one-byte answer was read in flowing mode: hand TLS a paused socket
  const secure = tls.connect({ ...target.ssl, socket: raw });
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', resolve);
    secure.once('error', (err) => reject(new UpstreamError(`upstream TLS failed: ${err.message}`)));
  });
  secure.setNoDelay(true);
  return secure;
}

function md5Password(user: string, password: string, salt: Buffer): string {
  const inner = crypto
    .createHash('md5')
    .update(password + user)
    .digest('hex');
  return (
    'md5' +
    crypto
      .createHash('md5')
      .update(Buffer.concat([Buffer.from(inner), salt]))
      .digest('hex')
  );
}

/** Opens and authenticates one upstream connection. */
export async function connectUpstream(target: UpstreamTarget, login: UpstreamLogin): Promise<UpstreamConnection> {
  const timeoutMs = login.timeoutMs ?? 10_000;
  const socket = await openSocket(target, timeoutMs);
  try {
    socket.write(serialize.startup({ ...(login.parameters ?? {}), user: login.user, database: target.database }));
    const framer = new Framer();
    const startupFrames: Buffer[] = [];
    let scram: ReturnType<typeof createScramClient> | undefined;
    let backendKey: UpstreamConnection['backendKey'];
    let busy = Promise.resolve(); // password providers are async: keep frame order
    const ready = await once<Buffer>(socket, timeoutMs, (chunk, done, fail) => {
      for (const frame of framer.push(chunk)) {
        const type = String.fromCharCode(frame[0]);
        if (type === 'S' || type === 'N') {
          startupFrames.push(frame);
          continue;
        }
        if (type === 'Z') {
          busy.then(() => done(frame), fail);
          return;
        }
        const msg = decodeLogin(frame);
        switch (msg.name) {
          case 'authenticationOk':
            break;
          case 'backendKeyData':
            backendKey = { processId: msg.processID, secretKey: msg.secretKey };
            startupFrames.push(frame);
            break;
          case 'authenticationCleartextPassword':
            busy = busy.then(async () => void socket.write(serialize.password(await login.password())));
            busy.catch(fail);
            break;
          case 'authenticationMD5Password':
            busy = busy.then(async () => void socket.write(serialize.password(md5Password(login.user, await login.password(), msg.salt))));
            busy.catch(fail);
            break;
          case 'authenticationSASL': {
            if (!msg.mechanisms.includes(SCRAM_MECHANISM)) {
              fail(new UpstreamError(`upstream offers no supported SASL mechanism (${msg.mechanisms.join(', ')})`));
              return;
            }
            busy = busy.then(async () => {
              scram = createScramClient(await login.password());
              socket.write(serialize.sendSASLInitialResponseMessage(SCRAM_MECHANISM, scram.start()));
            });
            busy.catch(fail);
            break;
          }
          case 'authenticationSASLContinue':
            busy = busy.then(() => {
              if (!scram) throw new UpstreamError('SCRAM continue without start');
              socket.write(serialize.sendSCRAMClientFinalMessage(scram.respond(msg.data)));
            });
            busy.catch(fail);
            break;
          case 'authenticationSASLFinal':
            busy = busy.then(() => {
              if (!scram) throw new UpstreamError('SCRAM final without start');
              scram.verify(msg.data);
            });
            busy.catch(fail);
            break;
          case 'error':
            fail(new UpstreamError(msg.message, msg.code));
            return;
          case 'other':
            fail(new UpstreamError(`unexpected upstream message during login: ${msg.type}`));
            return;
        }
      }
    });
    if (framer.buffered) throw new UpstreamError('unexpected upstream bytes after login');
    return { socket, startupFrames, ready, backendKey };
  } catch (err) {
    socket.destroy();
    throw err;
  }
}

/** Forwards a client's CancelRequest to the upstream server (plain, as PostgreSQL expects). */
export async function cancelUpstream(target: UpstreamTarget, key: { processId: number; secretKey: number }): Promise<void> {
  const socket = net.connect({ host: target.host, port: target.port });
  await new Promise<void>((resolve) => {
    socket.once('connect', () => socket.end(serialize.cancel(key.processId, key.secretKey), () => resolve()));
    socket.once('error', () => resolve());
  });
  socket.destroy();
}
