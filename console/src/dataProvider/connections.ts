/**
 * Gateway connection details handed out once (at grant, or when a new token is issued).
 * Kept in memory for the page's life only, never in the query cache or web storage, and
 * dropped after being read by the screen that shows it.
 */
export interface ConnectionInfo {
  psql?: string;
  url?: string;
  host?: string;
  port?: number;
  user?: string;
  database?: string;
}

const pending = new Map<string, ConnectionInfo>();

export function rememberConnection(sessionId: string, info: ConnectionInfo): void {
  pending.set(sessionId, info);
}

export function takeConnection(sessionId: string): ConnectionInfo | undefined {
  const info = pending.get(sessionId);
  pending.delete(sessionId);
  return info;
}

export function commandOf(info: ConnectionInfo | undefined): string | undefined {
  if (!info) return undefined;
  return info.psql ?? (info.url ? `psql "${info.url}"` : undefined);
}
