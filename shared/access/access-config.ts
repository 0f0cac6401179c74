import type { Config } from '../config/config.ts';
import { ConfigError } from '../errors/errors.ts';
import { MAX_TTL_SECONDS, type AccessSettings } from './access-types.ts';
import { gatewayTrustLoader } from './connection-details.ts';

function seconds(value: string, name: string): number {
  const m = /^(\d{1,5})(s|m)?$/.exec(value);
  if (!m) throw new ConfigError(`${name} must look like 5m or 300s`);
  return Number(m[1]) * (m[2] === 's' ? 1 : 60);
}

/** The access broker's settings from the validated configuration. */
export function accessSettings(config: Config): AccessSettings {
  const raw = config.raw as Config['raw'] & Record<string, string | number | undefined>;
  const maxTtl = seconds(String(raw.ACCESS_TTL_MAX ?? '15m'), 'ACCESS_TTL_MAX');
  const defaultTtl = seconds(String(raw.ACCESS_TTL_DEFAULT ?? '5m'), 'ACCESS_TTL_DEFAULT');
  if (maxTtl > MAX_TTL_SECONDS || maxTtl < 60) throw new ConfigError('ACCESS_TTL_MAX must be between 1 and 15 minutes');
  if (defaultTtl > maxTtl || defaultTtl < 60) throw new ConfigError('ACCESS_TTL_DEFAULT must be between 1 minute and ACCESS_TTL_MAX');
  return {
    defaultTtlSeconds: defaultTtl,
    maxTtlSeconds: maxTtl,
    pendingTimeoutSeconds: seconds(String(raw.ACCESS_PENDING_TIMEOUT ?? '60m'), 'ACCESS_PENDING_TIMEOUT'),
    authMode: (raw.WACT_DB_AUTH as AccessSettings['authMode']) ?? 'password',
    gatewayHost: String(raw.GATEWAY_PUBLIC_HOST ?? config.publicHost),
    gatewayPort: config.ports.gateway,
    gatewayTrust: gatewayTrustLoader(config),
    rdsRegions: { eu: String(raw.WACT_RDS_AWS_REGION_EU ?? 'eu-central-1'), us: String(raw.WACT_RDS_AWS_REGION_US ?? 'us-east-1') },
  };
}
