import express from 'express';
import { AUDIT_DATABASES } from '../../shared/audit/audit-platform.ts';
import type { PublishedAuditKey } from '../../shared/audit/audit-keys.ts';
import type { BrokerServices } from '../http/route-types.ts';
import { auditFeature } from './audit-feature.ts';

const CACHE_MS = 60_000;

/**
 * GET /.well-known/wact-audit-keys: the public keys that sign audit heads,
 * export manifests and digests, as a JWK set with a fingerprint (SHA-256 of
 * the SPKI) and validity period per key, retired keys included so old exports
 * still verify ({ keys: [{ kid, alg, kty, crv, x, y?, fingerprint, validFrom,
 * validTo, source }] }). Public on purpose: a customer verifies with nothing else.
 */
export function auditWellKnownRouter(services: BrokerServices): express.Router {
  const router = express.Router();
  let cached: { at: number; keys: PublishedAuditKey[] } | undefined;
  router.get('/.well-known/wact-audit-keys', async (_req, res, next) => {
    try {
      if (!cached || Date.now() - cached.at > CACHE_MS) {
        const { signer } = auditFeature(services).parts;
        // Every key the audit signer registered (it does so at its start), retired included.
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
