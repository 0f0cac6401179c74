import express, { type Router } from 'express';
import type { createWebhookService } from './webhook-service.ts';

/**
 * Meta's subscription handshake (`GET /v1/webhooks/meta/{workspaceId}?hub.…`).
 * Deliveries (`POST` on the same path) never reach express: they take the fast
 * path (webhook-fast-path.ts), the one place a webhook is received.
 */
export function webhookRoutes(deps: { service: Pick<ReturnType<typeof createWebhookService>, 'handshake'> }): Router {
  const router = express.Router();
  router.get('/v1/webhooks/:provider/:workspaceId', async (req, res) => {
    const challenge = await deps.service.handshake(
      String(req.params.provider),
      String(req.params.workspaceId),
      req.query as Record<string, unknown>,
    );
    res.status(200).type('text/plain').send(challenge);
  });
  return router;
}
