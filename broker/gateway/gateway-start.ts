import pg from 'pg';
import { accessOf } from '../../shared/access/access-wiring.ts';
import { accessSessionSource } from './access-session-source.ts';
import { listenForEndedSessions, type SessionEndListener } from './session-end-events.ts';
import type { Logger } from 'pino';
import { clientConfigFor } from '../../shared/db/database-urls.ts';
import { rootFor, type ServiceRoot } from '../../shared/runtime/service-root.ts';
import type { Databases } from '../../shared/runtime/databases.ts';
import type { RunningService, ServiceContext } from '../../shared/runtime/service-types.ts';
import { createGateway, type Gateway } from './gateway-server.ts';

/** Closes the gateway's connections of every session the control database announces as ended. */
export function followEndedSessions(
  gateway: Pick<Gateway, 'sessionEnded' | 'recheck'>,
  deps: { databases: Pick<Databases, 'urls' | 'credential'>; logger: Pick<Logger, 'warn'> },
): SessionEndListener {
  const warn = (msg: string, err: unknown) => deps.logger.warn({ err: { message: (err as Error).message } }, msg);
  return listenForEndedSessions({
    connect: () =>
      new pg.Client({
        ...clientConfigFor(deps.databases.urls.control, 'wact_broker', deps.databases.credential('broker', 'control')),
        application_name: 'wact-gateway-session-events',
      }),
    onEnded: (id) => void gateway.sessionEnded(id).catch((err: unknown) => warn('session end failed', err)),
    onGap: () => void gateway.recheck().catch(() => undefined),
    onError: (err) => warn('session event listener down (re-reading by polling)', err),
  });
}

/**
 * `wact serve gateway` (and `wact start`): the auditing PostgreSQL gateway on
 * GATEWAY_PORT (TLS only), on the process's one access service. It learns of
 * ended sessions from the database (LISTEN wact_access_session_ended), whoever
 * ended them; expiring due sessions and dropping roles is the worker's job.
 */
export async function startGateway(ctx: ServiceContext | ServiceRoot): Promise<RunningService> {
  const { root, owned } = rootFor(ctx, 'gateway');
  const platform = root.platform('broker');
  const access = accessOf(root);
  const gateway = createGateway({
    tls: root.tls,
    sessions: accessSessionSource(access),
    audit: platform.audit,
    logger: platform.logger,
    watchIntervalMs: Number(root.config.raw.GATEWAY_WATCH_INTERVAL_MS ?? 500),
  });
  const ended = followEndedSessions(gateway, { databases: root.databases, logger: platform.logger });
  await ended.ready;
  const { port } = await gateway.listen(root.config.ports.gateway, root.config.host);
  const host = access.settings.gatewayHost;
  return {
    name: 'gateway',
    urls: { gateway: `postgresql://${host}:${port}/?sslmode=verify-full` },
    notes: [
      'database sessions: `wact db connect --workspace <id> --reason "<why>"` starts psql through the gateway (verify-full, token never in argv)',
    ],
    async close() {
      await ended.close();
      await gateway.close();
      if (owned) await root.close();
    },
  };
}
