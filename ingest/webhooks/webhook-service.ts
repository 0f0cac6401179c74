import type { Region } from '../../shared/config/config.ts';
import { encryptField, fieldContext } from '../../shared/crypto/field-cipher.ts';
import type { Keyring } from '../../shared/crypto/keyring-types.ts';
import { NotFoundError } from '../../shared/errors/errors.ts';
import { hashIdentifier, hashPhone } from '../../shared/phone/phone.ts';
import type { BspCredentialService } from '../../shared/workspaces/bsp-credentials/bsp-credentials-service.ts';
import { metaHandshake } from '../providers/meta.ts';
import {
  isProviderName,
  type InboundMessage,
  type ProviderAdapter,
  type ProviderName,
  type WebhookRequest,
} from '../providers/provider-types.ts';
import type { WorkspaceDirectory } from '../../shared/workspaces/workspace-directory.ts';
import type { InboundRecord } from './inbound-types.ts';
import type { InboundWriter } from './inbound-writer.ts';

export interface WebhookResult {
  stored: number;
  duplicates: number;
  ignored: number;
}

/**
 * A delivery's path: provider known → workspace in the directory → its
 * secret → signature over the raw bytes → parse (already minimised) → hash
 * and encrypt in memory → group-committed write → result. Anything refused
 * before the write stores nothing.
 */
export function createWebhookService(deps: {
  providers: Record<ProviderName, ProviderAdapter>;
  directory: WorkspaceDirectory;
  credentials: Pick<BspCredentialService, 'get'>;
  keyring: Pick<Keyring, 'currentKey' | 'keyVersion'>;
  writerFor: (region: Region) => InboundWriter;
}) {
  function adapterFor(provider: string): ProviderAdapter {
    if (!isProviderName(provider)) throw new NotFoundError('unknown provider', 'unknown_provider');
    return deps.providers[provider];
  }

  async function receive(provider: string, workspaceId: string, req: WebhookRequest): Promise<WebhookResult> {
    const adapter = adapterFor(provider);
    const ws = await deps.directory.resolve(workspaceId);
    const secret = await deps.credentials.get(ws, adapter.name);
    adapter.verify(req, secret);
    const parsed = adapter.parse(req);
    if (parsed.messages.length === 0) return { stored: 0, duplicates: 0, ignored: parsed.ignored };
    const [hmacKey, dek] = await Promise.all([
      deps.keyring.currentKey(ws.id, ws.region, 'hmac'),
      deps.keyring.currentKey(ws.id, ws.region, 'dek'),
    ]);
    // after a rotation, the previous hashing key too: senders, ref codes and retries stay recognisable
    const previous = hmacKey.version > 1 ? await deps.keyring.keyVersion(ws.id, ws.region, 'hmac', hmacKey.version - 1) : undefined;
    const records = parsed.messages.map((m) => toRecord(ws.id, adapter.name, m, hmacKey.key, dek, previous));
    const writer = deps.writerFor(ws.region);
    const outcomes = await Promise.all(records.map((r) => writer.write(r)));
    const duplicates = outcomes.filter((o) => o.duplicate).length;
    return { stored: outcomes.length - duplicates, duplicates, ignored: parsed.ignored };
  }

  async function handshake(provider: string, workspaceId: string, query: Record<string, unknown>): Promise<string> {
    const adapter = adapterFor(provider);
    if (adapter.name !== 'meta') throw new NotFoundError('this provider has no verification handshake', 'no_handshake');
    const ws = await deps.directory.resolve(workspaceId);
    const secret = await deps.credentials.get(ws, 'meta').catch(() => undefined);
    return metaHandshake(query, secret);
  }

  return { receive, handshake };
}

/**
 * Minimisation made concrete: of the parsed message only hashes, the time,
 * the type and the attribution fields survive, and those that identify a
 * person or a click are encrypted here, before anything is queued or written.
 */
export function toRecord(
  workspaceId: string,
  provider: ProviderName,
  m: InboundMessage,
  hmacKey: Buffer,
  dek: { version: number; key: Buffer },
  previousHmacKey?: Buffer,
): InboundRecord {
  const hashes = (key: Buffer) => ({
    message: hashIdentifier(key, `msg.${provider}`, m.messageId),
    sender: m.sender.kind === 'phone' ? hashPhone(key, m.sender.e164) : hashIdentifier(key, 'bsuid', m.sender.id),
    ref: m.refCode ? hashIdentifier(key, 'ref', m.refCode) : undefined,
  });
  const current = hashes(hmacKey);
  const prev = previousHmacKey ? hashes(previousHmacKey) : undefined;
  const messageHash = current.message;
  const senderHash = current.sender;
  const enc = (table: string, column: string, value: string) => encryptField(dek, fieldContext(workspaceId, table, column), value);
  const ref = m.referral;
  const referral = ref
    ? {
        ...(ref.ctwaClid
          ? {
              ctwaClidForClick: enc('clicks', 'ctwa_clid_enc', ref.ctwaClid),
              ctwaClidForConversation: enc('conversations', 'ctwa_clid_enc', ref.ctwaClid),
              ctwaPrefix: ref.ctwaClid.length >= 8 ? Array.from(ref.ctwaClid).slice(0, 4).join('') : undefined,
            }
          : {}),
        sourceId: ref.sourceId,
        sourceType: ref.sourceType,
        ...(ref.sourceUrl ? { sourceUrlEnc: enc('clicks', 'ad_source_url_enc', ref.sourceUrl) } : {}),
      }
    : undefined;
  const minimised = {
    v: 1,
    provider,
    message_hash: messageHash,
    sender_hash: senderHash,
    sender_kind: m.sender.kind,
    timestamp: m.timestamp.toISOString(),
    type: m.type,
    ...(m.refCode ? { ref_code: m.refCode } : {}),
    ...(ref
      ? { referral: { ctwa_clid: ref.ctwaClid, source_id: ref.sourceId, source_type: ref.sourceType, source_url: ref.sourceUrl } }
      : {}),
  };
  return {
    workspaceId,
    provider,
    messageHash,
    senderHash,
    senderKind: m.sender.kind,
    startedAt: m.timestamp,
    ...(current.ref ? { refHash: current.ref } : {}),
    ...(prev ? { senderHashPrev: prev.sender, messageHashPrev: prev.message, ...(prev.ref ? { refHashPrev: prev.ref } : {}) } : {}),
    ...(referral ? { referral } : {}),
    payloadEnc: enc('raw_webhook_payloads', 'payload_enc', JSON.stringify(minimised)),
  };
}
