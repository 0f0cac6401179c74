import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';
import { randomUUID } from 'node:crypto';
import type { Region } from '../../shared/config/config.ts';
import { UnauthorizedError } from '../../shared/errors/errors.ts';
import type { Workspace } from '../../shared/workspaces/workspace-service.ts';
import type { WorkspaceDirectory } from '../workspace-directory.ts';

/**
 * Workspace API keys: `wact_<workspace id, 32 hex>_<32 random bytes, base64url>`.
 * The workspace id in the key says which region to look in (through the
 * control directory); only SHA-256 of the whole key is stored (the key has
 * 256 random bits, so a fast hash is enough), and the key is shown once.
 */
const KEY = /^wact_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$/;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

function workspaceIdOf(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function createApiKeyService(deps: { poolFor: (region: Region) => pg.Pool; directory?: WorkspaceDirectory; ttlMs?: number }) {
  const cache = new Map<string, { ws: Workspace; expiresAt: number }>();

  async function create(ws: { id: string; region: Region }, label = ''): Promise<{ id: string; key: string }> {
    const key = `wact_${ws.id.replaceAll('-', '')}_${randomBytes(32).toString('base64url')}`;
    const id = randomUUID();
    await deps
      .poolFor(ws.region)
      .query('INSERT INTO wact.api_keys (id, workspace_id, key_hash, label) VALUES ($1, $2, $3, $4)', [
        id,
        ws.id,
        hashApiKey(key),
        label.slice(0, 200),
      ]);
    return { id, key };
  }

  /** The workspace a presented key belongs to; 401 for anything else (one message for every failure). */
  async function authenticate(presented: string | undefined): Promise<Workspace> {
    const refuse = () => new UnauthorizedError('a valid workspace API key is required', 'invalid_api_key');
    const m = presented ? KEY.exec(presented) : null;
    if (!m || !deps.directory) throw refuse();
    const hash = hashApiKey(presented!);
    const hit = cache.get(hash);
    if (hit && hit.expiresAt > Date.now()) return hit.ws;
    let ws: Workspace;
    try {
      ws = await deps.directory.resolve(workspaceIdOf(m[1]));
    } catch {
      throw refuse();
    }
    const { rows } = await deps
      .poolFor(ws.region)
      .query('SELECT 1 FROM wact.api_keys WHERE key_hash = $1 AND workspace_id = $2 AND revoked_at IS NULL', [hash, ws.id]);
    if (!rows[0]) throw refuse();
    if ((deps.ttlMs ?? 0) > 0) {
      if (cache.size > 10_000) cache.clear();
      cache.set(hash, { ws, expiresAt: Date.now() + deps.ttlMs! });
    }
    return ws;
  }

  return { create, authenticate };
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>;

/** The key from `Authorization: Bearer …` or `X-Api-Key`. */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string' && /^Bearer\s+/i.test(auth)) return auth.replace(/^Bearer\s+/i, '').trim();
  const x = headers['x-api-key'];
  return typeof x === 'string' ? x.trim() : undefined;
}
