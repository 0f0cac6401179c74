import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../shared/config/config.ts';
import { ConfigError } from '../../../shared/errors/errors.ts';

const urls = {
  DATABASE_URL_CONTROL: 'postgres://a@db.example/wact_control?sslmode=verify-full',
  DATABASE_URL_EU: 'postgres://a@db.example/wact_eu?sslmode=verify-full',
  DATABASE_URL_US: 'postgres://a@db.example/wact_us?sslmode=verify-full',
};
const production = {
  WACT_ENV: 'production',
  WACT_KEY_PROVIDER: 'aws-kms',
  WACT_KMS_KEY_EU: 'arn:aws:kms:eu-central-1:111122223333:key/eu',
  WACT_KMS_KEY_US: 'arn:aws:kms:us-east-1:111122223333:key/us',
  TLS_CERT_FILE: '/etc/wact/tls.crt',
  TLS_KEY_FILE: '/etc/wact/tls.key',
  ...urls,
};

/** Loads and returns the one-line refusal, or 'ok'. */
function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
    return 'ok';
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).not.toContain('\n');
    return (err as Error).message;
  }
}

describe('configuration', () => {
  it('has working defaults with no environment at all', () => {
    const c = loadConfig({});
    expect(c.env).toBe('development');
    expect(c.database).toEqual({ kind: 'embedded', port: 5439 });
    expect(c.ports).toEqual({ ingest: 8443, broker: 9443, gateway: 6432, oidc: 9400 });
    expect(c.keys.provider).toBe('local');
    expect(c.home.endsWith('.wact')).toBe(true);
  });

  it('accepts a complete production configuration', () => {
    expect(refusal(production)).toBe('ok');
  });

  it('accepts production without a TLS certificate: the worker listens on nothing (listeners refuse it: tls.test.ts)', () => {
    const { TLS_CERT_FILE: _cert, TLS_KEY_FILE: _key, ...withoutCertificate } = production;
    expect(refusal(withoutCertificate)).toBe('ok');
  });

  it('refuses the local key provider in production', () => {
    expect(refusal({ ...production, WACT_KEY_PROVIDER: 'local' })).toMatch(/local key provider/);
  });

  it('refuses the embedded database in production', () => {
    const { DATABASE_URL_CONTROL: _c, DATABASE_URL_EU: _e, DATABASE_URL_US: _u, ...rest } = production;
    expect(refusal(rest)).toMatch(/embedded database/);
  });

  it('refuses a database URL without certificate verification in production', () => {
    expect(refusal({ ...production, DATABASE_URL_EU: 'postgres://a@db.example/wact_eu?sslmode=require' })).toMatch(
      /eu does not verify TLS/,
    );
    expect(refusal({ ...production, DATABASE_URL_US: 'postgres://a@db.example/wact_us' })).toMatch(/us does not verify TLS/);
    // pg takes the last of a repeated parameter: a verify-full that a later sslmode overrides is no verification.
    expect(
      refusal({ ...production, DATABASE_URL_CONTROL: 'postgres://a@db.example/wact_control?sslmode=verify-full&sslmode=disable' }),
    ).toMatch(/control does not verify TLS/);
  });

  it('refuses a partial set of database URLs and invalid values', () => {
    expect(refusal({ DATABASE_URL_CONTROL: urls.DATABASE_URL_CONTROL })).toMatch(/or none/);
    expect(refusal({ WACT_ENV: 'prod' })).toMatch(/WACT_ENV/);
    expect(refusal({ BROKER_PORT: 'abc' })).toMatch(/BROKER_PORT/);
  });

  it('lets staging use the embedded database and local keys', () => {
    expect(refusal({ WACT_ENV: 'staging' })).toBe('ok');
  });
});
