import type { AccessService } from '../../shared/access/access-service.ts';
import { GatewayAuthError, type GatewaySessionSource } from './gateway-types.ts';

/**
 * The access service as the gateway needs it: its token check turned into the
 * SQLSTATE and message the client sees (28P01 tells nothing about an unknown
 * session or a wrong token; 28000 says why a rightly presented one is unusable).
 */
export function accessSessionSource(
  access: Pick<AccessService, 'checkToken' | 'upstreamOf' | 'states' | 'addStatements'>,
): GatewaySessionSource {
  return {
    async authenticate(sessionId, token) {
      const check = await access.checkToken(sessionId, token);
      if (check.ok) return check.session;
      throw check.refusal === 'invalid'
        ? new GatewayAuthError('28P01', 'invalid session or token')
        : new GatewayAuthError('28000', check.message);
    },
    upstream: (session) => access.upstreamOf(session.id),
    statuses: (ids) => access.states(ids),
    addStatements: (counts) => access.addStatements(counts),
  };
}
