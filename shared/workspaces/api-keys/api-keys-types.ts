/**
 * Workspace API keys: `wact_<workspace id, 32 hex>_<32 random bytes, base64url>`.
 * The workspace id in the key says which region to look in (through the
 * control directory); only SHA-256 of the whole key is stored (the key has
 * 256 random bits, so a fast hash is enough), and the key is shown once.
 */
export const API_KEY = /^wact_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$/;

export interface ApiKeyListItem {
  id: string;
  label: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/** A new key: `key` is the only copy of the secret, shown to its creator once. */
export interface CreatedApiKey {
  id: string;
  key: string;
}
