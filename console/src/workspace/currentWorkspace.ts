/**
 * The workspace the console is looking at. It is part of every customer API path
 * (`/api/workspaces/:workspaceId/...`), so the data provider reads it here. Only the id
 * is remembered between visits (sessionStorage): it is not a secret.
 */
type Listener = (id: string | undefined) => void;
const KEY = 'wact.workspace';
let current: string | undefined;
const listeners = new Set<Listener>();

function storage(): Storage | undefined {
  try {
    return typeof sessionStorage === 'undefined' ? undefined : sessionStorage;
  } catch {
    return undefined;
  }
}

export function getWorkspaceId(): string | undefined {
  if (current === undefined) current = storage()?.getItem(KEY) ?? undefined;
  return current;
}

export function setWorkspaceId(id: string | undefined): void {
  if (id === current) return;
  current = id;
  if (id) storage()?.setItem(KEY, id);
  else storage()?.removeItem(KEY);
  for (const l of listeners) l(id);
}

export function onWorkspaceChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
