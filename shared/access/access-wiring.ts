import fs from 'node:fs';
import { createFieldCrypto, type FieldCrypto } from '../crypto/field-cipher.ts';
import type { Platform } from '../runtime/platform.ts';
import type { ServiceRoot } from '../runtime/service-root.ts';
import { accessSettings } from './access-config.ts';
import { createAccessDal } from './access-dal.ts';
import { createAccessService, type AccessService, type AccessServiceDeps } from './access-service.ts';
import type { AccessSettings } from './access-types.ts';
import { createSessionRoles } from './session-roles.ts';

/** The access service on a broker platform (wact_broker pools). */
export function accessServiceFor(
  platform: Platform,
  opts: { fieldCrypto?: FieldCrypto; settings?: Partial<AccessSettings>; rdsCredentials?: AccessServiceDeps['rdsCredentials'] } = {},
): AccessService {
  const settings = { ...accessSettings(platform.config), ...opts.settings };
  return createAccessService({
    dal: createAccessDal(platform.pools.control),
    roles: createSessionRoles({ regionPool: (r) => platform.pools.region(r), authMode: settings.authMode }),
    audit: platform.audit,
    fieldCrypto: opts.fieldCrypto ?? createFieldCrypto(platform.keyring),
    workspaces: platform.workspaces,
    regionalUrls: { eu: platform.databases.urls.eu, us: platform.databases.urls.us },
    settings,
    rdsCredentials: opts.rdsCredentials,
    // The database's certificate is verified against the system store plus TLS_CA_FILE (e.g. the RDS bundle).
    upstreamCa: platform.config.tls.caFile ? fs.readFileSync(platform.config.tls.caFile, 'utf8') : undefined,
  });
}

/** The process's one access service (broker routes, gateway and worker sweep share it under `wact start`). */
export function accessOf(root: ServiceRoot): AccessService {
  return root.once('access', () => accessServiceFor(root.platform('broker')));
}
