import { useEffect, useState } from 'react';
import { httpClient } from '../http/httpClient.ts';

let cached: Promise<string> | undefined;

/**
 * The public base URL of ingest (webhooks, tracking links). The broker tells it in
 * `/api/console/config`; otherwise the same host on ingest's default port.
 */
export function ingestBase(): Promise<string> {
  cached ??= httpClient('/api/console/config')
    .then(({ json }) => String(json?.ingestUrl ?? json?.ingestPublicUrl ?? fallback()))
    .catch(() => fallback());
  return cached;
}

function fallback(): string {
  return typeof window === 'undefined' ? 'https://localhost:8443' : `https://${window.location.hostname}:8443`;
}

export function useIngestBase(): string {
  const [base, setBase] = useState(fallback());
  useEffect(() => {
    void ingestBase().then(setBase);
  }, []);
  return base;
}
