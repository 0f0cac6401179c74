import crypto from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { eventHash } from '../../shared/audit/audit-canonical.ts';
import { readEvents } from '../../shared/audit/audit-dal.ts';
import { parseCsvLine } from '../../shared/audit/audit-verify.ts';
import { auditKit } from './audit-test-kit.ts';

const kit = auditKit();
afterAll(() => kit.end());
const eu = () => kit.op.region('eu'); // the database superuser: the attacker in these tests

describe('audit export and offline verification', () => {
  it('a JSON Lines export of a whole stream verifies, anchored at genesis and at the signed head', async () => {
    const ws = await kit.stream(8);
    const text = await kit.exportText(ws);
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({
      type: 'header',
      version: 2,
      streamId: ws,
      firstSeq: '1',
      lastSeq: '8',
      anchorSeq: '0',
      events: 8,
      complete: true,
    });
    expect(lines[0].signature).toMatch(/^[A-Za-z0-9+/]{86}==$/);
    expect(lines.filter((l) => l.type === 'event')).toHaveLength(8);
    expect(lines.filter((l) => l.type === 'signed_head').length).toBeGreaterThanOrEqual(1);
    expect(lines.at(-1)).toMatchObject({ type: 'trailer', events: 8 });
    const report = await kit.verifyText(text);
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ ok: true, events: 8, manifestSigned: true, anchored: { start: true, end: true } });
  });

  it('CSV: formula cells are neutralised, quotes and newlines survive, and the file verifies', async () => {
    const ws = await kit.stream(5);
    const text = await kit.exportText(ws, { format: 'csv' });
    const header = parseCsvLine(text.split('\n')[0]);
    expect(header.slice(0, 3)).toEqual(['record', 'stream_id', 'seq']);
    expect(text).toContain(`"'=HYPERLINK(""http://evil.example"",""x"")"`);
    expect(text).not.toMatch(/(^|,)"?[=+@-]/m);
    const report = await kit.verifyText(text);
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ ok: true, format: 'csv', events: 5 });
  });

  it('the reference engine (cursor + csv-stringify / JSON.stringify) writes files that verify the same way', async () => {
    const ws = await kit.stream(5);
    for (const format of ['csv', 'jsonl'] as const) {
      const node = await kit.exportText(ws, { format, engine: 'node' });
      const report = await kit.verifyText(node);
      expect(report.problems).toEqual([]);
      expect(report.events).toBe(5);
    }
    const csv = await kit.exportText(ws, { format: 'csv', engine: 'node' });
    expect(csv).toContain(`"'=HYPERLINK(""http://evil.example"",""x"")"`);
  });

  it('a time range exports on its own and round-trips through verify (both ends anchored)', async () => {
    // Events a few milliseconds apart, so millisecond bounds fall between them.
    const ws = crypto.randomUUID();
    for (let i = 1; i <= 6; i++) {
      await kit.audit.append(kit.event(ws, i));
      await new Promise((r) => setTimeout(r, 5));
    }
    await kit.signer.signStreamHead('eu', ws, 'periodic');
    const rows = await readEvents(eu(), ws, 1, 100);
    const from = new Date(rows[2].occurredAt); // ms precision: seq 3 (or later) onwards
    from.setUTCMilliseconds(from.getUTCMilliseconds() + 1);
    const to = new Date(rows[4].occurredAt);
    for (const format of ['jsonl', 'csv'] as const) {
      const text = await kit.exportText(ws, { from, to, format });
      const report = await kit.verifyText(text);
      expect(report.problems).toEqual([]);
      expect(report.anchored).toEqual({ start: true, end: true });
      expect(report.events).toBeGreaterThanOrEqual(1);
      expect(Number(report.firstSeq)).toBeGreaterThan(1);
      expect(Number(report.lastSeq)).toBeLessThan(6);
    }
  });

  it('names an altered event (content changed in the database)', async () => {
    const ws = await kit.stream(10);
    const [e5] = await readEvents(eu(), ws, 5, 5);
    await eu().query(`UPDATE audit.events SET reason = 'nothing to see' WHERE stream_id = $1 AND seq = 5`, [ws]);
    const report = await kit.verifyText(await kit.exportText(ws));
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([expect.objectContaining({ kind: 'altered', seq: '5', id: e5.id })]);
  });

  it('names an altered event whose hash was recomputed too', async () => {
    const ws = await kit.stream(10);
    const [e4] = await readEvents(eu(), ws, 4, 4);
    const forged = { ...e4, reason: 'forged' };
    await eu().query(`UPDATE audit.events SET reason = 'forged', hash = decode($2, 'hex') WHERE stream_id = $1 AND seq = 4`, [
      ws,
      eventHash(e4.prevHash, forged),
    ]);
    const report = await kit.verifyText(await kit.exportText(ws));
    expect(report.problems[0]).toMatchObject({ kind: 'altered', seq: '4', id: e4.id });
  });

  it('names a deleted (missing) event', async () => {
    const ws = await kit.stream(10);
    await eu().query(`DELETE FROM audit.events WHERE stream_id = $1 AND seq = 7`, [ws]);
    const report = await kit.verifyText(await kit.exportText(ws));
    expect(report.problems).toContainEqual(expect.objectContaining({ kind: 'missing', seq: '7' }));
    expect(report.problems.find((p) => p.seq === '7')!.message).toMatch(/1 event\(s\) missing between seq 6 .* and seq 8/);
  });

  it('names a deleted tail (the signed head covers it)', async () => {
    const ws = await kit.stream(10);
    await eu().query(`DELETE FROM audit.events WHERE stream_id = $1 AND seq >= 9`, [ws]);
    const report = await kit.verifyText(await kit.exportText(ws));
    expect(report.problems).toContainEqual(expect.objectContaining({ kind: 'missing', seq: '9' }));
  });

  it('names reordered (swapped) events', async () => {
    const ws = await kit.stream(10);
    const swapped = await readEvents(eu(), ws, 3, 4);
    await eu().query(`UPDATE audit.events SET seq = CASE seq WHEN 3 THEN 4 ELSE 3 END WHERE stream_id = $1 AND seq IN (3, 4)`, [ws]);
    const report = await kit.verifyText(await kit.exportText(ws));
    expect(report.problems.map((p) => p.kind)).toEqual(['reordered']);
    expect(swapped.map((e) => e.id)).toContain(report.problems[0].id);
  });

  it('names an inserted event, even one forged with a correct link and hash', async () => {
    const ws = await kit.stream(10);
    const [e5] = await readEvents(eu(), ws, 5, 5);
    await eu().query(`UPDATE audit.events SET seq = seq + 1 WHERE stream_id = $1 AND seq >= 6`, [ws]);
    const forged = { ...e5, id: crypto.randomUUID(), reason: 'planted', seq: '6', prevHash: e5.hash };
    const hash = eventHash(e5.hash, forged);
    await eu().query(
      `INSERT INTO audit.events SELECT stream_id, 6, $2, occurred_at, action, actor_kind, actor_id, actor_role, actor_name, target_type, target_id,
              'planted', session_id, client_ip, user_agent, outcome, metadata, hash, decode($3, 'hex')
         FROM audit.events WHERE stream_id = $1 AND seq = 5`,
      [ws, forged.id, hash],
    );
    await eu().query(`UPDATE audit.chain_heads SET seq = seq + 1 WHERE stream_id = $1`, [ws]);
    const report = await kit.verifyText(await kit.exportText(ws));
    const kinds = report.problems.map((p) => p.kind);
    expect(report.problems).toContainEqual(expect.objectContaining({ kind: 'inserted', id: forged.id }));
    expect(kinds).not.toContain('altered');
    expect(kinds).not.toContain('missing');
  });

  it('names an inserted event with a made-up link', async () => {
    const ws = await kit.stream(6);
    await eu().query(`UPDATE audit.events SET seq = seq + 1 WHERE stream_id = $1 AND seq >= 4`, [ws]);
    const id = crypto.randomUUID();
    await eu().query(
      `INSERT INTO audit.events SELECT stream_id, 4, $2, occurred_at, action, actor_kind, actor_id, actor_role, actor_name, target_type, target_id,
              'planted', session_id, client_ip, user_agent, outcome, metadata, sha256('x'), sha256('y')
         FROM audit.events WHERE stream_id = $1 AND seq = 3`,
      [ws, id],
    );
    const report = await kit.verifyText(await kit.exportText(ws));
    expect(report.problems).toContainEqual(expect.objectContaining({ kind: 'inserted', id }));
  });

  it('detects tampering with the file itself and forged signatures', async () => {
    const ws = await kit.stream(4);
    const text = await kit.exportText(ws);
    const edited = text.replace('"reason":"ticket T-3', '"reason":"ticket T-9');
    expect((await kit.verifyText(edited)).problems).toEqual([expect.objectContaining({ kind: 'altered', seq: '3' })]);
    const badSig = text.replace(
      /("type":"signed_head".*?"signature":")(.)/,
      (_m, pre: string, c: string) => `${pre}${c === 'A' ? 'B' : 'A'}`,
    );
    expect((await kit.verifyText(badSig)).problems.map((p) => p.kind)).toContain('signature');
    const badManifest = text.replace(/"signature":"(.)/, (_m, c: string) => `"signature":"${c === 'A' ? 'B' : 'A'}`);
    expect((await kit.verifyText(badManifest)).problems).toEqual([expect.objectContaining({ kind: 'manifest' })]);
    const truncated = text.split('\n').slice(0, -3).join('\n');
    expect((await kit.verifyText(truncated)).problems.map((p) => p.kind)).toContain('format');
    // With another key set, nothing verifies.
    const { Readable } = await import('node:stream');
    const { verifyExport } = await import('../../shared/audit/audit-verify.ts');
    const { loadTrustedKeys, publishKey } = await import('../../shared/audit/audit-keys.ts');
    const stranger = crypto.generateKeyPairSync('ed25519').publicKey;
    const genuine = JSON.parse(await kit.keySetText()) as { keys: { kid: string; validFrom: string }[] };
    const forged = genuine.keys.map((k) => publishKey(stranger, { kid: k.kid, validFrom: k.validFrom, validTo: null, source: 'local' }));
    const report = await verifyExport(Readable.from([text]), loadTrustedKeys(JSON.stringify({ keys: forged })));
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.kind)).toEqual(expect.arrayContaining(['manifest', 'signature', 'unsigned_end']));
  });
});
