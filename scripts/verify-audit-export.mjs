#!/usr/bin/env node
// An independent verifier of WAct audit exports (docs/audit-export.md), written from the
// documented format only: node:crypto, node:fs and node:path, no project imports, no npm
// packages. It reads the whole file into memory (a second opinion, not the streaming tool).
//
//   node scripts/verify-audit-export.mjs EXPORT --keys wact-audit-keys.json [--fingerprint sha256:…]… [--digests DIR] [--json]
//
// Exit 0 only when the file's whole claim is proven; 1 with one line per problem otherwise;
// 2 for a usage error or keys that cannot be trusted.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const GENESIS = '0'.repeat(64);
const FIELDS = [
  'streamId',
  'id',
  'occurredAt',
  'action',
  'actorKind',
  'actorId',
  'actorRole',
  'actorName',
  'targetType',
  'targetId',
  'reason',
  'sessionId',
  'clientIp',
  'userAgent',
  'outcome',
  'metadata',
];
const MANIFEST = [
  'database',
  'streamId',
  'workspaceId',
  'from',
  'to',
  'exportedAt',
  'firstSeq',
  'lastSeq',
  'anchorSeq',
  'anchorHash',
  'lastHash',
  'headSeq',
  'complete',
  'events',
  'signedAt',
  'keyId',
];
const DIGEST = ['database', 'streamId', 'periodStart', 'periodEnd', 'firstSeq', 'lastSeq', 'prevHash', 'eventsSha256', 'signedAt', 'keyId'];
const PLATFORM = '00000000-0000-0000-0000-000000000000';

class Untrusted extends Error {}

// ---- keys ----
const fp = (key) =>
  'sha256:' +
  crypto
    .createHash('sha256')
    .update(key.export({ format: 'der', type: 'spki' }))
    .digest('hex');
const normFp = (s) =>
  'sha256:' +
  String(s)
    .trim()
    .toLowerCase()
    .replace(/^sha256:/, '')
    .replace(/:/g, '');

export function trustKeys(text, pins = []) {
  const pinned = pins.map(normFp);
  const t = text.trim();
  let keys = [];
  if (t.startsWith('{') || t.startsWith('[')) {
    let json;
    try {
      json = JSON.parse(t);
    } catch {
      throw new Untrusted('the key file is not JSON');
    }
    const list = Array.isArray(json) ? json : (json.keys ?? [json]);
    for (const k of list) {
      let key;
      if (k.kty === 'OKP' && k.crv === 'Ed25519')
        key = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: k.x }, format: 'jwk' });
      else if (k.kty === 'EC' && k.crv === 'P-256')
        key = crypto.createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: k.x, y: k.y }, format: 'jwk' });
      else throw new Untrusted(`key ${k.kid}: unsupported key type`);
      if (!k.kid || !k.fingerprint) throw new Untrusted(`key ${k.kid ?? '?'} has no kid or no published fingerprint`);
      if (normFp(k.fingerprint) !== fp(key)) throw new Untrusted(`key ${k.kid} does not match its published fingerprint`);
      keys.push({ kid: k.kid, key, fingerprint: fp(key), validFrom: k.validFrom ?? null, validTo: k.validTo ?? null });
    }
  } else if (t.startsWith('-----BEGIN')) {
    if (!pinned.length) throw new Untrusted('a PEM key needs --fingerprint');
    const key = crypto.createPublicKey(t);
    keys.push({ kid: '*', key, fingerprint: fp(key), validFrom: null, validTo: null });
  } else throw new Untrusted('not a key set or a PEM key');
  if (pinned.length) keys = keys.filter((k) => pinned.includes(k.fingerprint));
  if (!keys.length) throw new Untrusted('no trusted key');
  return keys;
}

function sigOk(keys, kid, signedAt, message, sigB64) {
  const k = keys.find((x) => x.kid === kid) ?? keys.find((x) => x.kid === '*');
  if (!k) return `unknown key ${kid}`;
  const at = Date.parse(signedAt);
  if (Number.isNaN(at) || (k.validFrom && at < Date.parse(k.validFrom)) || (k.validTo && at > Date.parse(k.validTo)))
    return `signing time outside the validity of key ${kid}`;
  const sig = Buffer.from(String(sigB64), 'base64');
  let ok = false;
  try {
    if (sig.length === 64)
      ok =
        k.key.asymmetricKeyType === 'ed25519'
          ? crypto.verify(null, message, k.key, sig)
          : crypto.verify('sha256', message, { key: k.key, dsaEncoding: 'ieee-p1363' }, sig);
  } catch {
    ok = false;
  }
  return ok ? null : `signature by key ${kid} does not verify`;
}

const lines = (tag, names, v) => {
  const out = [tag];
  for (const n of names) {
    const x = v[n];
    const s = x === null || x === undefined ? '~' : String(x);
    if (/[\r\n]/.test(s)) return null;
    out.push(`${n}=${s}`);
  }
  return Buffer.from(out.join('\n'), 'utf8');
};

function eventHash(e) {
  let c = 'wact.audit.v1|';
  for (const f of FIELDS) c += e[f] === null || e[f] === undefined ? '~' : `${Buffer.byteLength(String(e[f]), 'utf8')}:${e[f]}`;
  return crypto
    .createHash('sha256')
    .update(Buffer.from(String(e.prevHash), 'hex'))
    .update(c, 'utf8')
    .digest('hex');
}

// ---- reading ----
function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  let wasQuoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') {
      quoted = true;
      wasQuoted = true;
    } else if (ch === ',' || ch === '\n') {
      row.push(cell === '' && !wasQuoted ? null : cell);
      cell = '';
      wasQuoted = false;
      if (ch === '\n') {
        rows.push(row);
        row = [];
      }
    } else if (ch !== '\r' || text[i + 1] !== '\n') cell += ch;
  }
  if (quoted) throw new Error('unterminated quoted CSV field');
  if (cell !== '' || wasQuoted || row.length) {
    row.push(cell === '' && !wasQuoted ? null : cell);
    rows.push(row);
  }
  return rows;
}
const csvKey = (c) => c.replace(/_([a-z])/g, (_, x) => x.toUpperCase());

function records(text) {
  text = text.replace(/^\uFEFF/, '');
  if (text.startsWith('{'))
    return text
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l));
  const rows = parseCsv(text);
  const cols = rows.shift() ?? [];
  if (cols[0] !== 'record') throw new Error('not a WAct audit export');
  return rows.map((r) => {
    const v = r.map((c) => (c !== null && c.startsWith("'") ? c.slice(1) : c));
    if (v[0] === 'header' || v[0] === 'trailer') return JSON.parse(v[cols.indexOf('metadata')] ?? '{}');
    const o = { type: v[0] };
    const hashAt = cols.indexOf('hash');
    cols.forEach((c, i) => {
      if (i === 0) return;
      const k = csvKey(c);
      if (
        v[0] === 'event' || v[0] === 'transcript_record'
          ? i <= hashAt
          : ['streamId', 'seq', 'hash', 'signedAt', 'keyId', 'purpose', 'signature'].includes(k)
      )
        o[k] = v[i] ?? null;
    });
    return o;
  });
}

// ---- verifying ----
export function verify(text, keys, digests) {
  const problems = [];
  const bad = (m) => problems.push(m);
  let recs;
  try {
    recs = records(text);
  } catch (e) {
    return { ok: false, problems: [`unreadable export: ${e.message}`] };
  }
  const header = recs[0]?.type === 'header' ? recs[0] : undefined;
  if (!header || header.format !== 'wact-audit-export') return { ok: false, problems: ['no export header'] };
  if (header.version !== 2) return { ok: false, problems: ['not format version 2: no signed manifest'] };
  const trailers = recs.filter((r) => r.type === 'trailer');
  const heads = recs.filter((r) => r.type === 'signed_head');
  const events = recs.filter((r) => r.type === 'event');
  if (
    recs.some((r) => !['header', 'trailer', 'signed_head', 'event', 'transcript_record'].includes(r.type)) ||
    recs.filter((r) => r.type === 'header').length !== 1
  )
    bad('unexpected records');
  const sid = header.streamId;
  const m = lines('wact.audit.manifest.v1', MANIFEST, header);
  const mw = m ? sigOk(keys, header.keyId, header.signedAt, m, header.signature ?? '') : 'malformed';
  if (mw) bad(`manifest (header) not proven: ${mw}`);
  if (header.workspaceId !== (sid === PLATFORM ? null : sid)) bad('manifest: workspace and stream disagree');
  if (trailers.length !== 1 || recs.at(-1).type !== 'trailer' || trailers[0].events !== events.length)
    bad('trailer missing, not last, or with a wrong count');
  if (header.events !== events.length) bad(`manifest states ${header.events} events, the file has ${events.length}`);
  const first = events[0];
  const last = events.at(-1);
  if ((first?.seq ?? null) !== header.firstSeq) bad('first seq differs from the manifest');
  if ((last?.seq ?? null) !== header.lastSeq) bad('last seq differs from the manifest');
  if (first && first.prevHash !== header.anchorHash) bad('first event does not link to the manifest anchor');
  if (last && last.hash !== header.lastHash) bad('last event hash differs from the manifest');
  if (header.complete === true && header.lastSeq !== null && header.headSeq !== header.lastSeq) bad('complete but not at the chain head');
  let prev;
  for (const e of events) {
    if (e.streamId !== sid) bad(`event seq ${e.seq}: another stream`);
    if (!/^[0-9a-f]{64}$/.test(String(e.prevHash)) || eventHash(e) !== e.hash) bad(`event seq ${e.seq}: content does not match its hash`);
    if (!/^[1-9][0-9]*$/.test(String(e.seq))) bad(`event seq ${e.seq}: not a seq`);
    if (prev) {
      if (e.prevHash !== prev.hash) bad(`event seq ${e.seq}: does not link to seq ${prev.seq}`);
      if (/^[0-9]+$/.test(String(e.seq)) && /^[0-9]+$/.test(String(prev.seq)) && BigInt(e.seq) !== BigInt(prev.seq) + 1n)
        bad(`event seq ${e.seq}: does not follow seq ${prev.seq}`);
    }
    prev = e;
  }
  const valid = [];
  for (const h of heads) {
    const w =
      h.streamId !== sid
        ? 'another stream'
        : sigOk(
            keys,
            h.keyId,
            h.signedAt,
            Buffer.from(`wact.audit.head.v1\n${h.streamId}\n${h.seq}\n${h.hash}\n${h.signedAt}\n${h.keyId}`, 'utf8'),
            h.signature ?? '',
          );
    if (w) bad(`signed head seq ${h.seq}: ${w}`);
    else valid.push(h);
  }
  if (first) {
    const a = String(header.anchorSeq);
    if (!/^[0-9]+$/.test(String(first.seq)) || a !== String(BigInt(first.seq) - 1n)) bad('anchor is not the event before the first');
    else if (a === '0' ? header.anchorHash !== GENESIS : !valid.some((h) => h.seq === a && h.hash === header.anchorHash))
      bad(`first event seq ${first.seq}: predecessor is neither genesis nor a signed head`);
    if (!valid.some((h) => h.seq === last.seq && h.hash === last.hash)) bad(`last event seq ${last.seq}: not covered by a signed head`);
    const bySeq = new Map(events.map((e) => [String(e.seq), e]));
    for (const h of valid) {
      if (!/^[0-9]+$/.test(String(h.seq)) || !/^[0-9]+$/.test(String(first.seq)) || !/^[0-9]+$/.test(String(last.seq))) continue;
      const s = BigInt(h.seq);
      if (s < BigInt(first.seq)) continue;
      if (s > BigInt(last.seq)) {
        if (header.complete === true) bad(`events missing at the end: a signed head covers seq ${h.seq}`);
      } else if (bySeq.get(String(h.seq))?.hash !== h.hash) bad(`signed head seq ${h.seq} does not match the event`);
    }
  }
  if (digests) {
    const kept = new Map();
    let used = 0;
    for (const { name, digest: d } of digests) {
      if (d.format !== 'wact-audit-digest' || d.version !== 1) {
        bad(`${name}: not a digest`);
        continue;
      }
      if (d.streamId !== sid) continue;
      const msg = lines('wact.audit.digest.v1', DIGEST, d);
      const w = msg ? sigOk(keys, d.keyId, d.signedAt, msg, d.signature ?? '') : 'malformed';
      const list = Array.isArray(d.events) ? d.events : [];
      const sum = crypto.createHash('sha256');
      for (const [s, h] of list) sum.update(`${s} ${h}\n`, 'utf8');
      if (w || sum.digest('hex') !== d.eventsSha256 || String(list[0]?.[0]) !== d.firstSeq || String(list.at(-1)?.[0]) !== d.lastSeq) {
        bad(`digest ${name}: not proven (${w ?? 'event list does not match'})`);
        continue;
      }
      used++;
      for (const [s, h] of list) kept.set(String(s), h);
    }
    if (!used) bad('no digest for this stream');
    let named = false;
    for (const e of events) {
      const h = kept.get(String(e.seq));
      if (h !== undefined && h !== e.hash) {
        if (!named) bad(`event seq ${e.seq} (id ${e.id}) differs from the digests kept: rewritten`);
        named = true;
      }
    }
    if (first)
      for (const s of kept.keys())
        if (BigInt(s) >= BigInt(first.seq) && BigInt(s) <= BigInt(last.seq) && !events.some((e) => String(e.seq) === s))
          bad(`event seq ${s} listed by a digest is not in the file`);
  }
  verifyTranscripts(
    sid,
    events,
    recs.filter((r) => r.type === 'transcript_record'),
    trailers[0],
    bad,
  );
  return { ok: problems.length === 0, problems };
}

// ---- gateway transcripts: each connection's statement records, chained on their own and anchored ----
const f = (v) => (v === null || v === undefined ? '~' : `${Buffer.byteLength(String(v), 'utf8')}:${v}`);
const sha = (...parts) => {
  const h = crypto.createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};
const genesisOf = (t, stream, session) => sha(Buffer.from(`wact.transcript.v1|${f(t)}${f(stream)}${f(session ?? '')}`, 'utf8'));
const recordHash = (r) =>
  sha(
    Buffer.from(String(r.prevHash), 'hex'),
    Buffer.from(`wact.transcript.v1|${f(r.id)}${f(r.seq)}${f(r.occurredAt)}${f(r.outcome)}${f(r.metadata)}`, 'utf8'),
  );

function verifyTranscripts(sid, events, rows, trailer, bad) {
  if ((trailer?.transcriptRecords ?? 0) !== rows.length)
    bad(`trailer counts ${trailer?.transcriptRecords ?? 0} transcript records, the file has ${rows.length}`);
  const opened = new Map();
  const anchors = new Map();
  const checkpoints = new Map();
  for (const e of events) {
    if (!['db.session.connect', 'db.session.disconnect', 'db.session.checkpoint'].includes(e.action)) continue;
    let m;
    try {
      m = JSON.parse(e.metadata ?? '{}');
    } catch {
      continue;
    }
    if (typeof m.transcript !== 'string') continue;
    if (e.action === 'db.session.connect') opened.set(m.transcript, e);
    else if (e.action === 'db.session.checkpoint')
      checkpoints.set(m.transcript, [...(checkpoints.get(m.transcript) ?? []), { e, count: m.transcriptRecords, hash: m.transcriptHash }]);
    else anchors.set(m.transcript, [...(anchors.get(m.transcript) ?? []), { e, count: m.transcriptRecords, hash: m.transcriptHash }]);
  }
  const by = new Map();
  for (const r of rows) by.set(r.id, [...(by.get(r.id) ?? []), r]);
  for (const [t, list] of anchors)
    if (list.length > 1) bad(`transcript ${t}: anchored twice (events seq ${list.map((a) => a.e.seq).join(', ')})`);
  for (const [t, list] of by) {
    const a = anchors.get(t)?.[0];
    const owner = a?.e ?? opened.get(t) ?? checkpoints.get(t)?.[0].e;
    if (!owner) {
      bad(`transcript ${t}: ${list.length} records no connection event of this stream names`);
      continue;
    }
    let prev = genesisOf(t, sid, owner.sessionId);
    list.forEach((r, i) => {
      if (r.streamId !== sid) bad(`transcript ${t} record seq ${r.seq}: another stream`);
      if (r.sessionId !== owner.sessionId || r.actorId !== owner.actorId || r.reason !== owner.reason)
        bad(`transcript ${t} record seq ${r.seq}: session, actor or reason differ from the connection's event`);
      if (String(r.seq) !== String(i + 1)) bad(`transcript ${t}: record seq ${i + 1} missing or out of order (found seq ${r.seq})`);
      if (r.prevHash !== prev) bad(`transcript ${t} record seq ${r.seq}: does not link to its predecessor`);
      if (!/^[0-9a-f]{64}$/.test(String(r.prevHash)) || recordHash(r) !== r.hash)
        bad(`transcript ${t} record seq ${r.seq}: content does not match its hash`);
      prev = r.hash;
    });
  }
  for (const [t, [a]] of anchors) {
    const list = by.get(t) ?? [];
    if (typeof a.count !== 'number' || typeof a.hash !== 'string') {
      bad(`transcript ${t}: its anchor (event seq ${a.e.seq}) has no count or hash`);
      continue;
    }
    const last = list.length ? list.at(-1).hash : genesisOf(t, sid, a.e.sessionId);
    if (list.length < a.count)
      bad(`transcript ${t}: cut (its anchor, event seq ${a.e.seq}, counts ${a.count} records, the file has ${list.length})`);
    else if (list.length > a.count)
      bad(`transcript ${t}: extended (its anchor, event seq ${a.e.seq}, counts ${a.count} records, the file has ${list.length})`);
    else if (last !== a.hash) bad(`transcript ${t}: does not end where its anchor (event seq ${a.e.seq}) says: altered or re-anchored`);
  }
  for (const [t, list] of checkpoints) {
    const rows = by.get(t) ?? [];
    for (const c of list) {
      if (typeof c.count !== 'number' || c.count < 1 || typeof c.hash !== 'string')
        bad(`transcript ${t}: its checkpoint (event seq ${c.e.seq}) has no count or hash`);
      else if (rows.length < c.count)
        bad(`transcript ${t}: cut (its checkpoint, event seq ${c.e.seq}, counts ${c.count} records, the file has ${rows.length})`);
      else if (rows[c.count - 1].hash !== c.hash)
        bad(`transcript ${t}: record seq ${c.count} does not match its checkpoint (event seq ${c.e.seq}): altered or re-anchored`);
    }
  }
}

export function readDigests(dir) {
  const names = fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .sort();
  if (!names.length) throw new Untrusted(`no digest files in ${dir}`);
  return names.map((name) => ({ name, digest: JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) }));
}

function main(argv) {
  const args = { pins: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--keys' || a === '--key') args.keys = argv[++i];
    else if (a === '--fingerprint') args.pins.push(argv[++i]);
    else if (a === '--digests') args.digests = argv[++i];
    else if (a === '--json') args.json = true;
    else args.file = a;
  }
  if (!args.file || !args.keys) {
    process.stderr.write('usage: verify-audit-export.mjs EXPORT --keys KEYSET.json [--fingerprint sha256:…] [--digests DIR] [--json]\n');
    return 2;
  }
  let result;
  try {
    const keys = trustKeys(fs.readFileSync(args.keys, 'utf8'), args.pins);
    result = verify(fs.readFileSync(args.file, 'utf8'), keys, args.digests ? readDigests(args.digests) : undefined);
  } catch (e) {
    process.stderr.write(`verify-audit-export: ${e.message}\n`);
    return 2;
  }
  if (args.json) process.stdout.write(JSON.stringify(result) + '\n');
  else process.stdout.write(result.ok ? 'OK: the export is proven\n' : `FAILED:\n${result.problems.map((p) => `  ${p}`).join('\n')}\n`);
  return result.ok ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main(process.argv.slice(2));
