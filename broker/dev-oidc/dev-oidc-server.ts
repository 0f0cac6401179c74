import crypto from 'node:crypto';
import type https from 'node:https';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Provider from 'oidc-provider';
import type { TlsMaterial } from '../../shared/http/tls.ts';
import { createHttpsServer } from '../../shared/http/tls.ts';
import type { DevIdentity, DevIdentityStore } from './dev-identities.ts';
import { createMemoryAdapter } from './memory-adapter.ts';

export interface DevOidcOptions {
  host: string;
  port: number;
  publicHost: string;
  tls: TlsMaterial;
  clientId: string;
  clientSecret: string;
  /** Exact redirect URIs; any https://localhost|127.0.0.1:<port>/auth/callback is also accepted (dev only). */
  redirectUris: string[];
  identities: DevIdentityStore;
  /** More registered clients (tests: a code or token for another client must be refused). */
  extraClients?: { client_id: string; client_secret: string }[];
}

export interface DevOidc {
  issuer: string;
  identities: DevIdentityStore;
  close(): Promise<void>;
}

const LOOPBACK_CALLBACK = /^https:\/\/(localhost|127\.0\.0\.1)(:\d{1,5})?\/auth\/callback$/;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid: string, error?: string, email = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>WAct dev sign-in</title>
<style>body{font-family:system-ui,sans-serif;max-width:22rem;margin:4rem auto}label{display:block;margin:.6rem 0}input{width:100%;padding:.4rem}.err{color:#b00020}</style></head>
<body><h1>WAct development sign-in</h1><p>Development identity provider. Use one of the demo logins printed by <code>npm start</code>.</p>
${error ? `<p class="err" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">
<label>Email <input name="email" type="email" required value="${escapeHtml(email)}" autofocus></label>
<label>Password <input name="password" type="password" required></label>
<button type="submit">Sign in</button></form></body></html>`;
}

/**
 * A real OpenID provider (oidc-provider) for development and tests: HTTPS with
 * the development certificate, authorization code + PKCE only, a login page
 * that accepts only the seeded identities, no consent screen for the broker
 * (first-party client). ID tokens carry email, name and groups.
 */
export async function startDevOidc(opts: DevOidcOptions): Promise<DevOidc> {
  let handler: express.Express | undefined;
  const server: https.Server = createHttpsServer((req, res) => {
    if (handler) handler(req, res);
    else {
      res.statusCode = 503;
      res.end();
    }
  }, opts.tls);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const issuer = `https://${opts.publicHost}:${port}`;

  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };

  const provider = new Provider(issuer, {
    adapter: createMemoryAdapter(),
    clients: [
      {
        client_id: opts.clientId,
        client_secret: opts.clientSecret,
        redirect_uris: opts.redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
      ...(opts.extraClients ?? []).map((c) => ({
        ...c,
        redirect_uris: opts.redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      })),
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    pkce: { required: () => true },
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    scopes: ['openid', 'email', 'profile', 'groups'],
    conformIdTokenClaims: false, // the broker reads identity from the validated ID token
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    findAccount: async (_ctx: unknown, sub: string) => {
      const identity = opts.identities.bySubject(sub);
      if (!identity) return undefined;
      return {
        accountId: sub,
        claims: async () => ({
          sub,
          email: identity.email,
          email_verified: identity.emailVerified,
          name: identity.name,
          groups: identity.groups,
        }),
      };
    },
    // The broker is first-party: grant its scopes without a consent screen.
    loadExistingGrant: async (ctx: {
      oidc: {
        client: { clientId: string };
        session: { accountId: string; grantIdFor(id: string): string | undefined };
        result?: { consent?: { grantId?: string } };
        provider: Provider;
      };
    }) => {
      const grantId = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) {
        const found = await ctx.oidc.provider.Grant.find(grantId);
        if (found) return found;
      }
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid email profile groups');
      await grant.save();
      return grant;
    },
    renderError: async (ctx: { type: string; body: string }, out: Record<string, string>) => {
      ctx.type = 'html';
      ctx.body = `<!doctype html><html><body><h1>Sign-in error</h1><p>${escapeHtml(out.error ?? 'error')}: ${escapeHtml(out.error_description ?? '')}</p></body></html>`;
    },
  });
  const original = provider.Client.prototype.redirectUriAllowed;
  provider.Client.prototype.redirectUriAllowed = function (this: { redirectUris: string[] }, value: string) {
    return original.call(this, value) || LOOPBACK_CALLBACK.test(value);
  };

  const app = express();
  app.disable('x-powered-by');
  const form = express.urlencoded({ extended: false, limit: '8kb' });
  app.get('/interaction/:uid', async (req, res, next) => {
    try {
      const details = await provider.interactionDetails(req, res);
      if (details.prompt.name === 'login') {
        res.type('html').send(loginPage(details.uid));
        return;
      }
      // consent (should not happen thanks to loadExistingGrant): grant and continue.
      await provider.interactionFinished(req, res, { consent: {} }, { mergeWithLastSubmission: true });
    } catch (err) {
      next(err);
    }
  });
  app.post('/interaction/:uid/login', form, async (req, res, next) => {
    try {
      const details = await provider.interactionDetails(req, res);
      const email = typeof req.body?.email === 'string' ? req.body.email.slice(0, 320) : '';
      const password = typeof req.body?.password === 'string' ? req.body.password.slice(0, 200) : '';
      const identity: DevIdentity | undefined = opts.identities.check(email, password);
      if (!identity) {
        res
          .status(401)
          .type('html')
          .send(loginPage(details.uid, 'Unknown email or wrong password.', email));
        return;
      }
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: identity.subject, amr: ['pwd'] } },
        { mergeWithLastSubmission: false },
      );
    } catch (err) {
      next(err);
    }
  });
  app.use(provider.callback());
  app.use(((err, _req, res, _next) => {
    res
      .status(400)
      .type('html')
      .send(`<!doctype html><html><body><h1>Sign-in error</h1><p>${escapeHtml((err as Error).name ?? 'error')}</p></body></html>`);
  }) as express.ErrorRequestHandler);
  handler = app;

  return {
    issuer,
    identities: opts.identities,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
