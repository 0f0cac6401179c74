import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Region } from '../../config/config.ts';
import { NotFoundError, UnauthorizedError } from '../../errors/errors.ts';
import type { Page, PageRequest } from '../page-types.ts';
import type { Workspace } from '../workspace-service.ts';
import type { WorkspaceDirectory } from '../workspace-directory.ts';
import { createApiKeysDal } from './api-keys-dal.ts';
import { API_KEY, type ApiKeyListItem, type CreatedApiKey } from './api-keys-types.ts';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

function workspaceIdOf(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * `create` is an operator/console action (CLI, broker); `authenticate` is
 * ingest's check of every keyed request, so only ingest passes a directory
 * (without one every key is refused: fail closed).
 */
export function createApiKeyService(deps: { poolFor: (region: Region) => pg.Pool; directory?: WorkspaceDirectory; ttlMs?: number }) {
  const cache = new Map<string, { ws: Workspace; expiresAt: number }>();
  const dal = (region: Region) => createApiKeysDal(deps.poolFor(region));

  async function create(ws: { id: string; region: Region }, label = ''): Promise<CreatedApiKey> {
    const key = `wact_${ws.id.replaceAll('-', '')}_${randomBytes(32).toString('base64url')}`;
    const id = randomUUID();
    await dal(ws.region).insert({ id, workspaceId: ws.id, keyHash: hashApiKey(key), label: label.slice(0, 200) });
    return { id, key };
  }

  /** The workspace a presented key belongs to; 401 for anything else (one message for every failure). */
  async function authenticate(presented: string | undefined): Promise<Workspace> {
    const refuse = () => new UnauthorizedError('a valid workspace API key is required', 'invalid_api_key');
    const m = presented ? API_KEY.exec(presented) : null;
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
    if (!(await dal(ws.region).isLive(ws.id, hash))) throw refuse();
    if ((deps.ttlMs ?? 0) > 0) {
      if (cache.size > 10_000) cache.clear();
      cache.set(hash, { ws, expiresAt: Date.now() + deps.ttlMs! });
    }
    return ws;
  }

  function list(ws: { id: string; region: Region }, page: PageRequest<'label' | 'createdAt'>): Promise<Page<ApiKeyListItem>> {
    return dal(ws.region).page(ws.id, page);
  }

  /**
   * Revokes a key. Ingest's cache may still accept it for up to `ttlMs` in
   * processes that authenticated it recently (the cache holds no negative state).
   */
  async function revoke(ws: { id: string; region: Region }, id: string): Promise<void> {
    if (!(await dal(ws.region).revoke(ws.id, id))) throw new NotFoundError('unknown or already revoked API key', 'apikey_not_found');
  }

  return { create, authenticate, list, revoke };
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>;
