/** Access-broker actions on one session or request (one place to change them). */
const one = (id: string | number) => `/api/db/sessions/${encodeURIComponent(String(id))}`;
export const DB_PATHS = {
  token: (id: string | number) => `${one(id)}/token`,
  revoke: (id: string | number) => `${one(id)}/revoke`,
  end: (id: string | number) => `${one(id)}/end`,
  approve: (id: string | number) => `${one(id)}/approve`,
  deny: (id: string | number) => `${one(id)}/deny`,
};

export const STATUS_COLORS: Record<string, 'default' | 'success' | 'warning' | 'error' | 'info'> = {
  pending: 'warning',
  active: 'success',
  denied: 'error',
  revoked: 'error',
  expired: 'default',
  ended: 'default',
};

export function minutes(ttlSeconds: unknown): string {
  const n = Number(ttlSeconds);
  return Number.isFinite(n) && n > 0 ? `${Math.round(n / 60)} min` : '—';
}
