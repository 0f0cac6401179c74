import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { KeyContext } from '../../../shared/crypto/key-provider-types.ts';
import { createLocalKeyProvider, kekPath } from '../../../shared/crypto/local-key-provider.ts';
import { CryptoError } from '../../../shared/errors/errors.ts';

const homes: string[] = [];
function tempHome(): string {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-kek-'));
  homes.push(home);
  return home;
}
afterEach(() => {
  for (const h of homes.splice(0)) fs.rmSync(h, { recursive: true, force: true });
});

const ctx: KeyContext = { workspaceId: '0b7e8e3a-1111-4222-8333-444455556666', purpose: 'dek', region: 'eu' };
const ctxArb = fc.record({
  workspaceId: fc.uuid(),
  purpose: fc.constantFrom('dek', 'hmac', 'audit-signing', 'credential'),
  region: fc.constant('eu' as const),
});

async function rejectsCrypto(p: Promise<unknown>, code?: string): Promise<CryptoError> {
  const err = await p.then(
    () => {
      throw new Error('expected a CryptoError');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CryptoError);
  if (code) expect((err as CryptoError).code).toBe(code);
  return err as CryptoError;
}

describe('local key provider', () => {
  it('creates the KEK file on first use: folder 0700, file 0600, header + base64', async () => {
    const home = tempHome();
    const provider = createLocalKeyProvider({ home, region: 'eu' });
    const { plaintext, wrapped, kekId } = await provider.generateDataKey(ctx);
    expect(plaintext.length).toBe(32);
    expect(wrapped.length).toBe(1 + 12 + 16 + 32);
    expect(kekId).toMatch(/^local:eu:[0-9a-f]{16}$/);
    const file = kekPath(home, 'eu');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    const [header, body, end] = fs.readFileSync(file, 'utf8').split('\n');
    expect(header).toBe('wact-kek v1 aes-256-gcm');
    expect(Buffer.from(body, 'base64').length).toBe(32);
    expect(end).toBe('');
    expect(fs.readdirSync(path.dirname(file))).toEqual(['kek-eu.key']); // no temp files left
  });

  it('agrees on one KEK when many providers start at once', async () => {
    const home = tempHome();
    const providers = Array.from({ length: 8 }, () => createLocalKeyProvider({ home, region: 'eu' }));
    const made = await Promise.all(providers.map((p) => p.generateDataKey(ctx)));
    expect(new Set(made.map((m) => m.kekId)).size).toBe(1);
    for (const m of made) for (const p of providers) expect((await p.unwrap(m.wrapped, ctx)).equals(m.plaintext)).toBe(true);
  });

  it('round-trips any key under any context (property)', async () => {
    const provider = createLocalKeyProvider({ home: tempHome(), region: 'eu' });
    await fc.assert(
      fc.asyncProperty(ctxArb, fc.uint8Array({ minLength: 1, maxLength: 64 }), async (c, bytes) => {
        const { wrapped } = await provider.wrap(Buffer.from(bytes), c);
        expect((await provider.unwrap(wrapped, c)).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('fails closed on any flipped byte, any truncation, any other context', async () => {
    const provider = createLocalKeyProvider({ home: tempHome(), region: 'eu' });
    await fc.assert(
      fc.asyncProperty(ctxArb, ctxArb, fc.nat(), fc.integer({ min: 1, max: 255 }), fc.nat(), async (c, other, at, mask, cut) => {
        const { wrapped } = await provider.generateDataKey(c);
        const flipped = Buffer.from(wrapped);
        flipped[at % flipped.length] ^= mask;
        await rejectsCrypto(provider.unwrap(flipped, c));
        await rejectsCrypto(provider.unwrap(wrapped.subarray(0, cut % wrapped.length), c));
        if (other.workspaceId !== c.workspaceId || other.purpose !== c.purpose)
          await rejectsCrypto(provider.unwrap(wrapped, other), 'unwrap_failed');
      }),
      { numRuns: 150 },
    );
  });

  it('refuses a context of the other region', async () => {
    const provider = createLocalKeyProvider({ home: tempHome(), region: 'eu' });
    const { wrapped } = await provider.generateDataKey(ctx);
    await rejectsCrypto(provider.unwrap(wrapped, { ...ctx, region: 'us' }), 'region_mismatch');
  });

  it('fails closed with a wrong KEK file (never returns wrong plaintext)', async () => {
    const home = tempHome();
    const { wrapped } = await createLocalKeyProvider({ home, region: 'eu' }).generateDataKey(ctx);
    fs.writeFileSync(kekPath(home, 'eu'), `wact-kek v1 aes-256-gcm\n${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    await rejectsCrypto(createLocalKeyProvider({ home, region: 'eu' }).unwrap(wrapped, ctx), 'unwrap_failed');
  });

  it.each([
    ['empty', ''],
    ['no header', `${randomBytes(32).toString('base64')}\n`],
    ['wrong header', `wact-kek v2 aes-256-gcm\n${randomBytes(32).toString('base64')}\n`],
    ['short key', `wact-kek v1 aes-256-gcm\n${randomBytes(16).toString('base64')}\n`],
    ['long key', `wact-kek v1 aes-256-gcm\n${randomBytes(33).toString('base64')}\n`],
    ['not base64', `wact-kek v1 aes-256-gcm\n${'!'.repeat(44)}\n`],
    ['trailing garbage', `wact-kek v1 aes-256-gcm\n${randomBytes(32).toString('base64')}\nmore\n`],
    ['no final newline', `wact-kek v1 aes-256-gcm\n${randomBytes(32).toString('base64')}`],
  ])('refuses a malformed key file (%s) and does not overwrite it', async (_name, content) => {
    const home = tempHome();
    const file = kekPath(home, 'eu');
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, content, { mode: 0o600 });
    const err = await rejectsCrypto(createLocalKeyProvider({ home, region: 'eu' }).generateDataKey(ctx), 'kek_file_malformed');
    expect(err.message).not.toContain(content.split('\n')[1] || '@@');
    expect(fs.readFileSync(file, 'utf8')).toBe(content);
  });

  it('refuses a key file other users can read', async () => {
    const home = tempHome();
    await createLocalKeyProvider({ home, region: 'eu' }).generateDataKey(ctx);
    fs.chmodSync(kekPath(home, 'eu'), 0o644);
    await rejectsCrypto(createLocalKeyProvider({ home, region: 'eu' }).generateDataKey(ctx), 'kek_file_permissions');
  });

  it('never shows key material in errors', async () => {
    const home = tempHome();
    const provider = createLocalKeyProvider({ home, region: 'eu' });
    const { wrapped, plaintext } = await provider.generateDataKey(ctx);
    const kek = fs.readFileSync(kekPath(home, 'eu'), 'utf8').split('\n')[1];
    const err = await rejectsCrypto(provider.unwrap(wrapped, { ...ctx, purpose: 'hmac' }));
    const text = `${err.message} ${String(err)} ${JSON.stringify(err)}`;
    for (const secret of [kek, plaintext.toString('base64'), plaintext.toString('hex'), wrapped.toString('hex')])
      expect(text).not.toContain(secret);
  });
});
