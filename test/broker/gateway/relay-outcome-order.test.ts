import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Relay } from '../../../broker/gateway/relay.ts';
import type { StatementResult } from '../../../broker/gateway/statement-tracker.ts';
import { be } from './backend-frames.ts';
import { serialize } from './raw-client.ts';

/**
 * When a statement's outcome part is linked and written, relative to its
 * reply (issue 17). A statement that runs longer than its start record's
 * commit has nothing left to wait for when it ends: its reply leaves first and
 * the outcome part follows that write — still before any other record, so a
 * transcript keeps its order. One that ends while its start record is not yet
 * durable gets its outcome part at once (it may still replace the start part).
 * The relay runs between loopback sockets here; the test plays client and
 * server and logs, in order, each record call and each write to the client.
 */

async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const near = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const far = await accepted;
  server.close();
  return [near, far];
}

function until(check: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const poll = () => (check() ? resolve() : Date.now() - t0 > 5000 ? reject(new Error(`timed out: ${what}`)) : setTimeout(poll, 2));
    poll();
  });
}

const settle = () => new Promise((r) => setImmediate(r));
const open: net.Socket[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.destroy();
});

/** A relay between a scripted client and a scripted server; `durable(text)` decides when each start record commits. */
async function relayed(opts: { durable: (text: string) => Promise<void>; outcome?: (r: StatementResult) => Promise<void> }) {
  const [client, gwClient] = await socketPair();
  const [gwUpstream, server] = await socketPair();
  open.push(client, gwClient, gwUpstream, server);
  const log: string[] = [];
  const toClient: Buffer[] = [];
  const toServer: Buffer[] = [];
  client.on('data', (b: Buffer) => toClient.push(b));
  server.on('data', (b: Buffer) => toServer.push(b));
  const write = gwClient.write.bind(gwClient) as (chunk: Buffer) => boolean;
  gwClient.write = ((chunk: Buffer) => {
    log.push('write');
    return write(chunk);
  }) as typeof gwClient.write;
  let seq = 0;
  new Relay({
    client: gwClient,
    upstream: gwUpstream,
    recordStart: (st) => {
      log.push(`start ${st.text}`);
      return { seq: ++seq, durable: opts.durable(st.text) };
    },
    record: (r) => {
      log.push(`${r.start ? 'outcome' : 'whole'} ${r.text}`);
      return r.start && opts.outcome ? opts.outcome(r) : Promise.resolve();
    },
    recordStarted: () => Promise.resolve(),
    onUpstreamEnd: () => undefined,
    onFinished: () => undefined,
    onError: () => undefined,
  });
  const received = () => Buffer.concat(toClient);
  return { client, server, log, received, toServer };
}

const readyFor = (bytes: Buffer, n: number) => bytes.toString('latin1').split('Z\0\0\0\x05I').length - 1 >= n;

describe('relay: a statement’s outcome part and its reply', () => {
  it('start record durable before the statement ends: the reply is written first, then the outcome part', async () => {
    const t = await relayed({ durable: () => Promise.resolve() });
    t.client.write(serialize.query('SELECT pg_sleep(1)'));
    await until(() => t.toServer.length > 0, 'the Query reaches the server');
    await settle(); // the start record's commit has resolved
    t.server.write(Buffer.concat([be.rowDescription(), be.dataRow(), be.complete('SELECT 1'), be.ready()]));
    await until(() => readyFor(t.received(), 1), 'the reply');
    await settle();
    expect(t.log).toEqual(['start SELECT pg_sleep(1)', 'write', 'outcome SELECT pg_sleep(1)']);
  });

  it('start record not yet durable when the statement ends: the outcome part first (it may replace the start), the reply after the commit', async () => {
    let commit!: () => void;
    const t = await relayed({ durable: () => new Promise<void>((r) => (commit = r)) });
    t.client.write(serialize.query('SELECT 1'));
    await until(() => t.toServer.length > 0, 'the Query reaches the server');
    t.server.write(Buffer.concat([be.complete('SELECT 1'), be.ready()]));
    await until(() => t.log.length === 2, 'the outcome part');
    await new Promise((r) => setTimeout(r, 50));
    expect(t.received().length).toBe(0); // nothing before its start record is durable
    commit();
    await until(() => readyFor(t.received(), 1), 'the reply');
    expect(t.log).toEqual(['start SELECT 1', 'outcome SELECT 1', 'write']);
  });

  it('records keep their order: a deferred outcome part goes before any record that follows it', async () => {
    const t = await relayed({ durable: () => Promise.resolve() });
    // Pipelined, both answered in one read. The second Query starts at the first one's ReadyForQuery, before
    // the first one's end is handled (as without deferral); the first one's outcome part is deferred there, and
    // must still be written before the second one's, which is not deferred (its start is not known durable yet).
    t.client.write(Buffer.concat([serialize.query('SELECT 1'), serialize.query('SELECT 2')]));
    await until(() => Buffer.concat(t.toServer).length >= 2 * serialize.query('SELECT 1').length, 'both Queries');
    await settle();
    t.server.write(Buffer.concat([be.complete('SELECT 1'), be.ready(), be.complete('SELECT 1'), be.ready()]));
    await until(() => readyFor(t.received(), 2), 'both replies');
    await settle();
    expect(t.log.filter((l) => l !== 'write')).toEqual(['start SELECT 1', 'start SELECT 2', 'outcome SELECT 1', 'outcome SELECT 2']);
  });

  it('a deferred outcome part that cannot be written ends the connection (fail closed)', async () => {
    const t = await relayed({ durable: () => Promise.resolve(), outcome: () => Promise.reject(new Error('audit down')) });
    const closed = new Promise((r) => t.client.once('close', r));
    t.client.write(serialize.query('SELECT pg_sleep(1)'));
    await until(() => t.toServer.length > 0, 'the Query reaches the server');
    await settle();
    t.server.write(Buffer.concat([be.complete('SELECT 1'), be.ready()]));
    await closed;
    const text = t.received().toString('latin1');
    expect(text).toContain('SFATAL');
    expect(text).toContain('C58000');
    expect(t.log).toEqual(['start SELECT pg_sleep(1)', 'write', 'outcome SELECT pg_sleep(1)']); // the FATAL goes with end()
  });
});
