import { z } from 'zod';

/**
 * The request bodies of ingest's public API: ingest validates with them and
 * the broker's OpenAPI document describes them (ingest-operations.ts), so the
 * contract is one definition used by both processes.
 */

/** `POST /v1/clicks`: the landing-page snippet's report of a click. */
export const snippetInput = z
  .object({
    link_id: z
      .string()
      .regex(/^[A-Za-z0-9]{8,32}$/)
      .optional(),
    // the landing page URL as the snippet saw it; only known parameters are read from it
    url: z.string().max(4096).optional(),
    params: z.record(z.string().max(64), z.string().max(1024)).optional(),
  })
  .strict();

const isoTime = z
  .string()
  .max(40)
  .refine((s) => Number.isFinite(Date.parse(s)), 'must be an ISO-8601 time');

/** `POST /v1/conversions`: exactly one of phone or conversation_id. */
export const conversionInput = z
  .object({
    phone: z.string().min(1).max(64).optional(),
    conversation_id: z.string().uuid().optional(),
    event: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .regex(/^[\w .:-]+$/, 'letters, digits, space, _ . : -'),
    value: z.number().finite().min(0).max(1e12).optional(),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/)
      .optional(),
    occurred_at: isoTime,
    event_id: z.string().min(1).max(200).optional(),
  })
  .strict()
  .refine((v) => (v.phone === undefined) !== (v.conversation_id === undefined), {
    message: 'give exactly one of phone or conversation_id',
    path: ['phone'],
  });
