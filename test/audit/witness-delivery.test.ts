import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestEventsSha256, digestMessage, headMessage } from '../../shared/audit/audit-canonical.ts';
import { readEvents } from '../../shared/audit/audit-dal.ts';
import { checkSignature, loadTrustedKeys, type TrustedKeys } from '../../shared/audit/audit-keys.ts';
import { auditParts } from '../../shared/audit/audit-platform.ts';
import { createSiemService } from '../../shared/audit/audit-siem.ts';
import { verifyExport } from '../../shared/audit/audit-verify.ts';
import { createFieldCrypto } from '../../shared/crypto/field-cipher.ts';
import { createOutboundClient } from '../../shared/http/outbound-client.ts';
import { outboundCaList } from '../../shared/http/tls.ts';
import { startTestBroker, type TestBroker } from '../support/broker.ts';

/**
 * Issue 13, point 3: signed heads reach the customer as they are made — as
 * digest files owners and admins download (and nobody else), and with every
 * SIEM push. What the customer receives must verify with the published key.
 */
let b: TestBroker;
beforeAll(async () => {
  b = await startTestBroker({ env: { LOG_LEVEL: process.env.AUDIT_TEST_LOG ?? 'silent' } });
});
afterAll(async () => {
  await b?.close();
});

const eu = () => b.platform.pools.region('eu');

async function keys(): Promise<TrustedKeys> {
  const res = await b.client().get('/.well-known/wact-audit-keys');
  expect(res.status).toBe(200);
  return loadTrustedKeys(res.text);
}

/** The audit events of `action` on the workspace's stream, with who read. */
const eventsOf = async (ws: string, action: string) =>
  (
    await eu().query<{ actor_id: string; metadata: string | null }>(
      `SELECT actor_id, metadata FROM audit.events WHERE stream_id = $1 AND action = $2 ORDER BY seq`,
      [ws, action],
    )
  ).rows.map((r) => ({ actor_id: r.actor_id, metadata: (r.metadata ? JSON.parse(r.metadata) : {}) as Record<string, unknown> }));

async function appendSome(ws: string, n: number) {
  for (let i = 0; i < n; i++)
    await b.platform.audit.append({
      action: 'data.read',
      actor: { id: `emp-${i}`, kind: 'employee', role: 'engineer', displayName: `Engineer ${i}` },
      workspaceId: ws,
      region: 'eu',
      target: { type: 'conversation', id: `c-${i}` },
      reason: `ticket T-${i}`,
      outcome: 'success',
    });
}

describe('digest files over the API', () => {
  it('owners and admins list and download them (each read audited); the file verifies with the published key and witnesses an export', async () => {
    const ws = await b.createWorkspace();
    const owner = await b.createCustomer(ws.id, 'owner');
    const admin = await b.createCustomer(ws.id, 'admin');
    const ownerApi = await b.loginAs(owner.identity);
    const adminApi = await b.loginAs(admin.identity);
    // Digested in two runs (as when another test file's database-wide run comes between): two files at least.
    await appendSome(ws.id, 3);
    await auditParts(b.platform).signer.makeDigests('eu');
    await appendSome(ws.id, 3);
    const head = (await eu().query<{ s: string }>('SELECT max(seq)::text AS s FROM audit.events WHERE stream_id = $1', [ws.id])).rows[0].s;
    await auditParts(b.platform).signer.makeDigests('eu');

    const listed = await ownerApi.get(`/api/workspaces/${ws.id}/audit/digests`);
    expect(listed.status).toBe(200);
    expect(listed.headers.get('content-range')).toMatch(/^audit-digests 0-\d+\/\d+$/);
    const rows = listed.body as { id: string; name: string; firstSeq: string; lastSeq: string; body?: string }[];
    // Whoever made them (another test file's database-wide run may have digested part of this stream first),
    // the files cover the stream from its first event to where it stood, without gap or overlap.
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(rows[0].firstSeq).toBe('1');
    for (let i = 1; i < rows.length; i++) expect(BigInt(rows[i].firstSeq)).toBe(BigInt(rows[i - 1].lastSeq) + 1n);
    expect(BigInt(rows.at(-1)!.lastSeq)).toBeGreaterThanOrEqual(BigInt(head));
    expect(rows[0]).not.toHaveProperty('body'); // the list is an index; files come one by one
    expect(rows[0].name).toMatch(new RegExp(`^wact-audit-digest-${ws.id}-\\d{12}-\\d{12}\\.json$`));
    const listEvents = await eventsOf(ws.id, 'audit.digests.list');
    expect(listEvents.map((e) => e.actor_id)).toEqual([owner.userId]);

    const last = rows.at(-1)!;
    const file = await adminApi.get(`/api/workspaces/${ws.id}/audit/digests/${last.lastSeq}`);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-disposition')).toBe(`attachment; filename="${last.name}"`);
    const downloads = await eventsOf(ws.id, 'audit.digest.download');
    expect(downloads.map((e) => [e.actor_id, e.metadata.lastSeq])).toEqual([[admin.userId, last.lastSeq]]);

    // The file as the customer keeps it: signed by a published key, its list matching its signed summary
    // and the stream's events.
    const digest = JSON.parse(file.text) as Record<string, unknown> & { events: [string, string][] };
    expect(digest).toMatchObject({ format: 'wact-audit-digest', streamId: ws.id, workspaceId: ws.id, lastSeq: last.lastSeq });
    const k = await keys();
    expect(checkSignature(k, String(digest.keyId), String(digest.signedAt), digestMessage(digest), String(digest.signature))).toEqual({
      ok: true,
    });
    expect(digestEventsSha256(digest.events)).toBe(digest.eventsSha256);
    const stored = await readEvents(eu(), ws.id, BigInt(String(digest.firstSeq)), BigInt(String(digest.lastSeq)));
    expect(digest.events).toEqual(stored.map((e) => [e.seq, e.hash]));

    // The downloaded digests witness an export of the stream (verify --digests).
    const exported = await ownerApi.get(`/api/workspaces/${ws.id}/audit/export?format=jsonl`);
    expect(exported.status).toBe(200);
    const all = await Promise.all(rows.map((r) => ownerApi.get(`/api/workspaces/${ws.id}/audit/digests/${r.lastSeq}`)));
    const report = await verifyExport(Readable.from([exported.text]), k, {
      digests: all.map((r, i) => ({ name: rows[i].name, digest: JSON.parse(r.text) as Record<string, unknown> })),
    });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    // A copy with one listed hash changed is refused: the signature covers the list.
    const flip = (h: string) => (h[0] === 'a' ? 'b' : 'a') + h.slice(1);
    const tampered = { ...digest, events: digest.events.map(([s, h], i) => [s, i === 0 ? flip(h) : h]) };
    const refused = await verifyExport(Readable.from([exported.text]), k, { digests: [{ name: last.name, digest: tampered }] });
    expect(refused.ok).toBe(false);
    expect(refused.problems.map((p) => p.message).join('\n')).toMatch(/does not match its signed summary/);
    expect(await eventsOf(ws.id, 'audit.digest.download')).toHaveLength(1 + rows.length);

    // Unknown or malformed seqs are 404, never a 500 or another stream's file.
    for (const seq of ['0', '007', 'abc', '99999999999', '1e3', `${last.lastSeq}.json`])
      expect((await ownerApi.get(`/api/workspaces/${ws.id}/audit/digests/${encodeURIComponent(seq)}`)).status).toBe(404);
  });

  it('analysts, readonly members, WAct employees and other workspaces are refused; nothing is served to them', async () => {
    const ws = await b.createWorkspace();
    await appendSome(ws.id, 3);
    await auditParts(b.platform).signer.makeDigests('eu');
    const owner = await b.loginAs((await b.createCustomer(ws.id, 'owner')).identity);
    const listed = await owner.get(`/api/workspaces/${ws.id}/audit/digests`);
    expect(listed.status).toBe(200);
    const lastSeq = (listed.body as { lastSeq: string }[])[0].lastSeq;
    const before = {
      list: (await eventsOf(ws.id, 'audit.digests.list')).length,
      download: (await eventsOf(ws.id, 'audit.digest.download')).length,
    };

    const other = await b.createWorkspace();
    const outsiders = [
      ['analyst', await b.loginAs((await b.createCustomer(ws.id, 'analyst')).identity)],
      ['readonly', await b.loginAs((await b.createCustomer(ws.id, 'readonly')).identity)],
      ['owner of another workspace', await b.loginAs((await b.createCustomer(other.id, 'owner')).identity)],
      ['engineer', await b.loginAs(b.createEmployee('engineer'))],
      ['support', await b.loginAs(b.createEmployee('support'))],
      ['security', await b.loginAs(b.createEmployee('security'))],
    ] as const;
    for (const [who, api] of outsiders) {
      for (const url of [`/api/workspaces/${ws.id}/audit/digests`, `/api/workspaces/${ws.id}/audit/digests/${lastSeq}`]) {
        const res = await api.get(url, { reason: 'curious about the digests' });
        expect([403, 404], `${who}: GET ${url} answered ${res.status}`).toContain(res.status);
        expect(res.text).not.toContain('wact-audit-digest');
      }
    }
    // The other workspace's owner cannot reach this stream's file through their own workspace either.
    const otherOwner = outsiders[2][1];
    const cross = await otherOwner.get(`/api/workspaces/${other.id}/audit/digests/${lastSeq}`);
    if (cross.status === 200) expect(JSON.parse(cross.text).streamId).toBe(other.id);
    else expect(cross.status).toBe(404);
    expect(cross.text).not.toContain(ws.id);

    expect((await eventsOf(ws.id, 'audit.digests.list')).length).toBe(before.list);
    expect((await eventsOf(ws.id, 'audit.digest.download')).length).toBe(before.download);
  });
});

describe('SIEM push carries the signed head over its last event', () => {
  it('each push includes a signed head, valid under the published key, at the last pushed event and its hash', async () => {
    const ws = await b.createWorkspace();
    await appendSome(ws.id, 4);
    const received: string[] = [];
    const server = https.createServer({ key: b.tls.key, cert: b.tls.cert }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push(Buffer.concat(chunks).toString('utf8'));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `https://localhost:${(server.address() as AddressInfo).port}/collect`;
    const siem = createSiemService({
      parts: auditParts(b.platform),
      fieldCrypto: createFieldCrypto(b.platform.keyring),
      // The local test SIEM is on loopback: allowed by the development allow-list only.
      outbound: createOutboundClient({ env: 'test', devAllow: ['127.0.0.1/32', '::1/128'], ca: outboundCaList(b.tls.ca) }),
    });
    const due = () => eu().query(`UPDATE wact.audit_siem_destinations SET next_attempt_at = now() WHERE workspace_id = $1`, [ws.id]);
    try {
      await siem.configure(ws, { url, intervalSeconds: 60 });
      const k = await keys();
      let prevLast = 0n;
      for (let push = 0; push < 2; push++) {
        if (push) {
          await appendSome(ws.id, 2);
          await due();
        }
        expect((await siem.pushDue('eu')).find((r) => r.workspaceId === ws.id)).toMatchObject({ ok: true });
        const recs = received[push]
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, string> & { type: string });
        const events = recs.filter((r) => r.type === 'event');
        const lastEvent = events.at(-1)!;
        expect(BigInt(events[0].seq)).toBe(prevLast + 1n); // incremental: continues where the last push ended
        const covering = recs.filter((r) => r.type === 'signed_head' && r.seq === lastEvent.seq && r.hash === lastEvent.hash);
        expect(covering.length, `push ${push + 1}: no signed head at seq ${lastEvent.seq}`).toBeGreaterThan(0);
        for (const h of covering) {
          expect(h.streamId).toBe(ws.id);
          expect(checkSignature(k, h.keyId, h.signedAt, headMessage(h as never), h.signature)).toEqual({ ok: true });
        }
        // And the push as a whole is a verifiable export (manifest signed, both ends anchored).
        const report = await verifyExport(Readable.from([received[push]]), k);
        expect(report.problems).toEqual([]);
        expect(report.anchored).toEqual({ start: true, end: true });
        prevLast = BigInt(lastEvent.seq);
      }
    } finally {
      server.close();
      await siem.remove(ws);
    }
  });
});
