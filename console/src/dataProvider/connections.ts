/**
 * Gateway connection details handed out once (at grant, or when a new token is issued).
 * Kept in memory for the page's life only, never in the query cache or web storage, and
 * dropped after being read by the screen that shows it.
 */
export interface ConnectionInfo {
  host?: string;
  port?: number;
  user?: string;
  database?: string;
  /** The session token (the libpq password). Copied on request, never rendered or put in a command. */
  password?: string;
  /** PEM of the CA the gateway's certificate chains to; null: the system store. */
  sslrootcert?: string | null;
  caFingerprint?: string | null;
}

/** Where the console tells people to save the gateway CA (the same folder the CLI uses by default). */
export const CA_FILE = '$HOME/.config/wact/gateway-ca.crt';

const pending = new Map<string, ConnectionInfo>();

export function rememberConnection(sessionId: string, info: ConnectionInfo): void {
  pending.set(sessionId, info);
}

export function takeConnection(sessionId: string): ConnectionInfo | undefined {
  const info = pending.get(sessionId);
  pending.delete(sessionId);
  return info;
}

function shellWord(value: string): string {
  return /^[A-Za-z0-9._:-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The psql command to show: every setting in the environment, the certificate checked
 * (verify-full against the saved CA), and no secret — psql asks for the password, and the
 * token is pasted there, so it never reaches shell history or `ps`. Undefined when the answer
 * lacks the fields (an old-style answer with a token URL is never shown).
 */
export function commandOf(info: ConnectionInfo | undefined): string | undefined {
  if (!info?.host || !info.port || !info.user || !info.database) return undefined;
  return [
    `PGHOST=${shellWord(info.host)}`,
    `PGPORT=${Number(info.port)}`,
    `PGDATABASE=${shellWord(info.database)}`,
    `PGUSER=${shellWord(info.user)}`,
    'PGSSLMODE=verify-full',
    // Without a CA from the broker libpq uses ~/.postgresql/root.crt and fails when there is none.
    ...(info.sslrootcert ? [`PGSSLROOTCERT="${CA_FILE}"`] : []),
    'psql',
  ].join(' ');
}
