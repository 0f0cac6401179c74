/**
 * Backend (server → client) protocol frames built by hand, independently of
 * the gateway's framing code, for tests that play the server.
 */

export function backend(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

const cstr = (s: string) => Buffer.from(`${s}\0`);

export const be = {
  parseComplete: () => backend('1'),
  bindComplete: () => backend('2'),
  rowDescription: () => backend('T', Buffer.from([0, 0])),
  dataRow: () => backend('D', Buffer.from([0, 0])),
  complete: (tag: string) => backend('C', cstr(tag)),
  empty: () => backend('I'),
  error: (code: string) => backend('E', Buffer.concat([cstr('SERROR'), cstr(`C${code}`), cstr('Mboom'), Buffer.from([0])])),
  ready: () => backend('Z', Buffer.from('I')),
};
