import crypto from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createScramClient, scramVerifier } from '../../../shared/crypto/scram.ts';

describe('SCRAM-SHA-256 client', () => {
  it('matches the RFC 7677 test vector', () => {
    const c = createScramClient('pencil', 'rOprNGfwEbeRWgbNEkqO', 'user');
    expect(c.start()).toBe('n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
    const final = c.respond('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096');
    expect(final).toBe('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=');
    expect(() => c.verify('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')).not.toThrow();
  });

  it('refuses a server that does not know the password, a nonce it did not extend, and server errors', () => {
    const c = createScramClient('pencil', 'rOprNGfwEbeRWgbNEkqO', 'user');
    c.respond('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096');
    expect(() => c.verify('v=' + crypto.randomBytes(32).toString('base64'))).toThrow(/signature does not match/);
    expect(() => c.verify('e=invalid-proof')).toThrow(/authentication failed/);
    expect(() => createScramClient('x', 'abc').respond('r=zzz,s=AAAA,i=4096')).toThrow(/nonce/);
    expect(() => createScramClient('x', 'abc').respond('r=abc,s=AAAA,i=4096')).toThrow(/nonce/); // not extended at all
    expect(() => createScramClient('x', 'abc').respond('r=abcd,s=AAAA,i=0')).toThrow(/iteration/);
  });

  it('the verifier the broker sends is what a SCRAM server derives: client and verifier agree for any password (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }).filter((s) => /^[\x21-\x7e]+$/.test(s)),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        (password, saltBytes) => {
          const salt = Buffer.from(saltBytes);
          const verifier = scramVerifier(password, { iterations: 64, salt });
          const [, rest] = verifier.split('$', 2);
          const [storedB64, serverB64] = verifier.split('$')[2].split(':');
          expect(rest.startsWith('64:')).toBe(true);
          // Play the server with the stored keys only.
          const c = createScramClient(password, 'clientnonce');
          const serverFirst = `r=clientnonceSERVER,s=${salt.toString('base64')},i=64`;
          const final = c.respond(serverFirst);
          const proof = Buffer.from(/,p=(.+)$/.exec(final)![1], 'base64');
          const auth = `n=,r=clientnonce,${serverFirst},${final.replace(/,p=.+$/, '')}`;
          const clientSig = crypto.createHmac('sha256', Buffer.from(storedB64, 'base64')).update(auth).digest();
          const clientKey = Buffer.from(proof.map((b, i) => b ^ clientSig[i]));
          expect(crypto.createHash('sha256').update(clientKey).digest().toString('base64')).toBe(storedB64);
          c.verify(`v=${crypto.createHmac('sha256', Buffer.from(serverB64, 'base64')).update(auth).digest().toString('base64')}`);
        },
      ),
      { numRuns: 40 },
    );
  });
});
