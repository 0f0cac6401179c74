import type { RunningService, ServiceContext } from '../../shared/runtime/service-types.ts';
import { devClientSecret, identitySettings } from '../auth/identity-settings.ts';
import { createDevIdentityStore, devIdentitiesPath, loadDevIdentities } from './dev-identities.ts';
import { startDevOidc } from './dev-oidc-server.ts';

/** `wact start`: the development OpenID provider on OIDC_PORT with the seeded identities, printed in the banner. */
export async function startDevOidcService(ctx: ServiceContext, opts: { port?: number } = {}): Promise<RunningService> {
  const { config } = ctx;
  const identities = createDevIdentityStore(loadDevIdentities(config.home));
  const settings = identitySettings(config);
  const oidc = await startDevOidc({
    host: config.host,
    port: opts.port ?? config.ports.oidc,
    publicHost: config.publicHost,
    tls: ctx.tls,
    clientId: settings.clientId,
    clientSecret: devClientSecret(config),
    redirectUris: [`${settings.publicUrl}/auth/callback`],
    identities,
  });
  const width = Math.max(...identities.list().map((i) => i.email.length));
  return {
    name: 'dev-oidc',
    urls: { 'dev OIDC': oidc.issuer },
    notes: [
      `demo logins (development only; passwords in ${devIdentitiesPath(config.home)}):`,
      ...identities
        .list()
        .map(
          (i) =>
            `  ${i.email.padEnd(width)}  ${i.password}  ${i.demoRole ? `Demo Shop ${i.demoRole}` : i.demoSignup ? 'new owner: sign-up invitation, walks the setup wizard' : (i.groups[0] ?? '')}`,
        ),
      '  employees (and customers in workspaces that require it) set up TOTP at first sign-in',
    ],
    close: () => oidc.close(),
  };
}
