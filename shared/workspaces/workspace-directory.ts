import { NotFoundError } from '../errors/errors.ts';
import type { Workspace, WorkspaceService } from './workspace-service.ts';

/**
 * Every request starts from the control directory (which region holds this
 * workspace?). Ingest caches the answer briefly so a webhook burst costs one
 * control-database query per workspace per period; a wiped workspace stops
 * being served within that period. Unknown ids are remembered for a few
 * seconds so junk traffic cannot hammer the control database.
 */
export function createWorkspaceDirectory(deps: { workspaces: Pick<WorkspaceService, 'get'>; ttlMs: number; now?: () => number }) {
  const now = deps.now ?? Date.now;
  const hits = new Map<string, { value: Promise<Workspace>; expiresAt: number }>();
  const NEGATIVE_MS = 5000;
  const LIMIT = 50_000;

  function resolve(id: string): Promise<Workspace> {
    const t = now();
    const hit = hits.get(id);
    if (hit && hit.expiresAt > t) return hit.value;
    if (hits.size >= LIMIT) hits.clear();
    const entry = { value: deps.workspaces.get(id), expiresAt: t + deps.ttlMs };
    entry.value.catch((err: unknown) => {
      if (err instanceof NotFoundError) entry.expiresAt = now() + NEGATIVE_MS;
      else if (hits.get(id) === entry) hits.delete(id); // transient failure: do not cache
    });
    if (deps.ttlMs > 0) hits.set(id, entry);
    return entry.value;
  }

  return { resolve, forget: (id: string) => void hits.delete(id) };
}

export type WorkspaceDirectory = ReturnType<typeof createWorkspaceDirectory>;
