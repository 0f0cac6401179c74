import type pg from 'pg';
import { TooManyRequestsError } from '../../shared/errors/errors.ts';

/**
 * Fixed-window counters in the control database, so every broker instance
 * shares them. One UPSERT per attempt; a window older than `windowMs` restarts.
 */
export function createRateLimiter(deps: { pool: pg.Pool; windowMs: number; namespace?: string }) {
  // The namespace (the OIDC client id) keeps separate deployments sharing a database apart.
  const prefix = deps.namespace ? `${deps.namespace}:` : '';
  async function hit(bucket: string, limit: number): Promise<void> {
    const { rows } = await deps.pool.query<{ hits: number }>(
      `INSERT INTO wact.rate_limits AS r (bucket, window_start, hits) VALUES ($1, now(), 1)
       ON CONFLICT (bucket) DO UPDATE SET
         hits = CASE WHEN r.window_start < now() - make_interval(secs => $2::double precision / 1000) THEN 1 ELSE r.hits + 1 END,
         window_start = CASE WHEN r.window_start < now() - make_interval(secs => $2::double precision / 1000) THEN now() ELSE r.window_start END
       RETURNING hits`,
      [(prefix + bucket).slice(0, 200), deps.windowMs],
    );
    if (rows[0].hits > limit) throw new TooManyRequestsError('too many sign-in attempts: wait a few minutes', 'rate_limited');
  }
  return { hit };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
