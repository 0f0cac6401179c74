import express from 'express';
import { AUDIT_DATABASES } from '../../shared/audit/audit-platform.ts';
import type { PublicAuditKey } from '../../shared/audit/audit-signing.ts';
import type { BrokerServices } from '../http/route-types.ts';
import { auditFeature } from './audit-feature.ts';

const CACHE_MS = 60_000;

/**
 * GET /.well-known/wact-audit-keys: the Ed25519 public keys that sign audit
 * chain heads, as a JWK set ({ keys: [{ kty: 'OKP', crv: 'Ed25519', x, kid, … }] }).
 * Public on purpose: a customer verifies exports with nothing else.
 */
export function auditWellKnownRouter(services: BrokerServices): express.Router {
  const router = express.Router();
  let cached: { at: number; keys: PublicAuditKey[] } | undefined;
  router.get('/.well-known/wact-audit-keys', async (_req, res, next) => {
    try {
      if (!cached || Date.now() - cached.at > CACHE_MS) {
        const { signer } = auditFeature(services).parts;
        // Make sure every database has a key (first start), then publish all, retired included.
        await Promise.all(AUDIT_DATABASES.map((db) => signer.activeKey(db).catch(() => undefined)));
        cached = { at: Date.now(), keys: await signer.publicKeys(AUDIT_DATABASES) };
      }
      res.setHeader('Cache-Control', 'public, max-age=300');
      res.json({ keys: cached.keys });
    } catch (err) {
      next(err);
    }
  });
  return router;
}
