import { accessServiceFor } from '../access/access-wiring.ts';
import { createPlatform } from '../../shared/runtime/platform.ts';
import type { RunningService, ServiceContext } from '../../shared/runtime/service-types.ts';
import { createGateway } from './gateway-server.ts';

/** `wact start`: the auditing PostgreSQL gateway on GATEWAY_PORT (TLS only). */
export async function startGateway(ctx: ServiceContext): Promise<RunningService> {
  const platform = createPlatform(ctx.config, ctx.databases, 'broker', { name: 'gateway' });
  const access = accessServiceFor(platform);
  const gateway = createGateway({
    tls: ctx.tls,
    sessions: access.gatewaySource(),
    audit: platform.audit,
    logger: platform.logger,
    watchIntervalMs: Number(ctx.config.raw.GATEWAY_WATCH_INTERVAL_MS ?? 500),
  });
  const unsubscribe = access.onSessionEnded((id, status) => void gateway.endSession(id, status));
  const { port } = await gateway.listen(ctx.config.ports.gateway, ctx.config.host);
  const host = access.settings.gatewayHost;
  return {
    name: 'gateway',
    urls: { gateway: `postgresql://${host}:${port}/?sslmode=verify-full` },
    notes: [
      'database sessions: `wact db connect --workspace <id> --reason "<why>"` starts psql through the gateway (verify-full, token never in argv)',
    ],
    async close() {
      unsubscribe();
      await gateway.close();
      await platform.close();
    },
  };
}
