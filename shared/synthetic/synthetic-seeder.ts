import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Region } from '../config/config.ts';
import { encryptField, fieldContext } from '../crypto/field-cipher.ts';
import type { Keyring, VersionedKey } from '../crypto/keyring-types.ts';
import { hashIdentifier, hashPhone, normalisePhone } from '../phone/phone.ts';
import { createRng, PLATFORM_OF, syntheticConversation, type SyntheticConversation } from './synthetic-generator.ts';

export interface SeedOptions {
  workspaceId: string;
  region: Region;
  conversations: number;
  /** Spread over the last `days` days. */
  days?: number;
  seed?: number;
  batchSize?: number;
  /** Batches written concurrently (connections). */
  writers?: number;
}

export interface SeedCounts {
  clicks: number;
  conversations: number;
  rawPayloads: number;
  receipts: number;
  conversions: number;
  exports: number;
}

type Column = readonly [name: string, type: string];

/** One INSERT … SELECT FROM unnest(arrays) per batch: a round trip per table, not per row. */
async function bulkInsert(
  client: Pick<pg.ClientBase, 'query'>,
  table: string,
  columns: readonly Column[],
  rows: unknown[][],
): Promise<void> {
  if (rows.length === 0) return;
  const arrays = columns.map((_, i) => rows.map((r) => r[i]));
  const names = columns.map(([n]) => n).join(', ');
  const params = columns.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ');
  await client.query(`INSERT INTO ${table} (${names}) SELECT * FROM unnest(${params})`, arrays);
}

const CLICK_COLUMNS = [
  ['id', 'uuid'],
  ['workspace_id', 'uuid'],
  ['source', 'text'],
  ['link_id', 'text'],
  ['ref_hash', 'text'],
  ['fbclid_enc', 'bytea'],
  ['gclid_enc', 'bytea'],
  ['msclkid_enc', 'bytea'],
  ['ttclid_enc', 'bytea'],
  ['li_fat_id_enc', 'bytea'],
  ['ctwa_clid_enc', 'bytea'],
  ['click_id_prefixes', 'jsonb'],
  ['ad_source_id', 'text'],
  ['ad_source_type', 'text'],
  ['utm_source', 'text'],
  ['utm_medium', 'text'],
  ['utm_campaign', 'text'],
  ['utm_term', 'text'],
  ['utm_content', 'text'],
  ['created_at', 'timestamptz'],
] as const;
const ENC_COLUMN_ORDER = ['fbclid', 'gclid', 'msclkid', 'ttclid', 'li_fat_id', 'ctwa_clid'] as const;
const CONVERSATION_COLUMNS = [
  ['id', 'uuid'],
  ['workspace_id', 'uuid'],
  ['provider', 'text'],
  ['sender_hash', 'text'],
  ['sender_kind', 'text'],
  ['started_at', 'timestamptz'],
  ['ctwa_clid_enc', 'bytea'],
  ['ctwa_clid_prefix', 'text'],
  ['ad_source_id', 'text'],
  ['ad_source_type', 'text'],
  ['matched_click_id', 'uuid'],
  ['matched_click_at', 'timestamptz'],
  ['attribution_method', 'text'],
  ['attribution_latency_ms', 'int8'],
  ['created_at', 'timestamptz'],
] as const;
const RAW_COLUMNS = [
  ['id', 'uuid'],
  ['workspace_id', 'uuid'],
  ['provider', 'text'],
  ['message_hash', 'text'],
  ['conversation_id', 'uuid'],
  ['payload_enc', 'bytea'],
  ['received_at', 'timestamptz'],
] as const;
const RECEIPT_COLUMNS = [
  ['workspace_id', 'uuid'],
  ['provider', 'text'],
  ['message_hash', 'text'],
  ['received_at', 'timestamptz'],
] as const;
const CONVERSION_COLUMNS = [
  ['id', 'uuid'],
  ['workspace_id', 'uuid'],
  ['event', 'text'],
  ['value', 'numeric'],
  ['currency', 'text'],
  ['occurred_at', 'timestamptz'],
  ['conversation_id', 'uuid'],
  ['click_id', 'uuid'],
  ['click_created_at', 'timestamptz'],
  ['match_method', 'text'],
  ['attributed', 'bool'],
  ['created_at', 'timestamptz'],
] as const;
const EXPORT_COLUMNS = [
  ['id', 'uuid'],
  ['workspace_id', 'uuid'],
  ['conversion_id', 'uuid'],
  ['platform', 'text'],
  ['click_kind', 'text'],
  ['created_at', 'timestamptz'],
] as const;
const ATTEMPT_COLUMNS = [
  ['id', 'uuid'],
  ['workspace_id', 'uuid'],
  ['export_job_id', 'uuid'],
  ['attempt', 'int4'],
  ['outcome', 'text'],
  ['http_status', 'int4'],
  ['created_at', 'timestamptz'],
] as const;

/** Hashes and ciphertext exactly as the ingest write path stores them. */
export interface SyntheticCrypto {
  senderHash(sender: SyntheticConversation['sender']): string;
  messageHash(provider: string, messageId: string): string;
  refHash(code: string): string;
  encrypt(table: string, column: string, value: string): Buffer;
}

export async function syntheticCrypto(keyring: Pick<Keyring, 'currentKey'>, workspaceId: string, region: Region): Promise<SyntheticCrypto> {
  const dek: VersionedKey = await keyring.currentKey(workspaceId, region, 'dek');
  const hmac = (await keyring.currentKey(workspaceId, region, 'hmac')).key;
  // A few thousand fictional numbers recur across many conversations: hash each once.
  const phoneHashes = new Map<string, string>();
  const phoneHash = (e164: string) => {
    let h = phoneHashes.get(e164);
    if (!h) phoneHashes.set(e164, (h = hashPhone(hmac, normalisePhone(e164))));
    return h;
  };
  return {
    senderHash: (s) => (s.kind === 'phone' ? phoneHash(s.e164) : hashIdentifier(hmac, 'bsuid', s.id)),
    messageHash: (provider, id) => hashIdentifier(hmac, `msg.${provider}`, id),
    refHash: (code) => hashIdentifier(hmac, 'ref', code),
    encrypt: (table, column, value) => encryptField(dek, fieldContext(workspaceId, table, column), value),
  };
}

const uuidFrom = (s: string) => {
  const h = createHash('sha256').update(s).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

/**
 * Writes `conversations` synthetic conversations (with their clicks, minimised
 * encrypted payloads, receipts, conversions and exports) into one workspace,
 * in batches. The clear phone numbers and click ids never leave this process:
 * only their keyed hashes and ciphertext are written.
 */
export async function seedSynthetic(
  deps: { pool: pg.Pool; keyring: Pick<Keyring, 'currentKey'> },
  opts: SeedOptions,
  onProgress?: (done: number) => void,
): Promise<SeedCounts> {
  const days = opts.days ?? 60;
  const batchSize = opts.batchSize ?? 5_000;
  const rng = createRng(opts.seed ?? 1);
  const ws = opts.workspaceId;
  const crypto = await syntheticCrypto(deps.keyring, ws, opts.region);
  const counts: SeedCounts = { clicks: 0, conversations: 0, rawPayloads: 0, receipts: 0, conversions: 0, exports: 0 };
  const now = Date.now();
  const from = new Date(now - days * 86_400_000);
  const spanMs = days * 86_400_000 - 3_600_000;
  await deps.pool.query('SELECT wact_private.ensure_ingest_partitions(($1::date), $2)', [
    from.toISOString().slice(0, 10),
    Math.min(400, days + 15),
  ]);

  function buildBatch(n: number) {
    const clicks: unknown[][] = [];
    const convs: unknown[][] = [];
    const raws: unknown[][] = [];
    const receipts: unknown[][] = [];
    const conversions: unknown[][] = [];
    const exportsRows: unknown[][] = [];
    const attempts: unknown[][] = [];
    for (let i = 0; i < n; i++) {
      const c = syntheticConversation(rng, from, spanMs);
      const senderHash = crypto.senderHash(c.sender);
      const k = c.click;
      if (k) {
        const enc = ENC_COLUMN_ORDER.map((kind) => (kind === k.kind ? crypto.encrypt('clicks', `${kind}_enc`, k.clickId) : null));
        clicks.push([
          k.id,
          ws,
          k.source,
          null,
          k.refCode ? crypto.refHash(k.refCode) : null,
          ...enc,
          JSON.stringify({ [k.kind]: k.clickId.slice(0, 4) }),
          k.adSourceId,
          k.adSourceId ? 'ad' : null,
          k.utm.source,
          k.utm.medium,
          k.utm.campaign,
          k.utm.term,
          k.utm.content,
          k.createdAt,
        ]);
      }
      const ctwa = k?.kind === 'ctwa_clid';
      convs.push([
        c.id,
        ws,
        c.provider,
        senderHash,
        c.sender.kind,
        c.startedAt,
        ctwa ? crypto.encrypt('conversations', 'ctwa_clid_enc', k.clickId) : null,
        ctwa ? k.clickId.slice(0, 4) : null,
        ctwa ? k.adSourceId : null,
        ctwa ? 'ad' : null,
        k?.id ?? null,
        k?.createdAt ?? null,
        k ? (ctwa ? 'ctwa_clid' : 'ref_code') : null,
        k ? c.startedAt.getTime() - k.createdAt.getTime() : null,
        c.startedAt,
      ]);
      for (const m of c.messages) {
        const messageHash = crypto.messageHash(c.provider, m.messageId);
        // The minimised record exactly as ingest writes it (ingest/webhooks/webhook-service.ts toRecord), then encrypted.
        const minimised = JSON.stringify({
          v: 1,
          provider: c.provider,
          message_hash: messageHash,
          sender_hash: senderHash,
          sender_kind: c.sender.kind,
          timestamp: m.receivedAt.toISOString(),
          type: 'text',
          ...(k?.refCode && m === c.messages[0] ? { ref_code: k.refCode } : {}),
          ...(ctwa && m === c.messages[0] ? { referral: { ctwa_clid: k.clickId, source_id: k.adSourceId, source_type: 'ad' } } : {}),
        });
        raws.push([
          uuidFrom(`${c.id}/${m.messageId}`),
          ws,
          c.provider,
          messageHash,
          c.id,
          crypto.encrypt('raw_webhook_payloads', 'payload_enc', minimised),
          m.receivedAt,
        ]);
        receipts.push([ws, c.provider, messageHash, m.receivedAt]);
      }
      for (const v of c.conversions) {
        if (v.occurredAt.getTime() > now) continue;
        conversions.push([
          v.id,
          ws,
          v.event,
          v.value,
          v.currency,
          v.occurredAt,
          c.id,
          k?.id ?? null,
          k?.createdAt ?? null,
          'phone',
          !!k,
          v.occurredAt,
        ]);
        if (k) {
          const exportId = uuidFrom(`export/${v.id}`);
          const at = new Date(v.occurredAt.getTime() + 30_000);
          exportsRows.push([exportId, ws, v.id, PLATFORM_OF[k.kind], k.kind, v.occurredAt]);
          attempts.push([uuidFrom(`attempt/${v.id}`), ws, exportId, 1, 'sent', 200, at.getTime() > now ? new Date(now) : at]);
        }
      }
    }
    return { clicks, convs, raws, receipts, conversions, exportsRows, attempts };
  }

  async function writeBatch(b: ReturnType<typeof buildBatch>): Promise<void> {
    const { clicks, convs, raws, receipts, conversions, exportsRows, attempts } = b;
    const client = await deps.pool.connect();
    try {
      await client.query('BEGIN');
      await bulkInsert(client, 'wact.clicks', CLICK_COLUMNS, clicks);
      await bulkInsert(client, 'wact.conversations', CONVERSATION_COLUMNS, convs);
      await bulkInsert(client, 'wact.raw_webhook_payloads', RAW_COLUMNS, raws);
      await bulkInsert(client, 'wact.webhook_receipts', RECEIPT_COLUMNS, receipts);
      await bulkInsert(client, 'wact.conversions', CONVERSION_COLUMNS, conversions);
      await bulkInsert(client, 'wact.export_jobs', EXPORT_COLUMNS, exportsRows);
      await bulkInsert(client, 'wact.export_attempts', ATTEMPT_COLUMNS, attempts);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  // Building a batch (hashing, encrypting) overlaps the database writing earlier ones, on up to
  // `writers` connections at once (each batch is its own transaction; order does not matter).
  const writers = Math.max(1, opts.writers ?? 2);
  const inflight: Promise<void>[] = [];
  for (let done = 0; done < opts.conversations;) {
    const n = Math.min(batchSize, opts.conversations - done);
    const batch = buildBatch(n);
    if (inflight.length >= writers) await inflight.shift();
    counts.clicks += batch.clicks.length;
    counts.conversations += batch.convs.length;
    counts.rawPayloads += batch.raws.length;
    counts.receipts += batch.receipts.length;
    counts.conversions += batch.conversions.length;
    counts.exports += batch.exportsRows.length;
    done += n;
    const reached = done;
    inflight.push(writeBatch(batch).then(() => onProgress?.(reached)));
  }
  await Promise.all(inflight);
  return counts;
}
