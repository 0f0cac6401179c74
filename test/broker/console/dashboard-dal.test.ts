import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardFigures } from '../../../broker/console/dashboard-dal.ts';
import { createPlatform } from '../../../shared/runtime/platform.ts';
import type { Databases } from '../../../shared/runtime/databases.ts';
import type { DatabaseUrls } from '../../../shared/db/database-urls.ts';
import { servicePools, testConfig, testDb } from '../../support/db.ts';
import { insertConversations } from '../../support/console-fixtures.ts';
import { databasesOf } from '../../support/scratch-databases.ts';

describe('dashboard figures (aggregates for the console dashboard)', () => {
  const { urls, servicePasswords } = testDb();
  const databases: Databases = databasesOf({ urls: urls as DatabaseUrls, servicePasswords });
  const platform = createPlatform(testConfig(), databases, 'operator', { name: 'dashboard-test', poolMax: 2 });
  const broker = servicePools('broker');
  let ws: string;
  let other: string;

  beforeAll(async () => {
    ws = (
      await platform.workspaces.create(
        { name: `dash ${crypto.randomBytes(3).toString('hex')}`, region: 'eu' },
        { id: 'test', kind: 'operator' },
      )
    ).id;
    other = (
      await platform.workspaces.create(
        { name: `other ${crypto.randomBytes(3).toString('hex')}`, region: 'eu' },
        { id: 'test', kind: 'operator' },
      )
    ).id;
    const eu = platform.pools.region('eu');
    await insertConversations(eu, ws, [
      { daysAgo: 0, provider: 'meta', method: 'ctwa_clid' },
      { daysAgo: 0, provider: 'twilio', method: 'ref_code', clickKind: 'gclid' },
      { daysAgo: 1, provider: 'twilio', method: 'ref_code', clickKind: 'fbclid' },
      { daysAgo: 1, provider: 'gupshup' },
      { daysAgo: 2, provider: 'twilio', method: 'ref_code', clickKind: 'msclkid' },
      { daysAgo: 40, provider: 'bird', method: 'ref_code', clickKind: 'ttclid' },
    ]);
    await insertConversations(eu, other, [{ daysAgo: 0, provider: 'bird', method: 'ctwa_clid' }]);
  });
  afterAll(async () => {
    await broker.end();
    await platform.close();
  });

  it('counts per day, attributed share, by platform and by BSP, for this workspace and period only (as wact_broker)', async () => {
    const f = await dashboardFigures(broker.region('eu'), ws, 7);
    expect(f.perDay).toHaveLength(7);
    expect(f.perDay.at(-1)).toMatchObject({ conversations: 2, attributed: 2 });
    expect(f.totals).toEqual({ conversations: 5, attributed: 4, conversions: 0 });
    expect(Object.fromEntries(f.byProvider.map((p) => [p.provider, p.count]))).toEqual({ twilio: 3, meta: 1, gupshup: 1 });
    expect(Object.fromEntries(f.byPlatform.map((p) => [p.platform, p.count]))).toEqual({ meta: 2, google: 1, microsoft: 1 });
  });

  it('a longer period includes older conversations; an empty workspace gives zeros, not an error', async () => {
    expect((await dashboardFigures(broker.region('eu'), ws, 60)).totals.conversations).toBe(6);
    const empty = await dashboardFigures(broker.region('eu'), crypto.randomUUID(), 7);
    expect(empty.totals).toEqual({ conversations: 0, attributed: 0, conversions: 0 });
    expect(empty.perDay.every((d) => d.conversations === 0)).toBe(true);
  });
});
