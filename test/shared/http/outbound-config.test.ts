import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../shared/config/config.ts';
import { ConfigError } from '../../../shared/errors/errors.ts';

/** The development allow-list for customer destinations never reaches production. */
const production = {
  WACT_ENV: 'production',
  WACT_KEY_PROVIDER: 'aws-kms',
  WACT_KMS_KEY_EU: 'arn:aws:kms:eu-central-1:111122223333:key/eu',
  WACT_KMS_KEY_US: 'arn:aws:kms:us-east-1:111122223333:key/us',
  WACT_AUDIT_SIGNING_KMS_KEY: 'arn:aws:kms:eu-central-1:111122223333:key/sign',
  TLS_CERT_FILE: '/etc/wact/tls.crt',
  TLS_KEY_FILE: '/etc/wact/tls.key',
  DATABASE_URL_CONTROL: 'postgres://a@db.example/wact_control?sslmode=verify-full',
  DATABASE_URL_EU: 'postgres://a@db.example/wact_eu?sslmode=verify-full',
  DATABASE_URL_US: 'postgres://a@db.example/wact_us?sslmode=verify-full',
};

describe('WACT_OUTBOUND_DEV_ALLOW', () => {
  it('refuses to start production with it', () => {
    expect(() => loadConfig({ ...production, WACT_OUTBOUND_DEV_ALLOW: '127.0.0.1/32' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...production, WACT_OUTBOUND_DEV_ALLOW: '127.0.0.1/32' })).toThrow(/WACT_OUTBOUND_DEV_ALLOW/);
  });

  it('is accepted in development and tests, and production without it starts', () => {
    expect(loadConfig({ WACT_OUTBOUND_DEV_ALLOW: '127.0.0.1/32,::1/128' }).raw.WACT_OUTBOUND_DEV_ALLOW).toBe('127.0.0.1/32,::1/128');
    expect(() => loadConfig({ ...production, WACT_OUTBOUND_DEV_ALLOW: ' ' })).not.toThrow();
    expect(() => loadConfig(production)).not.toThrow();
  });
});
