import pg from 'pg';
import { AUDIT_DATABASES, auditParts } from '../../shared/audit/audit-platform.ts';
import { pruneSignRequests, serveSignRequests } from '../../shared/audit/audit-sign-requests.ts';
import { clientConfigFor } from '../../shared/db/database-urls.ts';
import type { JobFactory } from '../worker-types.ts';

/**
 * The signing worker's part: the only code that holds the audit signing key
 * (WACT_AUDIT_SIGNING_KMS_KEY in production, whose kms:Sign only the signing
 * worker's IAM role has; a local Ed25519 file in development). It
 * - signs the chain heads that moved and writes digest files every
 *   WACT_AUDIT_SIGN_INTERVAL_SECONDS (a pg-boss schedule: once per tick
 *   whatever the number of workers), and
 * - answers brokers' sign requests (audit.sign_requests, LISTEN + re-read),
 *   after re-checking each claim against the events. Kept as a table rather
 *   than a pg-boss job: the broker already waits on it with LISTEN (answers
 *   in milliseconds, pg-boss fetches by polling), the request row is the
 *   audited record of what was asked, and any number of signing workers may
 *   answer (each request is claimed with SKIP LOCKED).
 *
 * Building it registers the key in every database first: a refused key
 * (production without KMS) stops the worker's start.
 */
export const auditSignJobs: JobFactory = async (root, opts) => {
  const platform = root.platform('signer');
  const { signer, poolFor } = auditParts(platform);
  for (const db of AUDIT_DATABASES) await signer.activeKey(db);
  const requests = await serveSignRequests({
    signer,
    poolFor,
    databases: AUDIT_DATABASES,
    pollMs: opts.signRequestPollMs,
    log: (msg, extra) => platform.logger.warn(extra ?? {}, msg),
    listen: async (db) => {
      const c = new pg.Client({
        ...clientConfigFor(root.databases.urls[db], 'wact_signer', root.databases.credential('signer', db)),
        application_name: 'wact-audit-sign-requests',
      });
      await c.connect();
      return c;
    },
  });
  return {
    jobs: [
      {
        group: 'audit-sign',
        scope: 'global',
        queue: {
          name: 'audit.sign_heads',
          policy: 'stately',
          retryLimit: 2,
          retryDelaySeconds: 30,
          retryBackoff: true,
          expireInSeconds: 1800,
        },
        schedule: { everySeconds: opts.intervals?.auditSign ?? root.config.raw.WACT_AUDIT_SIGN_INTERVAL_SECONDS },
        async run() {
          for (const db of AUDIT_DATABASES) {
            const r = await signer.signHeads(db, 'periodic');
            // Digest files: what the customer downloads and keeps as a witness (docs/audit-export.md).
            const d = await signer.makeDigests(db);
            for (const b of [...r.broken, ...d.broken])
              platform.logger.error({ streamId: b.streamId, seq: b.seq }, `AUDIT CHAIN BROKEN: ${b.message}`);
            // The broker's mailbox to this worker: answered requests do not pile up forever.
            const pruned = await pruneSignRequests(poolFor(db));
            if (pruned) platform.logger.info({ database: db, pruned }, 'answered audit sign requests pruned');
          }
        },
      },
    ],
    close: () => requests.stop(),
  };
};
