import { z } from 'zod';
import { PERMISSIONS, type PermissionSpec } from '../../shared/permissions/permissions.ts';
import { listQuerySchemas } from './simple-rest.ts';
import type { ApiRoute, RouteRequest } from './route-types.ts';
import { ingestOperations, type IngestOperation } from '../../shared/ingest-api/ingest-operations.ts';

/**
 * The OpenAPI 3.1 description of the broker's /api and ingest's public
 * endpoints, generated — never written by hand — from the route tables and the
 * very zod schemas the handlers validate with (`ApiRoute.request`), with the
 * permission of each operation taken from THE table (shared/permissions/permissions.ts)
 * and the one JSON error shape of shared/http/error-handler.ts. Served at
 * GET /api/openapi.json; test/http/openapi.test.ts walks the express apps and
 * checks that every registered route is described and nothing else is.
 */

/**
 * The error body every service sends (shared/http/error-handler.ts, `errorResponse`):
 * a test feeds that function every kind of error and checks its output against
 * this schema, so the two cannot drift apart.
 */
export const errorBodySchema = z
  .object({
    error: z
      .object({
        code: z.string().min(1).describe('Stable machine-readable code, e.g. invalid_request, forbidden, workspace_not_found.'),
        message: z.string().describe('A sentence for people; never echoes the input.'),
        fields: z
          .array(
            z
              .object({
                path: z.string(),
                issue: z.string(),
                expected: z.string().optional(),
              })
              .strict(),
          )
          .optional()
          .describe('Which inputs failed validation (code invalid_request); names the field, never the value.'),
      })
      .strict(),
  })
  .strict();

/** The statuses an operation may refuse with, and what each means here. */
export const ERROR_STATUSES = {
  '400': 'Malformed or invalid input (body, query or path).',
  '401': 'Not signed in, session expired or revoked; for ingest: missing or unknown API key or signature.',
  '403': 'Signed in but not allowed (the permission below), CSRF check failed, TOTP step missing.',
  '404': 'Unknown workspace or record (also for identifiers that are not well-formed).',
  '409': 'Conflicts with the current state.',
  '413': 'Request body too large.',
  '415': 'Unsupported media type or charset.',
  '429': 'Rate limited.',
  '503': 'A dependency is unavailable (audit log, customer-managed key): nothing was done.',
} as const;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON document
type Json = any;

/** JSON Schema (2020-12, OpenAPI 3.1's dialect) of what a caller SENDS (io: input: before defaults and transforms). */
export function jsonSchemaOf(schema: z.ZodType): Json {
  // unrepresentable: 'any' — a coerced Date or a refine has no JSON Schema form; it is described by the
  // surrounding text and still enforced by the route.
  const out = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Json;
  delete out.$schema;
  return out;
}

const openApiPath = (expressPath: string) => expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
const pathParams = (expressPath: string) => [...expressPath.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]);
export const operationIdOf = (method: string, path: string) =>
  method +
  path
    .split(/[/{}:.-]+/)
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('');

const WORKSPACE_ID = z.string().uuid().describe('Workspace id; unknown or malformed → 404 workspace_not_found.');

function errorResponses(): Record<string, Json> {
  return Object.fromEntries(Object.keys(ERROR_STATUSES).map((s) => [s, { $ref: `#/components/responses/Error${s}` }]));
}

function parametersOf(path: string, request: RouteRequest | undefined): Json[] {
  const out: Json[] = [];
  for (const name of pathParams(path)) {
    const schema = name === 'workspaceId' ? WORKSPACE_ID : request?.params?.[name];
    out.push({ name, in: 'path', required: true, schema: schema ? jsonSchemaOf(schema) : { type: 'string' } });
  }
  if (request?.query) {
    const js = jsonSchemaOf(request.query);
    const required = new Set<string>(js.required ?? []);
    for (const [name, schema] of Object.entries(js.properties ?? {}))
      if (!request.jsonQuery?.[name]) out.push({ name, in: 'query', required: required.has(name), schema });
  }
  for (const [name, schema] of Object.entries(request?.jsonQuery ?? {}))
    out.push({ name, in: 'query', content: { 'application/json': { schema: jsonSchemaOf(schema) } } });
  if (request?.list) {
    const json = (schema: z.ZodType, description: string) => ({
      content: { 'application/json': { schema: jsonSchemaOf(schema) } },
      description,
    });
    out.push({ name: 'sort', in: 'query', ...json(listQuerySchemas.sort, '["field","ASC"|"DESC"]; the route allows only some fields.') });
    out.push({ name: 'range', in: 'query', ...json(listQuerySchemas.range, 'Inclusive [start,end]; the page is capped.') });
    out.push({ name: 'filter', in: 'query', ...json(request.list.filter ?? listQuerySchemas.filter, 'Filter object.') });
  }
  return out;
}

function permissionText(name: string, spec: PermissionSpec): string {
  const parts = [`Permission \`${name}\` (${spec.scope}): ${spec.roles.join(', ')}.`];
  if (spec.condition === 'support-session') parts.push('Only with an active support session on the workspace.');
  if (spec.condition === 'any-customer') parts.push('Any signed-in customer, even without a workspace yet.');
  if (spec.reasonRequired) parts.push('A reason is required (X-Wact-Reason header or `reason` field).');
  return parts.join(' ');
}

function brokerOperation(route: ApiRoute, tag: string): Json {
  const spec: PermissionSpec = PERMISSIONS[route.permission];
  const parameters = parametersOf(route.path, route.request);
  parameters.push({
    name: 'X-Wact-Reason',
    in: 'header',
    required: false,
    schema: { type: 'string', maxLength: 500 },
    description: 'Why you are doing this (audited).',
  });
  const op: Json = {
    operationId: operationIdOf(route.method, route.path),
    tags: [tag],
    summary: route.summary ?? `${route.method.toUpperCase()} /api${route.path}`,
    description: [
      spec.description + '.',
      permissionText(route.permission, spec),
      route.audit ? `Audited as \`${route.audit.action}\`.` : '',
    ]
      .filter(Boolean)
      .join('\n\n'),
    'x-wact-permission': { name: route.permission, ...spec },
    security: [{ session: [], csrf: [] }, { bearer: [] }],
    parameters,
    responses: { '2XX': { description: 'Success (JSON, or a file for exports; 204 without a body).' }, ...errorResponses() },
  };
  if (route.request?.body)
    op.requestBody = { required: false, content: { 'application/json': { schema: jsonSchemaOf(route.request.body) } } };
  return op;
}

function ingestOperation(op: IngestOperation): Json {
  const out: Json = {
    operationId: operationIdOf(op.method, op.path),
    tags: ['ingest'],
    summary: op.summary,
    description: op.description,
    'x-wact-service': 'ingest',
    'x-wact-permission': op.auth,
    security: op.auth.kind === 'api-key' ? [{ apiKey: [] }, { ingestBearer: [] }] : [],
    parameters: parametersOf(op.path, op.request),
    responses: { [op.success]: { description: 'Success.' }, ...errorResponses() },
  };
  if (op.request?.body) out.requestBody = { required: true, content: { 'application/json': { schema: jsonSchemaOf(op.request.body) } } };
  if (op.rawBody) out.requestBody = { required: true, content: { '*/*': { schema: {} } }, description: op.rawBody };
  return out;
}

export interface OpenApiInput {
  /** The /api routes exactly as mounted (broker/http/route-registry.ts `allRoutes()`). */
  routes: readonly ApiRoute[];
  ingest?: readonly IngestOperation[];
}

/** A tag per resource: the first path segment, under the workspace when there is one. */
function tagOf(path: string): string {
  const rest = path.replace(/^\/workspaces\/:workspaceId(?=\/|$)/, '');
  return rest.split('/').filter(Boolean)[0] ?? 'workspaces';
}

export function buildOpenApi(input: OpenApiInput): Json {
  const paths: Record<string, Record<string, Json>> = {};
  const add = (path: string, method: string, op: Json, extra: Json = {}) => {
    const item = (paths[path] ??= { ...extra });
    if (item[method]) throw new Error(`two operations for ${method.toUpperCase()} ${path}`);
    item[method] = op;
  };
  add('/api/me', 'get', {
    operationId: 'getMe',
    tags: ['identity'],
    summary: 'The signed-in caller, their workspaces and the CSRF token',
    'x-wact-permission': { name: 'signed-in' },
    security: [{ session: [] }, { bearer: [] }],
    responses: { '200': { description: 'The caller.' }, ...errorResponses() },
  });
  add('/api/openapi.json', 'get', {
    operationId: 'getOpenApi',
    tags: ['meta'],
    summary: 'This document',
    'x-wact-permission': { name: 'public' },
    security: [],
    responses: { '200': { description: 'OpenAPI 3.1 document.' } },
  });
  for (const route of input.routes) add(openApiPath('/api' + route.path), route.method, brokerOperation(route, tagOf(route.path)));
  // Ingest is another host: its paths carry their own server.
  const ingestServer = { servers: [{ url: 'https://{ingestHost}', variables: { ingestHost: { default: 'localhost:8443' } } }] };
  for (const op of input.ingest ?? ingestOperations) add(openApiPath(op.path), op.method, ingestOperation(op), ingestServer);

  const responses = Object.fromEntries(
    Object.entries(ERROR_STATUSES).map(([status, description]) => [
      `Error${status}`,
      { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    ]),
  );
  return {
    openapi: '3.1.0',
    info: {
      title: 'WAct API',
      version: '1',
      description:
        'The broker API (/api, for the console and the wact CLI) and the ingest endpoints (clicks, conversions, BSP webhooks). ' +
        'Every error is JSON: {"error":{"code","message"}}. See docs/api.md.',
    },
    servers: [{ url: '/', description: 'The broker' }],
    paths,
    components: {
      schemas: { Error: jsonSchemaOf(errorBodySchema) },
      responses,
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: '__Host-wact_session', description: 'Browser session after SSO and TOTP.' },
        csrf: {
          type: 'apiKey',
          in: 'header',
          name: 'X-CSRF-Token',
          description: 'Required with the session cookie on state-changing requests.',
        },
        bearer: { type: 'http', scheme: 'bearer', description: 'CLI token from the device flow (wact login).' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'Workspace API key (ingest).' },
        ingestBearer: { type: 'http', scheme: 'bearer', description: 'Workspace API key as a bearer token (ingest).' },
      },
    },
  };
}
