import net from 'node:net';
import tls from 'node:tls';
import { serialize } from 'pg-protocol';

/**
 * A PostgreSQL client at the level of protocol messages, for tests that must
 * control exactly what is sent (pipelines, Syncs in odd places, COPY, abrupt
 * disconnects) and see exactly what comes back and when. It frames backend
 * messages itself (independently of the gateway's code) and stamps each with
 * its arrival time.
 */

export interface Received {
  type: string;
  body: Buffer;
  at: number;
}

export interface RawClient {
  socket: tls.TLSSocket;
  received: Received[];
  send(...messages: Buffer[]): void;
  /** Resolves when a message satisfying `pred` has arrived (searching from index `from`). */
  waitFor(pred: (m: Received) => boolean, timeoutMs?: number, from?: number): Promise<Received>;
  /** Resolves when the connection has closed. */
  closed: Promise<void>;
  destroy(): void;
}

export { serialize };

export function fieldsOf(m: Received): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < m.body.length && m.body[at] !== 0) {
    const code = String.fromCharCode(m.body[at]);
    const end = m.body.indexOf(0, at + 1);
    out[code] = m.body.toString('utf8', at + 1, end);
    at = end + 1;
  }
  return out;
}

/** Connects through TLS, logs in with session id + token, and waits for the first ReadyForQuery. */
export async function rawConnect(port: number, ca: string, user: string, password: string): Promise<RawClient> {
  const plain = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    plain.once('connect', resolve);
    plain.once('error', reject);
  });
  plain.write(serialize.requestSsl());
  const answer = await new Promise<Buffer>((resolve) => plain.once('data', resolve));
  if (answer.toString('latin1') !== 'S') throw new Error('gateway refused TLS');
  const socket = tls.connect({ socket: plain, ca, servername: 'localhost' });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  socket.setNoDelay(true);
  const received: Received[] = [];
  const waiters = new Set<() => void>();
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    const at = performance.now();
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 5) {
      const len = pending.readUInt32BE(1);
      if (pending.length < len + 1) break;
      received.push({ type: String.fromCharCode(pending[0]), body: pending.subarray(5, len + 1), at });
      pending = pending.subarray(len + 1);
    }
    for (const w of waiters) w();
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  closed.then(() => waiters.forEach((w) => w()));
  let isClosed = false;
  void closed.then(() => (isClosed = true));
  const client: RawClient = {
    socket,
    received,
    closed,
    send: (...messages) => socket.write(messages.length === 1 ? messages[0] : Buffer.concat(messages)),
    waitFor(pred, timeoutMs = 10_000, from = 0) {
      return new Promise<Received>((resolve, reject) => {
        const check = () => {
          const hit = received.slice(from).find(pred);
          if (hit) {
            done();
            resolve(hit);
          } else if (isClosed) {
            done();
            reject(new Error(`connection closed; received ${received.map((m) => m.type).join('')}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          const errors = received.filter((m) => m.type === 'E').map((m) => `${fieldsOf(m).C} ${fieldsOf(m).M}`);
          reject(new Error(`timed out; received ${received.map((m) => m.type).join('')} ${errors.join('; ')}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    destroy: () => socket.destroy(),
  };
  socket.write(serialize.startup({ user, database: 'wact', application_name: 'raw-test' }));
  const auth = await client.waitFor((m) => m.type === 'R' || m.type === 'E');
  if (auth.type === 'E') throw new Error(`login refused: ${fieldsOf(auth).M}`);
  socket.write(serialize.password(password));
  const ready = await client.waitFor((m) => m.type === 'Z' || m.type === 'E');
  if (ready.type === 'E') throw new Error(`login refused: ${fieldsOf(ready).M}`);
  received.length = 0;
  return client;
}
