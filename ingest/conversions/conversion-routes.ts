import express, { type Router } from 'express';
import { requireMediaType } from '../http-guards.ts';
import type { ApiKeyService } from '../../shared/workspaces/api-keys/api-keys-service.ts';
import { presentedKey } from '../http-guards.ts';
import type { ConversionService } from './conversion-service.ts';

export function conversionRoutes(deps: { apiKeys: ApiKeyService; conversions: ConversionService; bodyLimitBytes: number }): Router {
  const router = express.Router();
  router.post(
    '/v1/conversions',
    requireMediaType('application/json'),
    express.json({ limit: deps.bodyLimitBytes, type: 'application/json' }),
    async (req, res) => {
      const ws = await deps.apiKeys.authenticate(presentedKey(req.headers));
      const result = await deps.conversions.record(ws, req.body);
      res.status(result.duplicate ? 200 : 201).json({
        id: result.id,
        attributed: result.attributed,
        conversation_id: result.conversationId,
        duplicate: result.duplicate,
        exports: result.exports,
      });
    },
  );
  return router;
}
