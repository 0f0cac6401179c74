import { Validator } from '@seriousme/openapi-schema-validator';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createBrokerApp } from '../../broker/http/app.ts';
import { buildOpenApi, errorBodySchema, ERROR_STATUSES, jsonSchemaOf } from '../../broker/http/openapi.ts';
import { createWorkspaceBody } from '../../broker/auth/identity-routes.ts';
import { ingestOperations } from '../../shared/ingest-api/ingest-operations.ts';
import { allRoutes } from '../../broker/http/route-registry.ts';
import type { ApiRoute } from '../../broker/http/route-types.ts';
import { PERMISSIONS } from '../../shared/permissions/permissions.ts';
import { createIngestHandler } from '../../ingest/ingest-app.ts';
import { WEBHOOK_FAST_PATH_ROUTE } from '../../ingest/webhooks/webhook-fast-path.ts';
import { BadRequestError, KeyUnavailableError, NotFoundError, WactError } from '../../shared/errors/errors.ts';
import { errorResponse } from '../../shared/http/error-handler.ts';

/**
 * Issue 15, point 4. The document is generated from the route tables; these
 * tests hold it to what the express apps really register (walked from their
 * router stacks, as test/audit/route-walk.test.ts does), to the OpenAPI 3.1
 * schema, to the policy table and to the error shape the error handler sends.
 */
type Layer = { route?: { path: string | RegExp; methods: Record<string, boolean> }; rawPath?: unknown; handle?: { stack?: Layer[] } };
type App = { router: { stack: Layer[] } };

// Handlers are never called: the apps are built only to read their routing tables.
const inert: unknown = new Proxy(() => undefined, { get: (_t, k) => (k === 'then' ? undefined : inert), apply: () => inert });

function walk(app: App): string[] {
  const out: string[] = [];
  const go = (stack: Layer[], prefix: string) => {
    for (const l of stack) {
      if (l.route) {
        const p = l.route.path instanceof RegExp ? String(l.route.path) : prefix + l.route.path;
        for (const m of Object.keys(l.route.methods)) out.push(`${m.toUpperCase()} ${p.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
      } else if (l.handle?.stack) go(l.handle.stack, prefix + (typeof l.rawPath === 'string' && l.rawPath !== '/' ? l.rawPath : ''));
    }
  };
  go(app.router.stack, '');
  return out.sort();
}

function brokerApp(routes: readonly ApiRoute[] = allRoutes()): express.Express {
  return createBrokerApp({ services: inert as never, identity: inert as never, routes });
}
const brokerApiRoutes = (app: express.Express) => walk(app as unknown as App).filter((r) => r.split(' ')[1].startsWith('/api/'));
// The app server.ts serves: express routes, plus webhook deliveries, which the fast path answers before express.
const ingestRoutes = () =>
  [
    ...walk(
      createIngestHandler({
        settings: { bodyLimitBytes: 1024 } as never,
        providers: inert as never,
        webhooks: inert as never,
        directory: inert as never,
        links: inert as never,
        clicks: inert as never,
        apiKeys: inert as never,
        conversions: inert as never,
        logger: inert as never,
      }).app as unknown as App,
    ),
    `${WEBHOOK_FAST_PATH_ROUTE.method.toUpperCase()} ${WEBHOOK_FAST_PATH_ROUTE.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`,
  ].sort();

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the JSON document
function operations(doc: any, service: 'broker' | 'ingest'): string[] {
  const out: string[] = [];
  for (const [path, item] of Object.entries(doc.paths) as [string, Record<string, { 'x-wact-service'?: string }>][])
    for (const [method, op] of Object.entries(item))
      if (method !== 'servers' && (op['x-wact-service'] === 'ingest') === (service === 'ingest'))
        out.push(`${method.toUpperCase()} ${path}`);
  return out.sort();
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

describe('the OpenAPI document describes exactly the registered routes', () => {
  const doc = buildOpenApi({ routes: allRoutes() });

  it('every /api route of the broker app is an operation and every broker operation is a registered route', () => {
    const registered = brokerApiRoutes(brokerApp());
    expect(registered.length).toBeGreaterThan(50); // a walk that found nothing would pass vacuously
    expect(registered).toEqual(expect.arrayContaining(['GET /api/me', 'GET /api/openapi.json']));
    expect(operations(doc, 'broker')).toEqual(registered);
  });

  it("every public route of ingest's app is an operation and vice versa", () => {
    const registered = ingestRoutes();
    expect(registered).toEqual(
      expect.arrayContaining(['POST /v1/conversions', 'POST /v1/clicks', 'POST /v1/webhooks/{provider}/{workspaceId}']),
    );
    expect(operations(doc, 'ingest')).toEqual(registered);
  });

  it('fails on a route registered beside the table, and on a described route that is gone', () => {
    const app = brokerApp();
    app.get('/api/sneaky', (_req, res) => void res.end());
    expect(brokerApiRoutes(app).filter((r) => !operations(doc, 'broker').includes(r))).toEqual(['GET /api/sneaky']);
    const fewer = allRoutes().slice(1);
    const gone = allRoutes()[0];
    expect(operations(doc, 'broker').filter((r) => !brokerApiRoutes(brokerApp(fewer)).includes(r))).toEqual([
      `${gone.method.toUpperCase()} /api${gone.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`,
    ]);
  });
});

describe('the document is valid OpenAPI 3.1 and complete', () => {
  const doc = buildOpenApi({ routes: allRoutes() });

  it('passes the OpenAPI 3.1 schema validator', async () => {
    const result = await new Validator().validate(structuredClone(doc));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
    // and the validator is not a rubber stamp
    const broken = structuredClone(doc);
    delete broken.info.version;
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });

  it('unique operation ids; every path parameter declared; every operation answers errors in the one error shape', () => {
    const ids = new Set<string>();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the JSON document
    for (const [path, item] of Object.entries(doc.paths) as [string, Record<string, any>][]) {
      for (const [method, op] of Object.entries(item)) {
        if (!HTTP_METHODS.includes(method)) continue;
        expect(ids.has(op.operationId), op.operationId).toBe(false);
        ids.add(op.operationId);
        const declared = (op.parameters ?? []).filter((p: { in: string }) => p.in === 'path').map((p: { name: string }) => p.name);
        expect(declared.sort(), `${method} ${path}`).toEqual([...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort());
        if (path === '/api/openapi.json') continue;
        for (const status of Object.keys(ERROR_STATUSES))
          expect(op.responses[status], `${method} ${path} ${status}`).toEqual({ $ref: `#/components/responses/Error${status}` });
      }
    }
    expect(ids.size).toBe(allRoutes().length + 2 + ingestOperations.length);
    for (const status of Object.keys(ERROR_STATUSES))
      expect(doc.components.responses[`Error${status}`].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
  });

  it("each broker operation names its route's permission with the policy table's roles", () => {
    for (const route of allRoutes()) {
      const op = doc.paths['/api' + route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')][route.method];
      expect(op['x-wact-permission'].name, route.path).toBe(route.permission);
      expect(op['x-wact-permission'].roles).toEqual(PERMISSIONS[route.permission].roles);
      expect(op.description).toContain(`\`${route.permission}\``);
    }
  });

  it('request schemas are the ones the routes validate with (same constants, converted)', () => {
    const body = (path: string, method: string) => doc.paths[path][method].requestBody?.content['application/json'].schema;
    expect(body('/api/workspaces', 'post')).toEqual(jsonSchemaOf(createWorkspaceBody));
    expect(body('/api/workspaces', 'post').required).toEqual(['name', 'region']);
    expect(body('/v1/conversions', 'post').required).toEqual(expect.arrayContaining(['event', 'occurred_at']));
    // Every route that takes a body (post/put) describes it, except those that take none.
    const noBody = new Set([
      'POST /me/sessions/revoke-all',
      'POST /employees/:id/sessions/revoke',
      'POST /db/sessions/:id/token',
      'POST /db/sessions/:id/revoke',
      'POST /db/sessions/:id/end',
    ]);
    const missing = allRoutes()
      .filter((r) => (r.method === 'post' || r.method === 'put') && !r.request?.body && !noBody.has(`${r.method.toUpperCase()} ${r.path}`))
      .map((r) => `${r.method.toUpperCase()} ${r.path}`);
    expect(missing).toEqual([]);
    // Every list route (parseListQuery) says so.
    const listFilter = doc.paths['/api/workspaces/{workspaceId}/conversations'].get.parameters.find(
      (p: { name: string }) => p.name === 'filter',
    );
    expect(listFilter.content['application/json'].schema.properties.from).toBeDefined();
  });
});

describe('the error shape in the document is the one the services send', () => {
  const cases: [string, unknown][] = [
    ['typed error', new BadRequestError('bad', 'invalid_query')],
    ['not found', new NotFoundError()],
    ['customer key', new KeyUnavailableError('DisabledException')],
    ['zod error', z.object({ a: z.string() }).safeParse({ a: 1 }).error],
    ['body parser', Object.assign(new Error('x'), { type: 'entity.parse.failed', status: 400 })],
    ['http-errors', Object.assign(new Error('x'), { status: 405 })],
    ['anything else', new TypeError('boom')],
    ['custom WactError', new WactError(409, 'conflict', 'no')],
  ];
  it.each(cases)('%s', (_name, err) => {
    const { status, body } = errorResponse(err);
    expect(errorBodySchema.safeParse(body).success, JSON.stringify(body)).toBe(true);
    expect(status).toBeGreaterThanOrEqual(400);
  });
  it('the schema refuses another shape', () => {
    expect(errorBodySchema.safeParse({ error: 'bad' }).success).toBe(false);
    expect(errorBodySchema.safeParse({ error: { code: 'x', message: 'y', stack: 'z' } }).success).toBe(false);
  });
});
