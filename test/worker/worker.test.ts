import { describe, expect, it } from 'vitest';
import { createServiceRoot } from '../../shared/runtime/service-root.ts';
import type { ServiceContext } from '../../shared/runtime/service-types.ts';
import { parseQueueGroups, startWorker } from '../../worker/worker-server.ts';
import { testConfig, testDb } from '../support/db.ts';
import { databasesOf } from '../support/scratch-databases.ts';

const ctx = (): ServiceContext => {
  const { urls, servicePasswords } = testDb();
  return { config: testConfig(), databases: databasesOf({ urls, servicePasswords }) } as ServiceContext;
};

describe('worker: queue groups and the signing key', () => {
  it('--queues takes known groups only', () => {
    expect(parseQueueGroups(undefined)).toBeUndefined();
    expect(parseQueueGroups('sessions, audit-sign,sessions')).toEqual(['sessions', 'audit-sign']);
    expect(() => parseQueueGroups('sessions,mail')).toThrow(/unknown queue group "mail"/);
  });

  it('in production, a worker given the signing key without the audit-sign queues refuses to start', async () => {
    const base = ctx();
    const config = {
      ...base.config,
      env: 'production' as const,
      raw: {
        ...base.config.raw,
        WACT_AUDIT_SIGNING_KMS_KEY: 'arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      },
    };
    await expect(startWorker({ ...base, config }, { queues: ['sessions', 'audit'] })).rejects.toThrow(
      /only the signing worker holds the key/,
    );
  });

  it('a worker without audit-sign neither works the signing queue nor loads the key; one root builds each part once', async () => {
    const root = createServiceRoot(ctx());
    const worker = await startWorker(root, { queues: ['partitions'] });
    try {
      expect(worker.groups).toEqual(['partitions']);
      expect(root.platform('broker')).toBe(root.platform('broker'));
      expect(root.once('x', () => ({}))).toBe(root.once('x', () => ({})));
      // Its queues: partition upkeep per region, scheduled hourly; nothing of the signing worker's.
      for (const region of ['eu', 'us'] as const) {
        const { rows } = await root
          .platform('broker')
          .pools.region(region)
          .query<{ name: string; cron: string }>(`SELECT name, cron FROM pgboss.schedule WHERE name = 'ingest.partition_upkeep'`);
        expect(rows).toEqual([{ name: 'ingest.partition_upkeep', cron: '7 * * * *' }]);
      }
      expect(worker.notes?.join(' ')).not.toMatch(/audit/);
    } finally {
      await worker.close();
      await root.close();
    }
  });
});
