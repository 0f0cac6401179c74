import express, { type Router } from 'express';
import { WactError } from '../../shared/errors/errors.ts';
import { presentedKey, type ApiKeyService } from '../apikeys/apikey-service.ts';
import type { ConversionService } from './conversion-service.ts';

export function conversionRoutes(deps: { apiKeys: ApiKeyService; conversions: ConversionService; bodyLimitBytes: number }): Router {
  const router = express.Router();
  router.post('/v1/conversions', express.json({ limit: deps.bodyLimitBytes, type: () => true }), async (req, res) => {
    const ws = await deps.apiKeys.authenticate(presentedKey(req.headers));
    if (!req.is('application/json')) throw new WactError(415, 'unsupported_media_type', 'this endpoint expects application/json');
    const result = await deps.conversions.record(ws, req.body);
    res.status(result.duplicate ? 200 : 201).json({
      id: result.id,
      attributed: result.attributed,
      conversation_id: result.conversationId,
      duplicate: result.duplicate,
      exports: result.exports,
    });
  });
  return router;
}
