import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorBodySchema } from '../../broker/http/openapi.ts';
import { ALL_ROLES, PERMISSIONS, type PermissionSpec } from '../../shared/permissions/permissions.ts';
import { rawRequest, startTestBroker, type ApiClient, type HttpResult, type TestBroker } from '../support/broker.ts';
import { startHarness, type Harness } from '../ingest/support/harness.ts';
import { hostile, hostileScalar, valid, type JsonSchema } from './json-schema-arbitrary.ts';

/**
 * Issue 15, point 5. Every operation of the served OpenAPI document, driven
 * with inputs generated from its own JSON Schemas (valid ones and hostile
 * ones), as every role and anonymously: no 5xx, every refusal a JSON error of
 * the documented shape with a documented 4xx (401 anonymous, no 2xx for a role
 * the policy refuses), and no write when refused (the workspace's rows, counted
 * in the control and regional databases, do not change on a 4xx).
 *
 * Bounded under `npm test`; `npm run fuzz` (FUZZ_RUNS, FUZZ_SEED) goes deeper.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 3);
const SEED = Number(process.env.FUZZ_SEED ?? 15);

type Caller = (typeof ALL_ROLES)[number] | 'anonymous';
const CALLERS: Caller[] = ['anonymous', ...ALL_ROLES];
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the JSON document
type Op = { method: string; path: string; op: any };

interface Case {
  path: string;
  query: string;
  body?: string;
  contentType?: string;
  reason?: string;
  /** The body is not JSON or too large: the parser refuses it before anything else. */
  badBody: boolean;
}

/** Percent-encodes every byte outside the unreserved set (a lone surrogate becomes U+FFFD's bytes, as on the wire). */
const pct = (v: string) =>
  [...Buffer.from(v, 'utf8')]
    .map((b) => (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : '%' + b.toString(16).padStart(2, '0')))
    .join('');
const asText = (v: unknown) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));

/** A request for one operation, valid or hostile in each part. */
function caseOf(o: Op, fixed: Record<string, string>): fc.Arbitrary<Case> {
  const params: { name: string; in: string; schema?: JsonSchema; content?: Record<string, { schema: JsonSchema }> }[] =
    o.op.parameters ?? [];
  const pathArbs = Object.fromEntries(
    params
      .filter((p) => p.in === 'path')
      .map((p) => {
        const known = fixed[p.name];
        const arb = fc.oneof(
          { weight: known ? 6 : 0, arbitrary: fc.constant(known ?? '') },
          { weight: 2, arbitrary: valid(p.schema).map(asText) },
          { weight: 2, arbitrary: hostile(p.schema).map(asText) },
          { weight: 1, arbitrary: fc.uuid() },
        );
        return [p.name, arb.filter((v) => v !== '' && v !== '.' && v !== '..')];
      }),
  );
  const queryArbs = params
    .filter((p) => p.in === 'query')
    .map((p) => {
      const schema = p.schema ?? p.content?.['application/json'].schema;
      const value = p.content
        ? fc.oneof(
            valid(schema).map((v) => JSON.stringify(v)),
            hostile(schema).map((v) => JSON.stringify(v) ?? 'null'),
            fc.constantFrom('{', '[1,', 'x'.repeat(5000), ''),
          )
        : fc.oneof(valid(schema).map(asText), hostile(schema).map(asText));
      // Node's parser answers 431 (no body) above 16 KiB of request line and headers: stay below, that is not our code.
      const encoded = value.map((v) => `${p.name}=${pct(v)}`).filter((q) => q.length < 6000);
      return fc.option(
        fc.array(encoded, { minLength: 1, maxLength: 2 }).map((vs) => vs.join('&')),
        { freq: 2 },
      );
    });
  const extraQuery = fc.option(
    fc.tuple(fc.constantFrom('unknown', '__proto__', 'workspaceId'), hostileScalar).map(([k, v]) => `${k}=${pct(asText(v))}`),
    { freq: 4 },
  );
  const bodySchema = o.op.requestBody?.content?.['application/json']?.schema;
  const takesBody = o.method !== 'get';
  const body: fc.Arbitrary<{ body?: string; contentType?: string; badBody: boolean }> = takesBody
    ? fc.oneof(
        {
          weight: 4,
          arbitrary: valid(bodySchema ?? {}).map((v) => ({ body: JSON.stringify(v), badBody: typeof v !== 'object' || v === null })),
        },
        // express.json is strict: a top-level scalar is a 400 before authentication, like malformed JSON
        {
          weight: 4,
          arbitrary: hostile(bodySchema ?? {}).map((v) => ({
            body: JSON.stringify(v) ?? 'null',
            badBody: typeof v !== 'object' || v === null,
          })),
        },
        { weight: 1, arbitrary: fc.constant({ badBody: false }) },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            { body: '{"a":', badBody: true },
            { body: '\u0000', badBody: true },
            { body: '{"a":1}', contentType: 'text/plain', badBody: false },
            { body: JSON.stringify({ pad: 'x'.repeat(300 * 1024) }), badBody: true },
          ),
        },
      )
    : fc.constant({ badBody: false });
  const reason = fc.oneof(
    { weight: 3, arbitrary: fc.constant('fuzzing the API (issue 15)') },
    { weight: 1, arbitrary: fc.constantFrom(undefined, 'x'.repeat(501), ' ', '\u00e9\u00ff latin-1') },
  );
  return fc
    .record({ pathValues: fc.record(pathArbs), query: fc.tuple(...queryArbs, extraQuery), body, reason })
    .map(({ pathValues, query, body: b, reason: r }) => ({
      path: o.path.replace(/\{([^}]+)\}/g, (_m, n: string) => pct(pathValues[n])),
      query: query.filter((q): q is string => typeof q === 'string').join('&'),
      body: b.body,
      contentType: b.body === undefined ? undefined : (b.contentType ?? 'application/json'),
      reason: r,
      badBody: b.badBody,
    }));
}

function allowed(op: Op, caller: Caller): boolean {
  const name = op.op['x-wact-permission']?.name as string;
  if (name === 'public') return true;
  if (caller === 'anonymous') return false;
  if (name === 'signed-in') return true;
  const spec: PermissionSpec | undefined = PERMISSIONS[name as keyof typeof PERMISSIONS];
  if (!spec) throw new Error(`unknown permission ${name}`);
  if (spec.condition === 'support-session') return false; // nobody here has a support session
  if (spec.condition === 'any-customer' && ['owner', 'admin', 'analyst', 'readonly'].includes(caller)) return true;
  return spec.roles.includes(caller);
}

/** Destructive last: signing out everywhere ends the caller's session, a wipe ends the workspace. */
const weight = (o: Op) => (o.path.endsWith('/revoke-all') ? 3 : o.path.endsWith('/wipe') ? 2 : o.method === 'delete' ? 1 : 0);

/** The workspace's rows in every table that has a workspace_id (control and regional), audit streams excepted (refusals are audited). */
async function rowCounter(b: TestBroker, workspaceId: string): Promise<() => Promise<string>> {
  const pools = [b.platform.pools.control, b.platform.pools.region('eu')];
  const queries = await Promise.all(
    pools.map(async (pool) => {
      const { rows } = await pool.query<{ t: string }>(
        `SELECT format('%I.%I', c.table_schema, c.table_name) AS t
           FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
          WHERE c.column_name = 'workspace_id' AND t.table_type = 'BASE TABLE' AND c.table_schema = 'wact'
            AND c.table_name NOT LIKE 'audit%' ORDER BY 1`,
      );
      const sql = `SELECT ${rows.map((r, i) => `(SELECT count(*) FROM ${r.t} WHERE workspace_id = $1) AS c${i}`).join(', ')}`;
      return { pool, tables: rows.map((r) => r.t), sql };
    }),
  );
  return async () => {
    const parts: string[] = [];
    for (const q of queries) {
      const { rows } = await q.pool.query(q.sql, [workspaceId]);
      parts.push(...q.tables.map((t, i) => `${t}=${rows[0][`c${i}`]}`));
    }
    return parts.join(' ');
  };
}

function checkRefusal(res: HttpResult, label: string, problems: string[]): void {
  if (res.status < 400) return;
  if (typeof res.body !== 'object' || !errorBodySchema.safeParse(res.body).success)
    problems.push(`${label}: ${res.status} is not the JSON error shape: ${res.text.slice(0, 120)}`);
}

describe('fuzzing every broker operation of the OpenAPI document', () => {
  let b: TestBroker;
  const clients = new Map<Caller, ApiClient>();
  let workspaceId: string;
  const fixed: Record<string, string> = {};

  beforeAll(async () => {
    b = await startTestBroker({ env: { LOG_LEVEL: 'silent' } });
    const ws = await b.createWorkspace('Fuzz');
    workspaceId = ws.id;
    fixed.workspaceId = ws.id;
    for (const role of ['owner', 'admin', 'analyst', 'readonly'] as const)
      clients.set(role, await b.loginAs((await b.createCustomer(ws.id, role)).identity));
    for (const role of ['engineer', 'support', 'security'] as const) clients.set(role, await b.loginAs(b.createEmployee(role)));
    clients.set('anonymous', b.client());
    const owner = clients.get('owner')!;
    const link = await owner.post(`/api/workspaces/${ws.id}/links`, { waNumber: '+442079460123' });
    fixed.id = link.body.id;
  }, 120_000);
  afterAll(async () => {
    await b?.close();
  });

  it('no 5xx, refusals in the error shape with the right 4xx, nothing written when refused', async () => {
    const served = await clients.get('anonymous')!.get('/api/openapi.json');
    expect(served.status).toBe(200);
    const doc = served.body;
    const ops: Op[] = [];
    for (const [path, item] of Object.entries(doc.paths) as [string, Record<string, unknown>][])
      for (const [method, op] of Object.entries(item))
        if (['get', 'post', 'put', 'delete', 'patch'].includes(method) && !(op as { 'x-wact-service'?: string })['x-wact-service'])
          ops.push({ method, path, op });
    expect(ops.length).toBeGreaterThan(50);
    ops.sort((x, y) => weight(x) - weight(y));

    const count = await rowCounter(b, workspaceId);
    let before = await count();
    const problems: string[] = [];
    const fivexx = new Map<string, number>();
    let cases = 0;
    const statuses: Record<number, number> = {};
    for (const [i, o] of ops.entries()) {
      const arb = caseOf(o, fixed);
      for (const caller of [...CALLERS].sort((x, y) => Number(allowed(o, x)) - Number(allowed(o, y)))) {
        const may = allowed(o, caller);
        const n = may ? RUNS : Math.max(1, Math.ceil(RUNS / 3));
        const client = clients.get(caller)!;
        for (const c of fc.sample(arb, { numRuns: n, seed: SEED + i * 31 + CALLERS.indexOf(caller) })) {
          cases++;
          const headers: Record<string, string> = { accept: 'application/json' };
          if (c.contentType) headers['content-type'] = c.contentType;
          if (c.reason !== undefined) headers['x-wact-reason'] = c.reason;
          if (o.method !== 'get' && client.csrf) headers['x-csrf-token'] = client.csrf;
          const url = `${b.url}${c.path}${c.query ? '?' + c.query : ''}`;
          const res = await rawRequest(b.agent, client.jar, url, { method: o.method.toUpperCase(), headers, body: c.body });
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          const label = `${o.method.toUpperCase()} ${o.path} as ${caller} [${url.slice(b.url.length, b.url.length + 160)}] body=${(c.body ?? '').slice(0, 120)}`;
          if (res.status >= 500) {
            const key = `${o.method.toUpperCase()} ${o.path} ${res.status} ${res.body?.error?.code ?? ''}`;
            fivexx.set(key, (fivexx.get(key) ?? 0) + 1);
            if ((fivexx.get(key) ?? 0) === 1) problems.push(`${label}: ${res.status} ${res.text.slice(0, 160)}`);
          }
          checkRefusal(res, label, problems);
          if (res.status >= 400 && res.status < 500 && !o.op.responses[String(res.status)])
            problems.push(`${label}: ${res.status} is not a documented response`);
          if (caller === 'anonymous' && !may && res.status !== 401 && !(c.badBody && [400, 413].includes(res.status)))
            problems.push(`${label}: anonymous got ${res.status}, expected 401`);
          if (!may && caller !== 'anonymous' && res.status < 400)
            problems.push(`${label}: the policy refuses ${caller} but got ${res.status}`);
          const after = await count();
          if (res.status >= 400 && after !== before)
            problems.push(`${label}: refused with ${res.status} but rows changed:\n  ${before}\n  ${after}`);
          before = after;
        }
      }
    }
    // The broker still answers (no crash).
    const alive = await rawRequest(b.agent, undefined, `${b.url}/api/openapi.json`);
    expect(alive.status).toBe(200);
    console.error(
      `fuzz (broker): ${ops.length} operations, ${cases} cases, seed ${SEED}, 5xx kinds: ${fivexx.size}, statuses ${JSON.stringify(statuses)}`,
    );
    expect(problems).toEqual([]);
  }, 600_000);
});

describe('fuzzing every ingest operation of the OpenAPI document', () => {
  let b: TestBroker;
  let h: Harness;
  let workspaceId: string;
  let apiKey: string;
  const fixed: Record<string, string> = {};

  beforeAll(async () => {
    b = await startTestBroker({ env: { LOG_LEVEL: 'silent' } });
    h = await startHarness({ LOG_LEVEL: 'silent' });
    const ws = await b.createWorkspace('Fuzz ingest');
    workspaceId = ws.id;
    fixed.workspaceId = ws.id;
    const owner = await b.loginAs((await b.createCustomer(ws.id, 'owner')).identity);
    fixed.linkId = (await owner.post(`/api/workspaces/${ws.id}/links`, { waNumber: '+442079460123' })).body.id;
    apiKey = (await owner.post(`/api/workspaces/${ws.id}/api-keys`, { label: 'fuzz' })).body.key;
    fixed.provider = 'meta';
  }, 120_000);
  afterAll(async () => {
    await h?.close();
    await b?.close();
  });

  it('no 5xx, refusals in the error shape, nothing written when refused', async () => {
    const doc = (await rawRequest(b.agent, undefined, `${b.url}/api/openapi.json`)).body;
    const ops: Op[] = [];
    for (const [path, item] of Object.entries(doc.paths) as [string, Record<string, unknown>][])
      for (const [method, op] of Object.entries(item))
        if (['get', 'post'].includes(method) && (op as { 'x-wact-service'?: string })['x-wact-service'] === 'ingest')
          ops.push({ method, path, op });
    expect(ops.length).toBeGreaterThanOrEqual(5);
    const count = await rowCounter(b, workspaceId);
    let before = await count();
    const problems: string[] = [];
    let cases = 0;
    const keys: Record<string, string | undefined> = { 'api-key': apiKey, anonymous: undefined, 'wrong-key': 'wact_' + 'A'.repeat(40) };
    for (const [i, o] of ops.entries()) {
      const arb = caseOf(o, fixed);
      for (const [k, key] of Object.entries(keys)) {
        for (const c of fc.sample(arb, { numRuns: RUNS * 2, seed: SEED + i * 17 + k.length })) {
          cases++;
          const headers: Record<string, string> = {};
          if (c.contentType) headers['content-type'] = c.contentType;
          if (key) headers['x-api-key'] = key;
          const res = await h.http(o.method.toUpperCase(), `${c.path}${c.query ? '?' + c.query : ''}`, { body: c.body, headers });
          const label = `${o.method.toUpperCase()} ${o.path} as ${k} [${c.path}?${c.query.slice(0, 120)}] body=${(c.body ?? '').slice(0, 120)}`;
          let parsed: unknown;
          try {
            parsed = JSON.parse(res.text);
          } catch {
            parsed = undefined;
          }
          if (res.status >= 500) problems.push(`${label}: ${res.status} ${res.text.slice(0, 160)}`);
          if (res.status >= 400 && !errorBodySchema.safeParse(parsed).success)
            problems.push(`${label}: ${res.status} is not the JSON error shape: ${res.text.slice(0, 120)}`);
          if (res.status >= 400 && res.status < 500 && !o.op.responses[String(res.status)])
            problems.push(`${label}: ${res.status} is not a documented response`);
          if (o.op.security?.length && key !== apiKey && res.status < 400)
            problems.push(`${label}: accepted without a valid API key (${res.status})`);
          const after = await count();
          if (res.status >= 400 && after !== before)
            problems.push(`${label}: refused with ${res.status} but rows changed:\n  ${before}\n  ${after}`);
          before = after;
        }
      }
    }
    expect((await h.http('GET', '/healthz')).status).toBe(200);
    console.error(`fuzz (ingest): ${ops.length} operations, ${cases} cases, seed ${SEED}`);
    expect(problems).toEqual([]);
  }, 600_000);
});
