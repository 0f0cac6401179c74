import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFieldCrypto } from '../../shared/crypto/field-cipher.ts';
import { normalisePhone } from '../../shared/phone/phone.ts';
import { createRng, isFictionalPhone, syntheticConversation } from '../../shared/synthetic/synthetic-generator.ts';
import { seedSynthetic } from '../../shared/synthetic/synthetic-seeder.ts';
import { freshDatabases } from '../support/db.ts';
import { currentWalLsn, walWrittenSince } from '../support/server-files.ts';
import { lifecyclePlatforms, newWorkspace } from './lifecycle-support.ts';

const N = 100_000;
const SEED = 424242;

/** Splits text into word tokens; a plaintext identifier stored anywhere shows up as one of them. */
const tokens = (text: string) => text.match(/[A-Za-z0-9_-]{8,}/g) ?? [];

describe('synthetic seeding', () => {
  let ctx: Awaited<ReturnType<typeof lifecyclePlatforms>>;
  let own: Awaited<ReturnType<typeof freshDatabases>>;
  // Databases of its own: 100,000 conversations would slow every other test that scans the shared ones.
  beforeAll(async () => {
    own = await freshDatabases();
    ctx = await lifecyclePlatforms(own.urls); // migrates them
  }, 120_000);
  afterAll(async () => {
    await ctx?.close();
    await own?.drop();
  });

  it('generates only fictional numbers, plausible click ids, UTM mixes and funnels', () => {
    const rng = createRng(1);
    const from = new Date(Date.now() - 30 * 86_400_000);
    const convs = Array.from({ length: 2000 }, () => syntheticConversation(rng, from, 29 * 86_400_000));
    for (const c of convs) if (c.sender.kind === 'phone') expect(isFictionalPhone(normalisePhone(c.sender.e164))).toBe(true);
    const kinds = new Set(convs.map((c) => c.click?.kind).filter(Boolean));
    expect(kinds).toEqual(new Set(['fbclid', 'ctwa_clid', 'gclid', 'msclkid', 'ttclid', 'li_fat_id']));
    expect(convs.filter((c) => c.click?.kind === 'ttclid').every((c) => c.click!.clickId.startsWith('E.C.P.'))).toBe(true);
    const purchases = convs.filter((c) => c.conversions.some((v) => v.event === 'Purchase'));
    // A funnel: every purchase went through the earlier steps, later in time.
    for (const c of purchases) {
      expect(c.conversions.map((v) => v.event)).toEqual(['Lead', 'AddToCart', 'Purchase']);
      expect(c.conversions[2].occurredAt.getTime()).toBeGreaterThan(c.conversions[0].occurredAt.getTime());
    }
    expect(purchases.length).toBeGreaterThan(10);
    expect(purchases.length).toBeLessThan(convs.filter((c) => c.conversions.length > 0).length);
    // Same seed, same data.
    expect(syntheticConversation(createRng(5), from, 1000).sender).toEqual(syntheticConversation(createRng(5), from, 1000).sender);
  });

  it(`seeds ${N.toLocaleString('en')} conversations in batches, and no raw phone number or click id reaches a table`, async () => {
    const ws = await newWorkspace(ctx.operator, 'eu');
    const pool = ctx.operator.pools.region('eu');
    // Only WAL written from here on is this test's (recycled segments of a shared server keep older bytes).
    const walStart = await currentWalLsn(pool);
    const started = Date.now();
    const counts = await seedSynthetic(
      { pool, keyring: ctx.operator.keyring },
      { workspaceId: ws.id, region: 'eu', conversations: N, days: 30, seed: SEED, batchSize: 10_000 },
    );
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(
      `seeded ${N} conversations (${counts.rawPayloads} payloads, ${counts.clicks} clicks, ${counts.conversions} conversions) in ${seconds.toFixed(1)} s\n`,
    );
    expect(counts.conversations).toBe(N);
    expect((await pool.query('SELECT count(*)::int AS n FROM wact.conversations WHERE workspace_id = $1', [ws.id])).rows[0].n).toBe(N);

    // Replay the generator (same seed) to know every clear value that was in memory.
    const rng = createRng(SEED);
    const from = new Date(Date.now() - 30 * 86_400_000);
    const secrets = new Set<string>();
    for (let i = 0; i < N; i++) {
      const c = syntheticConversation(rng, from, 30 * 86_400_000 - 3_600_000);
      if (c.sender.kind === 'phone') secrets.add(c.sender.e164.slice(1));
      else secrets.add(c.sender.id.split('.')[1]);
      if (c.click) for (const part of c.click.clickId.split('.')) if (part.length >= 8) secrets.add(part);
    }
    expect(secrets.size).toBeGreaterThan(50_000);
    // A secret may sit inside a longer run of word characters (on disk, a length byte or the next column can be glued
    // to it): look it up at every position by its first 8 characters.
    const byPrefix = new Map<string, string[]>();
    for (const sec of secrets) byPrefix.set(sec.slice(0, 8), [...(byPrefix.get(sec.slice(0, 8)) ?? []), sec]);
    const leaked = (tok: string) => {
      for (let i = 0; i + 8 <= tok.length; i++) {
        for (const sec of byPrefix.get(tok.slice(i, i + 8)) ?? []) if (tok.startsWith(sec, i)) return true;
      }
      return false;
    };

    const found: string[] = [];
    // A planted plaintext value the scan must find (so the scan can fail).
    const canary = `CANARYlifecycle${Date.now()}`;
    await pool.query('CREATE TABLE IF NOT EXISTS public.lifecycle_scan_canary (v text)');
    await pool.query('INSERT INTO public.lifecycle_scan_canary VALUES ($1)', [canary]);
    let canaryHits = 0;
    const check = (where: string, text: string) => {
      for (const tok of tokens(text)) {
        if (tok.includes(canary)) canaryHits++;
        else if (leaked(tok)) found.push(where);
      }
    };

    // On disk: after a CHECKPOINT, the eu database's files and the WAL, byte by byte.
    await pool.query('CHECKPOINT');
    const dataDir = (await pool.query<{ d: string }>("SELECT current_setting('data_directory') AS d")).rows[0].d;
    const dbOid = (await pool.query<{ oid: number }>('SELECT oid FROM pg_database WHERE datname = current_database()')).rows[0].oid;
    const dirs = [path.join(dataDir, 'base', String(dbOid))];
    const readable = dirs.every((d) => {
      try {
        fs.readdirSync(d);
        return true;
      } catch {
        return false;
      }
    });
    if (readable) {
      let bytes = 0;
      for (const dir of dirs) {
        for (const f of fs.readdirSync(dir)) {
          let buf: Buffer;
          try {
            buf = fs.readFileSync(path.join(dir, f));
          } catch {
            continue; // a directory, or a WAL segment recycled meanwhile
          }
          bytes += buf.length;
          check(`${dir}/${f}`, buf.toString('latin1'));
        }
      }
      for (const w of await walWrittenSince(pool, dataDir, walStart)) {
        bytes += w.bytes.length;
        check(w.file, w.bytes.toString('latin1'));
      }
      process.stdout.write(`no-plaintext: scanned ${(bytes / 1e6).toFixed(0)} MB of database files and WAL\n`);
      expect(bytes).toBeGreaterThan(10e6);
    } else {
      // The server keeps its data directory from us (PostgreSQL 15 of the machine): every row as text instead, bytea decoded.
      const { rows: leaves } = await pool.query<{ t: string }>(
        `SELECT c.oid::regclass::text AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname IN ('wact', 'public') AND c.relkind = 'r'`,
      );
      for (const { t } of leaves) {
        const { rows } = await pool.query<{ r: string }>(`SELECT x::text AS r FROM ${t} x`);
        for (const { r } of rows) {
          check(t, r);
          for (const m of r.matchAll(/\\\\x([0-9a-f]+)/g)) check(`${t} (bytea)`, Buffer.from(m[1], 'hex').toString('latin1'));
        }
      }
      process.stdout.write('no-plaintext: data directory unreadable, searched every row as text\n');
    }
    expect(canaryHits).toBeGreaterThan(0);
    expect(found).toEqual([]);

    // …while the ciphertext does hold them: a sample decrypts to a generated click id.
    const one = (
      await pool.query<{ c: Buffer }>('SELECT gclid_enc AS c FROM wact.clicks WHERE workspace_id = $1 AND gclid_enc IS NOT NULL LIMIT 1', [
        ws.id,
      ])
    ).rows[0].c;
    const clear = await createFieldCrypto(ctx.operator.keyring).decryptString(ws.id, 'eu', { table: 'clicks', column: 'gclid_enc' }, one);
    expect(secrets.has(clear)).toBe(true);
  }, 300_000);
});
