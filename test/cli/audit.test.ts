import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runWact } from '../support/cli.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-audit-cli-'));

const wact = (...args: string[]) => runWact(args);

describe('wact audit', () => {
  it('export → verify round-trips offline with the published keys; a tampered file names the event', async () => {
    const ws = JSON.parse((await wact('workspace', 'create', '--name', 'Audit CLI', '--region', 'eu', '--json')).stdout);
    await wact('workspace', 'rotate-keys', '--workspace', ws.id);
    const file = path.join(dir, 'audit.jsonl');
    const exp = await wact(
      'audit',
      'export',
      '--workspace',
      ws.id,
      '--format',
      'jsonl',
      '--out',
      file,
      '--reason',
      'quarterly review',
      '--json',
    );
    expect(exp.code, exp.stderr).toBe(0);
    expect(JSON.parse(exp.stdout)).toMatchObject({ events: 3, firstSeq: '1', lastSeq: '3' }); // create, rotate, the export itself
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);

    const keysFile = path.join(dir, 'keys.json');
    fs.writeFileSync(keysFile, (await wact('audit', 'keys')).stdout);
    const ok = await wact('audit', 'verify', file, '--keys', keysFile);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^OK: 3 events \(seq 1…3\)/);

    const lines = fs.readFileSync(file, 'utf8').split('\n');
    const i = lines.findIndex((l) => l.includes('"action":"workspace.keys.rotate"'));
    const tampered = path.join(dir, 'tampered.jsonl');
    fs.writeFileSync(tampered, lines.filter((_, k) => k !== i).join('\n'));
    const bad = await wact('audit', 'verify', tampered, '--keys', keysFile, '--json');
    expect(bad.code).toBe(1);
    const report = JSON.parse(bad.stdout);
    expect(report.problems).toContainEqual(expect.objectContaining({ kind: 'missing', seq: '2' }));
    expect(bad.stdout).toContain('trailer says 3 events');

    const csv = path.join(dir, 'audit.csv');
    expect((await wact('audit', 'export', '--workspace', ws.id, '--format', 'csv', '--out', csv)).code).toBe(0);
    const csvOk = await wact('audit', 'verify', csv, '--keys', keysFile, '--json');
    expect(JSON.parse(csvOk.stdout)).toMatchObject({ ok: true, format: 'csv', events: 4 });

    // Keys from outside the file are required: without them nothing is proven.
    const noKeys = await wact('audit', 'verify', file);
    expect(noKeys.code).not.toBe(0);
    expect(noKeys.stderr).toMatch(/--keys/);
    // The customer's witness: digests saved now, checked later.
    const digestDir = path.join(dir, 'digests');
    expect((await wact('audit', 'sign-heads', '--json')).stdout).toMatch(/"digests"/);
    const saved = await wact('audit', 'digests', '--workspace', ws.id, '--out', digestDir, '--json');
    expect(saved.code, saved.stderr).toBe(0);
    expect(JSON.parse(saved.stdout).saved).toBeGreaterThanOrEqual(1);
    const withDigests = await wact('audit', 'verify', csv, '--keys', keysFile, '--digests', digestDir, '--json');
    expect(JSON.parse(withDigests.stdout)).toMatchObject({ ok: true });
    // Other test files tamper with their own streams in the shared databases on purpose, so
    // broken chains may exist: they must be reported (exit 1) and never be ours.
    const signed = await wact('audit', 'sign-heads', '--json');
    const result = JSON.parse(signed.stdout) as Record<string, { signed: number; broken: string[] }>;
    expect(Object.keys(result)).toEqual(['control', 'eu', 'us']);
    const broken = Object.values(result).flatMap((r) => r.broken);
    expect(broken.filter((m) => m.includes(ws.id))).toEqual([]);
    expect(signed.code, signed.stderr).toBe(broken.length ? 1 : 0);
  }, 120_000);
});
