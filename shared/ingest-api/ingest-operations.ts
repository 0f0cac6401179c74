import { z } from 'zod';
import { PROVIDERS } from '../workspaces/bsp-credentials/bsp-credentials-types.ts';
import { conversionInput, snippetInput } from './ingest-api-types.ts';

/**
 * Ingest's public endpoints for the broker's OpenAPI document. Ingest's routes
 * are plain express handlers (no ApiRoute table), so they are listed here, with
 * the schemas ingest validates with (ingest-api-types.ts);
 * test/http/openapi.test.ts walks ingest's express app and fails on any route
 * missing here or listed here but not registered.
 */
export interface IngestOperation {
  method: 'get' | 'post';
  path: string;
  summary: string;
  description: string;
  /** Who may call it: ingest has no roles, only these proofs. */
  auth: { kind: 'none'; description: string } | { kind: 'api-key'; description: string } | { kind: 'bsp-signature'; description: string };
  success: '200' | '201' | '302';
  /** Shaped like the broker's RouteRequest, which the OpenAPI builder reads. */
  request?: { params?: Record<string, z.ZodType>; body?: z.ZodType };
  /** The body is read as raw bytes (signatures are over exactly what was sent). */
  rawBody?: string;
}

const provider = z.enum(PROVIDERS).describe('The BSP; unknown → 404.');
const workspaceId = z.string().describe('Workspace id; unknown or malformed → 404.');

export const ingestOperations: readonly IngestOperation[] = [
  {
    method: 'get',
    path: '/healthz',
    summary: 'Liveness',
    description: 'Answers {"status":"ok"} while the process runs.',
    auth: { kind: 'none', description: 'Public.' },
    success: '200',
  },
  {
    method: 'get',
    path: '/r/:workspaceId/:linkId',
    summary: 'Tracking link: records the click and redirects to WhatsApp',
    description:
      'Known click ids (gclid, gbraid, wbraid, fbclid, ttclid, msclkid, li_fat_id) and utm_* parameters are read from the query; a malformed click id is a 400.',
    auth: { kind: 'none', description: 'Public (the link is the capability).' },
    success: '302',
    request: { params: { workspaceId, linkId: z.string() } },
  },
  {
    method: 'post',
    path: '/v1/clicks',
    summary: 'Snippet click capture',
    description: 'The landing-page snippet reports a click; answers the click id, its reference code and, with a link, the WhatsApp URL.',
    auth: { kind: 'api-key', description: 'A workspace API key (X-Api-Key or Authorization: Bearer).' },
    success: '201',
    request: { body: snippetInput },
  },
  {
    method: 'post',
    path: '/v1/conversions',
    summary: 'Record a conversion',
    description:
      'Matched to a conversation by conversation_id or phone (hashed here), exported to the ad platforms; event_id makes it idempotent.',
    auth: { kind: 'api-key', description: 'A workspace API key (X-Api-Key or Authorization: Bearer).' },
    success: '201',
    request: { body: conversionInput },
  },
  {
    method: 'get',
    path: '/v1/webhooks/:provider/:workspaceId',
    summary: 'Webhook verification handshake (Meta)',
    description: 'Answers hub.challenge as text when hub.verify_token matches the configured token.',
    auth: { kind: 'none', description: 'The verify token configured for the workspace.' },
    success: '200',
    request: { params: { provider, workspaceId } },
  },
  {
    method: 'post',
    path: '/v1/webhooks/:provider/:workspaceId',
    summary: 'BSP webhook delivery',
    description: "Inbound WhatsApp messages in the BSP's own format; the signature is verified before anything is parsed.",
    auth: { kind: 'bsp-signature', description: "The BSP's signature with the workspace's secret (HMAC header, Twilio or Bird scheme)." },
    success: '200',
    request: { params: { provider, workspaceId } },
    rawBody: "The BSP's payload (JSON, or form-encoded for Twilio), signed.",
  },
];
