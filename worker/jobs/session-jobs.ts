import { accessOf } from '../../shared/access/access-wiring.ts';
import type { JobFactory } from '../worker-types.ts';

/** Seconds between session sweeps (expiry, role drops, late end events); tests shorten it. */
export const SESSION_SWEEP_SECONDS = 10;

/**
 * The access-session sweep: expires due sessions (and undecided requests),
 * ends and drops their roles, retries role ends that failed, drops orphaned
 * session roles, writes end events whose append failed. It runs here, not in
 * a gateway: with no gateway running, expired sessions still end. Gateways
 * hear each ending through the database (LISTEN wact_access_session_ended).
 */
export const sessionJobs: JobFactory = (root, opts) => {
  const access = accessOf(root);
  return {
    jobs: [
      {
        group: 'sessions',
        scope: 'global',
        queue: {
          name: 'access.session_sweep',
          policy: 'stately',
          retryLimit: 2,
          retryDelaySeconds: 5,
          retryBackoff: true,
          expireInSeconds: 300,
        },
        schedule: { everySeconds: opts.intervals?.sessionSweep ?? SESSION_SWEEP_SECONDS },
        pollSeconds: 1,
        async run() {
          const r = await access.sweep();
          if (r.expired || r.dropped) root.platform('broker').logger.info(r, 'session sweep');
        },
      },
    ],
  };
};
