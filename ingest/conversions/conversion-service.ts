import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Region } from '../../shared/config/config.ts';
import type { Keyring } from '../../shared/crypto/keyring-types.ts';
import { withTransaction } from '../../shared/db/pools.ts';
import { BadRequestError } from '../../shared/errors/errors.ts';
import type { JobQueue } from '../../shared/jobs/job-queue.ts';
import { hashIdentifier, hashPhone, InvalidPhoneError, normalisePhone } from '../../shared/phone/phone.ts';
import { conversionInput } from '../../shared/ingest-api/ingest-api-types.ts';
import { CLICK_COLUMNS, PLATFORM_CLICK_KINDS } from '../../shared/export/export-types.ts';
import type { AdPlatform } from '../../shared/workspaces/platform-credentials/platform-credentials-types.ts';
import type { PlatformCredentialService } from '../../shared/workspaces/platform-credentials/platform-credentials-service.ts';

/** Default name of the export queue (EXPORT_QUEUE). */
export const EXPORT_QUEUE = 'ad-export';

export interface ConversionResult {
  id: string;
  attributed: boolean;
  conversationId: string | null;
  duplicate: boolean;
  exports: AdPlatform[];
}

/**
 * A conversion: phone normalised and keyed-hashed in memory (the number goes
 * no further), matched to the sender's conversation and that conversation's
 * click, stored, and, for each connected ad platform that understands one
 * of the click's ids, an export job queued in the same transaction.
 */
export function createConversionService(deps: {
  poolFor: (region: Region) => pg.Pool;
  keyring: Pick<Keyring, 'currentKey' | 'keyVersion'>;
  platforms: Pick<PlatformCredentialService, 'connected'>;
  jobsFor?: (region: Region) => JobQueue | undefined;
  queue?: string;
}) {
  const queue = deps.queue ?? EXPORT_QUEUE;
  async function record(ws: { id: string; region: Region }, body: unknown): Promise<ConversionResult> {
    const input = conversionInput.parse(body);
    const occurredAt = new Date(input.occurred_at);
    if (occurredAt.getTime() > Date.now() + 24 * 3600_000 || occurredAt.getTime() < Date.UTC(2009, 0, 1)) {
      throw new BadRequestError('occurred_at is out of range', 'invalid_occurred_at');
    }
    const current = await deps.keyring.currentKey(ws.id, ws.region, 'hmac');
    const hmac = current.key;
    // The sender's hash under every hashing-key version: a conversation hashed before a key
    // rotation still matches. The number itself goes no further than this function.
    let senderHashes: string[] | undefined;
    if (input.phone !== undefined) {
      try {
        const e164 = normalisePhone(input.phone);
        senderHashes = [hashPhone(hmac, e164)];
        for (let v = current.version - 1; v >= 1; v--)
          senderHashes.push(hashPhone(await deps.keyring.keyVersion(ws.id, ws.region, 'hmac', v), e164));
      } catch (err) {
        if (err instanceof InvalidPhoneError) throw new BadRequestError('phone is not a valid phone number', 'invalid_phone');
        throw err;
      }
    }
    const keyHash = input.event_id ? hashIdentifier(hmac, 'conversion-event', input.event_id) : undefined;

    return withTransaction(deps.poolFor(ws.region), async (client) => {
      const id = randomUUID();
      if (keyHash) {
        const claimed = await client.query<{ conversion_id: string }>(
          `INSERT INTO wact.conversion_keys (workspace_id, key_hash, conversion_id) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING RETURNING conversion_id`,
          [ws.id, keyHash, id],
        );
        if (!claimed.rows[0]) {
          const prior = await client.query<{ conversion_id: string }>(
            'SELECT conversion_id FROM wact.conversion_keys WHERE workspace_id = $1 AND key_hash = $2',
            [ws.id, keyHash],
          );
          return { id: prior.rows[0].conversion_id, attributed: false, conversationId: null, duplicate: true, exports: [] };
        }
      }
      const conv = await findConversation(client, ws.id, senderHashes, input.conversation_id, occurredAt);
      const attributed = !!conv?.matched_click_id;
      await client.query(
        `INSERT INTO wact.conversions (id, workspace_id, event, value, currency, occurred_at, conversation_id, click_id, click_created_at, match_method, attributed)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [
          id,
          ws.id,
          input.event,
          input.value ?? null,
          input.currency ?? null,
          occurredAt.toISOString(),
          conv?.id ?? null,
          conv?.matched_click_id ?? null,
          conv?.matched_click_at ?? null,
          conv ? (senderHashes ? 'phone' : 'conversation_id') : null,
          attributed,
        ],
      );
      const exports: AdPlatform[] = [];
      if (attributed) {
        const kinds = await clickKinds(client, ws.id, conv!.matched_click_id!, conv!.matched_click_at!);
        const jobs = deps.jobsFor?.(ws.region);
        for (const platform of await deps.platforms.connected(client, ws.id)) {
          const kind = PLATFORM_CLICK_KINDS[platform].find((k) => kinds.has(k));
          if (!kind || !jobs) continue;
          const jobId = randomUUID();
          await client.query(
            'INSERT INTO wact.export_jobs (id, workspace_id, conversion_id, platform, click_kind) VALUES ($1, $2, $3, $4, $5)',
            [jobId, ws.id, id, platform, kind],
          );
          // ids only: the worker re-reads (and audits) what it needs
          await jobs.send(queue, { workspaceId: ws.id, exportJobId: jobId }, { client, singletonKey: jobId });
          exports.push(platform);
        }
      }
      return { id, attributed, conversationId: conv?.id ?? null, duplicate: false, exports };
    });
  }

  async function findConversation(
    client: pg.PoolClient,
    workspaceId: string,
    senderHashes: string[] | undefined,
    conversationId: string | undefined,
    occurredAt: Date,
  ) {
    type Row = { id: string; matched_click_id: string | null; matched_click_at: string | null };
    if (conversationId) {
      const { rows } = await client.query<Row>(
        'SELECT id, matched_click_id, matched_click_at::text FROM wact.conversations WHERE workspace_id = $1 AND id = $2 LIMIT 1',
        [workspaceId, conversationId],
      );
      return rows[0];
    }
    // The sender's latest conversation that started before the conversion (else their latest at all).
    const { rows } = await client.query<Row>(
      `SELECT id, matched_click_id, matched_click_at::text FROM wact.conversations
        WHERE workspace_id = $1 AND sender_hash = ANY($2::text[])
        ORDER BY (started_at <= $3::timestamptz + interval '10 minutes') DESC, started_at DESC LIMIT 1`,
      [workspaceId, senderHashes, occurredAt.toISOString()],
    );
    return rows[0];
  }

  async function clickKinds(client: pg.PoolClient, workspaceId: string, clickId: string, clickAt: string): Promise<Set<string>> {
    const cols = Object.entries(CLICK_COLUMNS)
      .map(([k, c]) => `(${c} IS NOT NULL) AS ${k}`)
      .join(', ');
    const { rows } = await client.query<Record<string, boolean>>(
      `SELECT ${cols} FROM wact.clicks WHERE workspace_id = $1 AND id = $2 AND created_at = $3::timestamptz`,
      [workspaceId, clickId, clickAt],
    );
    return new Set(
      rows[0]
        ? Object.entries(rows[0])
            .filter(([, v]) => v)
            .map(([k]) => k)
        : [],
    );
  }

  return { record };
}

export type ConversionService = ReturnType<typeof createConversionService>;
