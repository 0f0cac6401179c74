import tls from 'node:tls';
import * as oidc from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import { ServiceUnavailableError } from '../http/api-errors.ts';

export interface OidcClientOptions {
  issuerUrl: string;
  clientId: string;
  clientSecret: string;
  redirectUri: () => string;
  scopes: string;
  /** Extra CA (PEM) trusted for the issuer, on top of the system store. Never a global TLS bypass. */
  ca?: string;
  timeoutMs?: number;
}

export interface IdTokenClaims {
  iss: string;
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  [claim: string]: unknown;
}

/** The issuer answered, but refused or failed the sign-in (bad code, replayed code, bad ID token …). */
export class OidcExchangeError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'OidcExchangeError';
    this.code = code;
  }
}

/**
 * OpenID Connect relying party on openid-client 6: authorization code flow
 * with PKCE (S256), state and nonce; the ID token's signature, issuer,
 * audience, expiry and nonce are validated by the library. The issuer's
 * metadata is discovered lazily and cached; a failed discovery is retried on
 * the next sign-in (the issuer may come up later).
 */
export function createOidcClient(opts: OidcClientOptions) {
  const agent = new Agent({
    connect: { ca: opts.ca ? [...tls.rootCertificates, opts.ca] : undefined, timeout: opts.timeoutMs ?? 5000 },
    headersTimeout: opts.timeoutMs ?? 5000,
    bodyTimeout: opts.timeoutMs ?? 5000,
  });
  const customFetch: oidc.CustomFetch = ((url: string, init: oidc.CustomFetchOptions) =>
    undiciFetch(url, { ...(init as object), dispatcher: agent } as Parameters<typeof undiciFetch>[1])) as unknown as oidc.CustomFetch;

  let configuration: Promise<oidc.Configuration> | undefined;
  function config(): Promise<oidc.Configuration> {
    configuration ??= oidc
      .discovery(new URL(opts.issuerUrl), opts.clientId, { client_secret: opts.clientSecret }, oidc.ClientSecretPost(opts.clientSecret), {
        [oidc.customFetch]: customFetch,
        timeout: Math.ceil((opts.timeoutMs ?? 5000) / 1000),
      })
      .then((c) => {
        c[oidc.customFetch] = customFetch;
        return c;
      })
      .catch((err: unknown) => {
        configuration = undefined;
        void err; // the cause (TLS, DNS, refused) is the operator's business, not the caller's
        throw new ServiceUnavailableError('the identity provider is unavailable, try again shortly', 'identity_provider_unavailable');
      });
    return configuration;
  }

  /** A fresh authorization request: the caller stores state, nonce and verifier server-side. */
  async function startLogin(): Promise<{ url: string; state: string; nonce: string; codeVerifier: string }> {
    const c = await config();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(c, {
      redirect_uri: opts.redirectUri(),
      scope: opts.scopes,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return { url: url.href, state, nonce, codeVerifier };
  }

  /** Completes the flow for the callback URL; returns the validated ID token claims. */
  async function finishLogin(callbackUrl: URL, expected: { state: string; nonce: string; codeVerifier: string }): Promise<IdTokenClaims> {
    const c = await config();
    let tokens;
    try {
      tokens = await oidc.authorizationCodeGrant(c, callbackUrl, {
        pkceCodeVerifier: expected.codeVerifier,
        expectedState: expected.state,
        expectedNonce: expected.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      const e = err as { code?: string; error?: string; name?: string; cause?: unknown };
      // Network failures while redeeming: the issuer is down.
      if (e?.name === 'TypeError' || e?.code === 'OAUTH_TIMEOUT' || e?.code === 'UND_ERR_CONNECT_TIMEOUT') {
        throw new ServiceUnavailableError('the identity provider is unavailable, try again shortly', 'identity_provider_unavailable');
      }
      throw new OidcExchangeError(e?.error ?? e?.code ?? 'login_failed', 'the identity provider did not confirm this sign-in');
    }
    const claims = tokens.claims() as IdTokenClaims | undefined;
    if (!claims?.sub || !claims.iss) throw new OidcExchangeError('no_id_token', 'the identity provider returned no usable ID token');
    return claims;
  }

  return { startLogin, finishLogin, close: () => agent.close() };
}

export type OidcClient = ReturnType<typeof createOidcClient>;
