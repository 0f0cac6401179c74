import pg from 'pg';
import { clientConfigFor } from '../db/database-urls.ts';
import { createPlatform } from '../runtime/platform.ts';
import type { RunningService, ServiceContext } from '../runtime/service-types.ts';
import { AUDIT_DATABASES, auditParts } from './audit-platform.ts';
import { serveSignRequests } from './audit-sign-requests.ts';

/**
 * The audit signer: the only process that holds the audit signing key
 * (WACT_AUDIT_SIGNING_KMS_KEY in production, whose kms:Sign its IAM role
 * alone has; a local Ed25519 file in development). It answers the broker's
 * sign requests (audit.sign_requests, after re-checking each claim against
 * the events), and every WACT_AUDIT_SIGN_INTERVAL_SECONDS signs moved chain
 * heads and writes digest files. Development: `wact start` runs it as its own
 * component; production: its own deployable, `wact audit signer`.
 *
 * Database role: wact_signer, the only role that may publish signing keys and
 * write signed heads and digests (the broker can only ask, in
 * audit.sign_requests). The key is what makes a signature; the role keeps a
 * broker credential from publishing a key of its own or planting heads.
 */
export async function startAuditSigner(
  ctx: Pick<ServiceContext, 'config' | 'databases'>,
  opts: { pollMs?: number } = {},
): Promise<RunningService> {
  const { config, databases } = ctx;
  const platform = createPlatform(config, databases, 'signer', { name: 'audit-signer', poolMax: 4 });
  const { signer, poolFor } = auditParts(platform);
  const log = (msg: string, extra?: Record<string, unknown>) => platform.logger.warn(extra ?? {}, msg);
  let server: Awaited<ReturnType<typeof serveSignRequests>> | undefined;
  try {
    // Register the key in every database first: a refused key (production without KMS) stops the start.
    for (const db of AUDIT_DATABASES) await signer.activeKey(db);
    server = await serveSignRequests({
      signer,
      poolFor,
      databases: AUDIT_DATABASES,
      pollMs: opts.pollMs,
      log,
      listen: async (db) => {
        const c = new pg.Client({
          ...clientConfigFor(databases.urls[db], 'wact_signer', databases.credential('signer', db)),
          application_name: 'wact-audit-signer-requests',
        });
        await c.connect();
        return c;
      },
    });
  } catch (err) {
    await server?.stop();
    await platform.close();
    throw err;
  }
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const sign = () => {
    if (stopped) return;
    running = running
      .then(async () => {
        for (const db of AUDIT_DATABASES) {
          const r = await signer.signHeads(db, 'periodic');
          // Digest files: what the customer downloads and keeps as a witness (docs/audit-export.md).
          const d = await signer.makeDigests(db);
          for (const b of [...r.broken, ...d.broken])
            platform.logger.error({ streamId: b.streamId, seq: b.seq }, `AUDIT CHAIN BROKEN: ${b.message}`);
        }
      })
      .catch((err: unknown) => platform.logger.error({ err }, 'audit signing run failed'));
  };
  const timer = setInterval(sign, config.raw.WACT_AUDIT_SIGN_INTERVAL_SECONDS * 1000);
  timer.unref();
  return {
    name: 'audit-signer',
    urls: {},
    async close() {
      stopped = true;
      clearInterval(timer);
      await running;
      await server?.stop();
      await platform.close();
    },
  };
}
