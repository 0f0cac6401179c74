import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFieldCrypto, type FieldCrypto } from '../../../shared/crypto/field-cipher.ts';
import { openDatabases } from '../../../shared/runtime/databases.ts';
import { createPlatform, type Platform } from '../../../shared/runtime/platform.ts';
import { createApiKeyService } from '../../../shared/workspaces/api-keys/api-keys-service.ts';
import { createBspCredentialService } from '../../../shared/workspaces/bsp-credentials/bsp-credentials-service.ts';
import { createLinkService } from '../../../shared/workspaces/links/links-service.ts';
import {
  createPlatformCredentialService,
  readPlatformCredentials,
} from '../../../shared/workspaces/platform-credentials/platform-credentials-service.ts';
import { createWorkspaceDirectory } from '../../../shared/workspaces/workspace-directory.ts';
import type { Workspace } from '../../../shared/workspaces/workspace-service.ts';
import { testConfig } from '../../support/db.ts';

/**
 * The workspace settings domains of shared/workspaces/ as the broker, the CLI
 * and ingest use them: what one writes the others read, listings never show a
 * secret, and disabling or revoking takes effect (denials as well as permissions).
 */
const actor = { id: 'operator:test', kind: 'operator' as const, role: 'operator', displayName: 'test' };

let operator: Platform;
let fields: FieldCrypto;
let ws: Workspace;
let other: Workspace;
let close: () => Promise<void>;
const poolFor = (r: 'eu' | 'us') => operator.pools.region(r);

beforeAll(async () => {
  const config = testConfig();
  const databases = await openDatabases(config);
  operator = createPlatform(config, databases, 'operator', { poolMax: 4 });
  fields = createFieldCrypto(operator.keyring);
  const name = () => `settings-${crypto.randomBytes(3).toString('hex')}`;
  ws = await operator.workspaces.create({ name: name(), region: 'eu' }, actor);
  other = await operator.workspaces.create({ name: name(), region: 'eu' }, actor);
  close = async () => {
    await operator.close();
    await databases.close();
  };
});
afterAll(() => close?.());

describe('ad-platform credentials', () => {
  it('stores what export and deletion read back through the one decryption, and lists names only', async () => {
    const platforms = createPlatformCredentialService({ crypto: fields, poolFor });
    const google = { accessToken: 'tok-settings', developerToken: 'dev-1', customerId: '1234567890', conversionActionId: '42' };
    await platforms.set(ws, 'google', google);
    expect(await platforms.get(ws, 'google')).toEqual(google);
    expect(await readPlatformCredentials({ crypto: fields, db: poolFor('eu') }, ws, 'google')).toEqual(google);
    expect(await readPlatformCredentials({ crypto: fields, db: poolFor('eu') }, ws, 'meta')).toBeUndefined();
    expect(await readPlatformCredentials({ crypto: fields, db: poolFor('eu') }, other, 'google')).toBeUndefined();
    const listed = await platforms.list(ws);
    expect(listed).toEqual([{ platform: 'google', createdAt: expect.any(Date), updatedAt: expect.any(Date) }]);
    expect(JSON.stringify(listed)).not.toContain('tok-settings');
  });

  it("refuses a ciphertext moved to another platform's row, unknown platforms, and names bad fields without their values", async () => {
    const platforms = createPlatformCredentialService({ crypto: fields, poolFor });
    await platforms.set(ws, 'microsoft', {
      accessToken: 'tok-ms',
      developerToken: 'dev-ms',
      customerId: '1',
      customerAccountId: '2',
      conversionName: 'lead',
    });
    await poolFor('eu').query(
      `INSERT INTO wact.ad_platform_credentials (workspace_id, platform, credentials_enc)
       SELECT workspace_id, 'tiktok', credentials_enc FROM wact.ad_platform_credentials WHERE workspace_id = $1 AND platform = 'microsoft'`,
      [ws.id],
    );
    await expect(readPlatformCredentials({ crypto: fields, db: poolFor('eu') }, ws, 'tiktok')).rejects.toThrow(/could not be decrypted/);
    await expect(platforms.set(ws, 'myspace', {})).rejects.toMatchObject({ status: 400, code: 'unknown_platform' });
    const bad = platforms.set(ws, 'meta', { accessToken: 'secret-token-value', datasetId: 'not-digits' });
    await expect(bad).rejects.toMatchObject({ status: 400, code: 'invalid_credentials', message: expect.stringContaining('datasetId') });
    await expect(bad).rejects.not.toMatchObject({ message: expect.stringContaining('secret-token-value') });
  });
});

describe('BSP credentials', () => {
  it('gives ingest the secret the console set, lists the provider without it, and 404s an unconfigured provider', async () => {
    const bsp = createBspCredentialService({ crypto: fields, poolFor, ttlMs: 0 });
    await bsp.set(ws, { provider: 'twilio', secret: 'twilio-auth-token-1' });
    expect(await bsp.get(ws, 'twilio')).toEqual({ secret: 'twilio-auth-token-1' });
    await bsp.set(ws, { provider: 'twilio', secret: 'twilio-auth-token-2', verifyToken: 'verify-me-please' });
    expect(await bsp.get(ws, 'twilio')).toEqual({ secret: 'twilio-auth-token-2', verifyToken: 'verify-me-please' });
    const listed = await bsp.list(ws);
    expect(listed).toEqual([{ provider: 'twilio', verifyToken: true, createdAt: expect.any(Date), updatedAt: expect.any(Date) }]);
    expect(JSON.stringify(listed)).not.toMatch(/twilio-auth-token|verify-me-please/);
    await expect(bsp.get(ws, 'bird')).rejects.toMatchObject({ status: 404, code: 'provider_not_configured' });
    await expect(bsp.get(other, 'twilio')).rejects.toMatchObject({ status: 404 });
    await expect(bsp.set(ws, { provider: 'twilio', secret: 'short' })).rejects.toThrow();
  });
});

describe('links', () => {
  it('creates, pages and disables links; a disabled link no longer redirects', async () => {
    const links = createLinkService({ poolFor });
    const a = await links.create(ws, { phone: '+44 20 7946 0001', text: 'Hi A' });
    const b = await links.create(ws, { phone: '+442079460002' });
    expect(a).toMatchObject({ workspaceId: ws.id, waNumber: '442079460001', prefillText: 'Hi A' });
    expect(await links.get(ws, a.id)).toEqual(a);
    await expect(links.get(other, a.id)).rejects.toMatchObject({ status: 404 });

    const byId = await links.list(ws, { orderBy: 'id', order: 'ASC', limit: 1, offset: 0 });
    expect(byId.total).toBe(2);
    expect(byId.items.map((l) => l.id)).toEqual([[a.id, b.id].sort()[0]]);
    const second = await links.list(ws, { orderBy: 'id', order: 'ASC', limit: 1, offset: 1 });
    expect(second.items.map((l) => l.id)).toEqual([[a.id, b.id].sort()[1]]);

    await links.disable(ws, a.id);
    await expect(links.get(ws, a.id)).rejects.toMatchObject({ status: 404, code: 'link_not_found' });
    await expect(links.disable(ws, a.id)).rejects.toMatchObject({ status: 404 });
    await expect(links.disable(other, b.id)).rejects.toMatchObject({ status: 404 });
    expect((await links.list(ws, { orderBy: 'createdAt', order: 'DESC', limit: 10, offset: 0 })).items.map((l) => l.id)).toEqual([b.id]);
    await expect(links.create(ws, { phone: 'not a phone' })).rejects.toMatchObject({ status: 400, code: 'invalid_phone' });
  });
});

describe('API keys', () => {
  it('authenticates a live key for its own workspace only, never lists it, and refuses it once revoked', async () => {
    const directory = createWorkspaceDirectory({ workspaces: operator.workspaces, ttlMs: 0 });
    const keys = createApiKeyService({ poolFor, directory, ttlMs: 0 });
    const created = await keys.create(ws, 'CRM');
    expect(created.key).toMatch(/^wact_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$/);
    expect((await keys.authenticate(created.key)).id).toBe(ws.id);

    const listed = await keys.list(ws, { orderBy: 'label', order: 'ASC', limit: 10, offset: 0 });
    expect(listed.items).toEqual([{ id: created.id, label: 'CRM', createdAt: expect.any(Date), revokedAt: null }]);
    expect(JSON.stringify(listed)).not.toContain(created.key.slice(38));

    // The same secret under another workspace's id is not a key of that workspace.
    const forged = created.key.replace(ws.id.replaceAll('-', ''), other.id.replaceAll('-', ''));
    await expect(keys.authenticate(forged)).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });
    await expect(keys.authenticate(undefined)).rejects.toMatchObject({ status: 401 });
    // Without a directory (the broker's and the CLI's use) no key authenticates: fail closed.
    await expect(createApiKeyService({ poolFor }).authenticate(created.key)).rejects.toMatchObject({ status: 401 });

    await keys.revoke(ws, created.id);
    await expect(keys.authenticate(created.key)).rejects.toMatchObject({ status: 401 });
    await expect(keys.revoke(ws, created.id)).rejects.toMatchObject({ status: 404, code: 'apikey_not_found' });
    expect((await keys.list(ws, { orderBy: 'createdAt', order: 'DESC', limit: 10, offset: 0 })).items[0].revokedAt).toBeInstanceOf(Date);
  });
});
