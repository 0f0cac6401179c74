import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import { securityHeaders } from '../../shared/http/security-headers.ts';
import { createErrorHandler, notFoundHandler } from '../../shared/http/error-handler.ts';
import { createAuthRouter } from '../auth/auth-routes.ts';
import type { IdentityRuntime } from '../auth/identity-runtime.ts';
import { mountApiRoutes, type ConditionChecks } from './mount-routes.ts';
import type { ApiRoute, BrokerServices } from './route-types.ts';
import { auditWellKnownRouter } from '../audit/well-known-routes.ts';

export interface BrokerAppOptions {
  services: BrokerServices;
  identity: IdentityRuntime;
  routes: readonly ApiRoute[];
  conditions?: ConditionChecks;
  /** Built console (console/dist); served at / with index.html for client routes when present. */
  consoleDir?: string;
}

/**
 * The broker's express app, without a listener (tests mount it on port 0).
 * Order: security headers → /auth (sign-in, TOTP) → /api/me → /api (every
 * declared route behind session, CSRF, policy and audit) → console → errors.
 */
export function createBrokerApp(opts: BrokerAppOptions): express.Express {
  const { services, identity } = opts;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.set('query parser', 'simple');
  app.use(securityHeaders());
  app.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  const auth = createAuthRouter(identity);
  app.use('/auth', auth);
  app.use(auditWellKnownRouter(services)); // GET /.well-known/wact-audit-keys (public)

  const api = express.Router();
  api.use(express.json({ limit: '256kb' }));
  api.get('/me', auth.me);
  mountApiRoutes(api, opts.routes, {
    services,
    sessions: identity.sessions,
    memberships: identity.members,
    conditions: opts.conditions ?? {},
    publicOrigin: () => new URL(identity.settings.publicUrl).origin,
  });
  api.use(notFoundHandler);
  app.use('/api', api);

  const dir = opts.consoleDir;
  if (dir && fs.existsSync(path.join(dir, 'index.html'))) {
    const index = path.join(dir, 'index.html');
    app.use(express.static(dir, { index: false, fallthrough: true, maxAge: 0 }));
    // Client-side routes: any other GET for a page gets the SPA shell.
    app.get(/^\/(?!api\/|auth\/).*/, (req, res, next) => {
      if (!req.accepts('html')) return next();
      res.sendFile(index);
    });
  }
  app.use(notFoundHandler);
  app.use(createErrorHandler({ logger: services.platform.logger }));
  return app;
}
