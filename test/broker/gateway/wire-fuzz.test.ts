import fc from 'fast-check';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fullSession, startHarness, type Harness } from './harness.ts';
import { fieldsOf, rawConnect, serialize } from './raw-client.ts';

/**
 * Bad input on the wire, before and after login: the answer is a FATAL (or
 * ERROR) with a SQLSTATE, or a closed connection — never a crash of the
 * gateway process, never a hang, and other sessions keep working.
 */

const frame = (type: string, body: Buffer, declared = body.length + 4) => {
  const out = Buffer.alloc(5 + body.length);
  out.write(type, 0, 'latin1');
  out.writeInt32BE(declared, 1);
  body.copy(out, 5);
  return out;
};

/** Frontend messages after login: well-formed types with broken bodies, unknown types, lying lengths. */
const hostileMessage = fc.oneof(
  fc
    .record({
      type: fc.constantFrom('P', 'B', 'D', 'E', 'C', 'Q', 'F', 'p', 'v', 'x', '\u0000', 'S', 'H'),
      body: fc.uint8Array({ maxLength: 64 }),
    })
    .map(({ type, body }) => frame(type, Buffer.from(body))),
  fc
    .record({ type: fc.constantFrom('P', 'Q', 'B'), declared: fc.integer({ min: -8, max: 3 }) })
    .map(({ type, declared }) => frame(type, Buffer.alloc(0), declared)),
  // A Bind whose format and parameter counts point past its end.
  fc.integer({ min: -32768, max: 32767 }).map((n) => {
    const body = Buffer.alloc(4);
    body.writeInt16BE(n, 0);
    body.writeInt16BE(n, 2);
    return frame('B', Buffer.concat([Buffer.from('\0\0'), body]));
  }),
  // FunctionCall: refused, as the server's fast-path would bypass statement text.
  fc.constant(frame('F', Buffer.from([0, 0, 0, 1, 0, 0, 0, 0, 0, 0]))),
);

describe('gateway: hostile bytes on the wire', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ loginTimeoutMs: 3000 });
  });
  afterAll(async () => h?.close());

  it('after login: every broken message ends only its own connection, with a SQLSTATE; other sessions keep working', async () => {
    const { connection } = await fullSession(h, 'Wire fuzz check FUZZ-1');
    const bystander = await h.client(connection.user, connection.password);
    await fc.assert(
      fc.asyncProperty(fc.array(hostileMessage, { minLength: 1, maxLength: 3 }), async (messages) => {
        const c = await rawConnect(h.port, h.ca, connection.user, connection.password);
        c.send(Buffer.concat([serialize.query('SELECT 1'), ...messages]));
        const closed = await Promise.race([c.closed.then(() => true), new Promise((r) => setTimeout(() => r(false), 4000))]);
        if (!closed) {
          // Some garbage is legal (e.g. a Sync): the connection must still answer.
          c.send(serialize.sync(), serialize.query('SELECT 2'));
          await c.waitFor((m) => m.type === 'Z' || m.type === 'E', 4000).catch(() => undefined);
          c.destroy();
        } else {
          const errors = c.received.filter((m) => m.type === 'E');
          if (errors.length) expect(fieldsOf(errors.at(-1)!).C).toMatch(/^[0-9A-Z]{5}$/);
        }
        expect((await bystander.query('SELECT 1 AS ok')).rows[0].ok).toBe(1);
      }),
      { numRuns: 40 },
    );
    await bystander.end();
  }, 240_000);

  it('the function-call protocol is refused with 0A000 before it reaches the server', async () => {
    const { connection } = await fullSession(h, 'Function call check FUZZ-2');
    const c = await rawConnect(h.port, h.ca, connection.user, connection.password);
    c.send(frame('F', Buffer.from([0, 0, 0x0a, 0x75, 0, 0, 0, 0, 0, 0])));
    await c.closed;
    expect(fieldsOf(c.received.find((m) => m.type === 'E')!)).toMatchObject({ S: 'FATAL', C: '0A000' });
  });

  it('before login: random bytes get a FATAL or a close, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), async (bytes) => {
        const s = net.connect(h.port, '127.0.0.1');
        s.on('error', () => undefined);
        await new Promise((r) => s.once('connect', r));
        // Half-close after the bytes: an incomplete packet meets the end of input, not the login timer.
        s.resume(); // read (and drop) the answer, so the close is seen
        s.end(Buffer.from(bytes));
        await new Promise<void>((resolve) => {
          s.once('close', () => resolve());
          setTimeout(() => {
            s.destroy();
            resolve();
          }, 3500);
        });
      }),
      { numRuns: 30 },
    );
    // Still serving.
    const { connection } = await fullSession(h, 'After fuzz check FUZZ-3');
    const c = await h.client(connection.user, connection.password);
    expect((await c.query('SELECT 3 AS n')).rows[0].n).toBe(3);
    await c.end();
  }, 240_000);
});
