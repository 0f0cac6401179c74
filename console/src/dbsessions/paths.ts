/** Access-broker actions on one session / request (one place to change them). */
export const DB_PATHS = {
  connect: (id: string | number) => `/api/db/sessions/${encodeURIComponent(String(id))}/connect`,
  revoke: (id: string | number) => `/api/db/sessions/${encodeURIComponent(String(id))}/revoke`,
  approve: (id: string | number) => `/api/db/requests/${encodeURIComponent(String(id))}/approve`,
  deny: (id: string | number) => `/api/db/requests/${encodeURIComponent(String(id))}/deny`,
};

export const STATUS_COLORS: Record<string, 'default' | 'success' | 'warning' | 'error' | 'info'> = {
  pending: 'warning',
  approved: 'success',
  active: 'success',
  granted: 'success',
  denied: 'error',
  revoked: 'error',
  expired: 'default',
  ended: 'default',
};
