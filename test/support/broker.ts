/**
 * A real broker and a real development OpenID provider for tests, both on
 * port 0 over HTTPS with a throw-away development CA, against the run's
 * databases. `loginAs` performs the browser-less flow a person would:
 * authorization request → provider login form → callback → TOTP enrollment or
 * verification (codes computed with otplib) → a small API client.
 *
 *   const broker = await startTestBroker();
 *   const ws = await broker.createWorkspace();
 *   const { identity } = await broker.createCustomer(ws.id, 'analyst');
 *   const analyst = await broker.loginAs(identity);
 *   const res = await analyst.get(`/api/workspaces/${ws.id}/conversations`);
 *   const sec = await broker.loginAs('security');        // seeded employees: 'engineer' | 'support' | 'security'
 *   await broker.close();
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generate } from 'otplib';
import { Agent, fetch } from 'undici';
import type { Config } from '../../shared/config/config.ts';
import { ensureDevCertificates, loadTlsMaterial, type TlsMaterial } from '../../shared/http/tls.ts';
import type { Databases } from '../../shared/runtime/databases.ts';
import { createPlatform, type Platform } from '../../shared/runtime/platform.ts';
import type { RunningService } from '../../shared/runtime/service-types.ts';
import type { Workspace } from '../../shared/workspaces/workspace-service.ts';
import type { DatabaseUrls } from '../../shared/db/database-urls.ts';
import { devClientSecret } from '../../broker/auth/identity-settings.ts';
import { createDevIdentityStore, loadDevIdentities, type DevIdentity } from '../../broker/dev-oidc/dev-identities.ts';
import { startDevOidc, type DevOidc } from '../../broker/dev-oidc/dev-oidc-server.ts';
import { ensureIdentityUser } from '../../broker/members/demo-seed.ts';
import type { CustomerRole, EmployeeRole } from '../../shared/permissions/permissions.ts';
import { startBroker } from '../../broker/server.ts';
import { startWorker } from '../../worker/worker-server.ts';
import { testConfig, testDb } from './db.ts';
import { databasesOf } from './scratch-databases.ts';

export interface HttpResult {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test responses are whatever JSON the route sent
  body: any;
  text: string;
}

export interface ApiClient {
  get(path: string, opts?: RequestOpts): Promise<HttpResult>;
  post(path: string, body?: unknown, opts?: RequestOpts): Promise<HttpResult>;
  put(path: string, body?: unknown, opts?: RequestOpts): Promise<HttpResult>;
  patch(path: string, body?: unknown, opts?: RequestOpts): Promise<HttpResult>;
  delete(path: string, opts?: RequestOpts): Promise<HttpResult>;
  /** The session cookie value (opaque token). */
  cookie: string | undefined;
  /** The CSRF token sent automatically on state-changing requests. */
  csrf: string | undefined;
  /** The user behind this client. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the /api/me payload, asserted field by field in tests
  me: any;
  /** Recovery codes issued at enrollment (if this login enrolled). */
  recoveryCodes?: string[];
  jar: CookieJar;
}

export interface RequestOpts {
  headers?: Record<string, string>;
  /** Skip the automatic CSRF header (to test refusals). */
  noCsrf?: boolean;
  reason?: string;
}

/** Cookies per origin, enough for our flows (no path/expiry logic beyond Max-Age=0). */
export class CookieJar {
  private readonly jars = new Map<string, Map<string, string>>();
  header(url: URL): string | undefined {
    const jar = this.jars.get(url.host);
    if (!jar?.size) return undefined;
    return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  store(url: URL, headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let jar = this.jars.get(url.host);
      if (!jar) this.jars.set(url.host, (jar = new Map()));
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || attrs.some((a) => /^\s*expires=thu, 01 jan 1970/i.test(a));
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
    }
  }
  get(url: URL, name: string): string | undefined {
    return this.jars.get(url.host)?.get(name);
  }
  set(url: URL, name: string, value: string | undefined): void {
    let jar = this.jars.get(url.host);
    if (!jar) this.jars.set(url.host, (jar = new Map()));
    if (value === undefined) jar.delete(name);
    else jar.set(name, value);
  }
}

export const SESSION_COOKIE_NAME = '__Host-wact_session';

/** A raw HTTPS request with our CA and a cookie jar; never follows redirects. */
export async function rawRequest(
  agent: Agent,
  jar: CookieJar | undefined,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpResult & { location?: string }> {
  const u = new URL(url);
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  const cookie = jar?.header(u);
  if (cookie && !headers.cookie) headers.cookie = cookie;
  const res = await fetch(u, { method: init.method ?? 'GET', headers, body: init.body, redirect: 'manual', dispatcher: agent });
  jar?.store(u, res.headers as unknown as Headers);
  const text = await res.text();
  let body: HttpResult['body'] = text;
  if ((res.headers.get('content-type') ?? '').includes('json') && text) {
    try {
      body = JSON.parse(text);
    } catch {
      /* leave as text */
    }
  }
  const location = res.headers.get('location') ?? undefined;
  return {
    status: res.status,
    headers: res.headers as unknown as Headers,
    body,
    text,
    location: location ? new URL(location, u).href : undefined,
  };
}

export interface TestBroker {
  url: string;
  issuer: string;
  config: Config;
  tls: TlsMaterial;
  agent: Agent;
  /** Operator platform (superuser pools) for arranging data directly. */
  platform: Platform;
  broker: RunningService;
  oidc: DevOidc;
  /** The seeded identities (owner/admin/analyst/readonly are NOT members of anything here: use createWorkspace + createCustomer). */
  seeded: DevIdentity[];
  identity(emailOrRole: string): DevIdentity;
  loginAs(who: DevIdentity | string, opts?: { totp?: boolean; via?: 'browser' }): Promise<ApiClient>;
  /** Drives the flow up to and including the callback; returns the jar and the callback response. */
  signIn(
    who: DevIdentity | string,
    opts?: { tamper?: (callbackUrl: URL) => URL; tamperAuthorize?: (authorizeUrl: URL) => URL },
  ): Promise<{ client: ApiClient; callback: HttpResult }>;
  totpCode(who: DevIdentity | string): Promise<string>;
  /** The TOTP secret learnt at enrollment and the last step the helper spent. */
  totpState(who: DevIdentity | string): TotpMemory | undefined;
  createWorkspace(name?: string, region?: 'eu' | 'us'): Promise<Workspace>;
  createCustomer(
    workspaceId: string,
    role: CustomerRole,
    opts?: { email?: string; name?: string },
  ): Promise<{ identity: DevIdentity; userId: string }>;
  createEmployee(role: EmployeeRole): DevIdentity;
  client(): ApiClient;
  close(): Promise<void>;
}

/** TOTP secrets learnt at enrollment, per identity subject, and the last step used. */
export interface TotpMemory {
  secret: string;
  lastStep: number;
}

export async function startTestBroker(
  opts: { env?: Record<string, string>; extraClients?: { client_id: string; client_secret: string }[] } = {},
): Promise<TestBroker> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-broker-'));
  // Platform keys (e.g. the audit signing key) live in the shared test databases, so every
  // test process must wrap and unwrap them with the run's one local KEK per region.
  const runKeys = path.join(testDb().home, 'keys');
  fs.mkdirSync(runKeys, { recursive: true, mode: 0o700 });
  fs.symlinkSync(runKeys, path.join(home, 'keys'));
  // Every test process signs in from 127.0.0.1 against one shared control database: give each
  // test broker its own client id (rate-limit buckets are per client) and a generous per-IP limit.
  const env = { OIDC_CLIENT_ID: `wact-test-${crypto.randomBytes(4).toString('hex')}`, LOGIN_RATE_PER_IP: '100000', ...(opts.env ?? {}) };
  const base = testConfig({ WACT_HOME: home, ...env });
  await ensureDevCertificates(home, ['localhost']);
  const tls = loadTlsMaterial(base);
  const identities = createDevIdentityStore(loadDevIdentities(home));
  const oidc = await startDevOidc({
    host: '127.0.0.1',
    port: 0,
    publicHost: 'localhost',
    tls,
    clientId: base.raw.OIDC_CLIENT_ID,
    clientSecret: devClientSecret(base),
    redirectUris: ['https://localhost/auth/callback'],
    identities,
    extraClients: opts.extraClients,
  });
  const config = testConfig({ WACT_HOME: home, OIDC_ISSUER_URL: oidc.issuer, ...env });
  const { urls, servicePasswords } = testDb();
  const databases: Databases = databasesOf({ urls: urls as DatabaseUrls, servicePasswords });
  const broker = await startBroker({ config, databases, tls }, { port: 0 });
  // The broker holds no audit signing key: the signing worker (as `wact start` runs it) answers its sign requests.
  const auditSigner = await startWorker({ config, databases, tls }, { queues: ['audit-sign'], signRequestPollMs: 500 });
  const url = broker.urls.broker;
  const agent = new Agent({ connect: { ca: tls.ca } });
  const platform = createPlatform(config, databases, 'operator', { name: 'test', poolMax: 3 });
  const totp = new Map<string, TotpMemory>();
  const seeded = identities.list();

  const identity = (who: DevIdentity | string): DevIdentity => {
    if (typeof who !== 'string') return who;
    const found = identities.list().find((i) => i.email === who || i.email.startsWith(`${who}@`));
    if (!found) throw new Error(`no dev identity ${who}`);
    return found;
  };

  function makeClient(jar = new CookieJar()): ApiClient {
    const base = new URL(url);
    const client: ApiClient = {
      jar,
      me: undefined,
      csrf: undefined,
      get cookie() {
        return jar.get(base, SESSION_COOKIE_NAME);
      },
      set cookie(v) {
        jar.set(base, SESSION_COOKIE_NAME, v);
      },
      get: (p, o) => send('GET', p, undefined, o),
      post: (p, b, o) => send('POST', p, b, o),
      put: (p, b, o) => send('PUT', p, b, o),
      patch: (p, b, o) => send('PATCH', p, b, o),
      delete: (p, o) => send('DELETE', p, undefined, o),
    };
    async function send(method: string, p: string, body: unknown, o: RequestOpts = {}): Promise<HttpResult> {
      const headers: Record<string, string> = { accept: 'application/json', ...(o.headers ?? {}) };
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (method !== 'GET' && client.csrf && !o.noCsrf) headers['x-csrf-token'] = client.csrf;
      if (o.reason) headers['x-wact-reason'] = o.reason;
      const res = await rawRequest(agent, jar, new URL(p, url).href, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (res.body && typeof res.body === 'object' && typeof res.body.csrfToken === 'string') client.csrf = res.body.csrfToken;
      return res;
    }
    return client;
  }

  async function signIn(who: DevIdentity | string, o: { tamper?: (u: URL) => URL; tamperAuthorize?: (u: URL) => URL } = {}) {
    const id = identity(who);
    const client = makeClient();
    const jar = client.jar;
    let res = await rawRequest(agent, jar, `${url}/auth/login`, { headers: { accept: 'text/html' } });
    if (res.status !== 302 || !res.location) throw new Error(`/auth/login answered ${res.status}: ${res.text.slice(0, 200)}`);
    let next = o.tamperAuthorize ? o.tamperAuthorize(new URL(res.location)).href : res.location;
    // Walk the provider until it sends us back to the broker.
    for (let hops = 0; hops < 10 && new URL(next).origin === new URL(oidc.issuer).origin; hops++) {
      res = await rawRequest(agent, jar, next, { headers: { accept: 'text/html' } });
      if (res.status === 200 && /<form[^>]+\/login"/.test(res.text)) {
        const action = /action="([^"]+)"/.exec(res.text)![1];
        res = await rawRequest(agent, jar, new URL(action, next).href, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
          body: new URLSearchParams({ email: id.email, password: id.password }).toString(),
        });
      }
      if (!res.location) throw new Error(`provider answered ${res.status} without redirect: ${res.text.slice(0, 300)}`);
      next = res.location;
    }
    let callbackUrl = new URL(next);
    if (o.tamper) callbackUrl = o.tamper(callbackUrl);
    const callback = await rawRequest(agent, jar, callbackUrl.href, { headers: { accept: 'application/json' } });
    return { client, callback };
  }

  async function totpCode(who: DevIdentity | string): Promise<string> {
    const id = identity(who);
    const mem = totp.get(id.subject);
    if (!mem) throw new Error(`no TOTP secret known for ${id.email}`);
    let now = Math.floor(Date.now() / 1000);
    const step = Math.max(Math.floor(now / 30), mem.lastStep + 1);
    // The broker accepts one step of drift; beyond that, wait for time to catch up.
    while (step > Math.floor(now / 30) + 1) {
      await new Promise((r) => setTimeout(r, 1000));
      now = Math.floor(Date.now() / 1000);
    }
    mem.lastStep = step;
    return generate({ secret: mem.secret, epoch: step * 30 });
  }

  async function loginAs(who: DevIdentity | string, o: { totp?: boolean } = {}): Promise<ApiClient> {
    const id = identity(who);
    const { client, callback } = await signIn(id);
    if (callback.status !== 200) throw new Error(`callback answered ${callback.status}: ${callback.text.slice(0, 300)}`);
    let me = await client.get('/api/me');
    if (me.status !== 200) throw new Error(`/api/me answered ${me.status}`);
    if (o.totp === false) {
      client.me = me.body;
      return client;
    }
    if (me.body.totp === 'enroll') {
      const start = await client.post('/auth/totp/enroll', {});
      if (start.status !== 200) throw new Error(`enroll answered ${start.status}: ${start.text}`);
      const secret = new URL(start.body.otpauthUri).searchParams.get('secret')!;
      totp.set(id.subject, { secret, lastStep: 0 });
      const done = await client.post('/auth/totp/confirm', { code: await totpCode(id) });
      if (done.status !== 200) throw new Error(`confirm answered ${done.status}: ${done.text}`);
      client.recoveryCodes = done.body.recoveryCodes;
    } else if (me.body.totp === 'verify') {
      const done = await client.post('/auth/totp/verify', { code: await totpCode(id) });
      if (done.status !== 200) throw new Error(`verify answered ${done.status}: ${done.text}`);
    }
    me = await client.get('/api/me');
    client.me = me.body;
    return client;
  }

  return {
    url,
    issuer: oidc.issuer,
    config,
    tls,
    agent,
    platform,
    broker,
    oidc,
    seeded,
    identity,
    loginAs,
    signIn,
    totpCode,
    totpState: (who) => totp.get(identity(who).subject),
    client: () => makeClient(),
    async createWorkspace(name = `Test ${crypto.randomBytes(3).toString('hex')}`, region: 'eu' | 'us' = 'eu') {
      return platform.workspaces.create({ name, region }, { id: 'test', kind: 'operator' });
    },
    async createCustomer(workspaceId, role, o = {}) {
      const tag = crypto.randomBytes(4).toString('hex');
      const id = identities.add({ email: o.email ?? `${role}-${tag}@customer.example`, name: o.name ?? `${role} ${tag}` });
      const userId = await ensureIdentityUser(platform, oidc.issuer, id);
      await platform.pools.control.query('INSERT INTO wact.memberships (workspace_id, user_id, role) VALUES ($1, $2, $3)', [
        workspaceId,
        userId,
        role,
      ]);
      return { identity: id, userId };
    },
    createEmployee(role) {
      const group = { engineer: 'wact-engineers', support: 'wact-support', security: 'wact-security' }[role];
      const tag = crypto.randomBytes(4).toString('hex');
      return identities.add({ email: `${role}-${tag}@wact.dev`, name: `${role} ${tag}`, groups: [group] });
    },
    async close() {
      await broker.close();
      await auditSigner.close();
      await oidc.close();
      await platform.close();
      await agent.close();
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}
