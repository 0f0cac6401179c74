import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pools } from '../../shared/db/pools.ts';
import { operatorPools } from '../support/db.ts';
import { runWact } from '../support/cli.ts';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-cli-lc-'));

/** Runs the real `wact` binary against the test databases (stdin optional). */
const wact = (args: string[], stdin?: string) => runWact(args, { home, stdin });

describe('wact lifecycle commands', () => {
  let ops: Pools;
  beforeAll(() => {
    ops = operatorPools();
  });
  afterAll(() => ops.end());

  it('seed, retention set, deletion request (phone from stdin), workspace wipe', async () => {
    const seeded = await wact(['seed', '--synthetic', '--workspaces', '1', '--conversations', '300', '--region', 'us', '--json']);
    expect(seeded.code, seeded.stderr).toBe(0);
    const [{ workspace, counts }] = JSON.parse(seeded.stdout);
    expect(counts.conversations).toBe(300);
    expect(
      (await ops.region('us').query('SELECT count(*)::int AS n FROM wact.conversations WHERE workspace_id = $1', [workspace.id])).rows[0].n,
    ).toBe(300);

    const longer = await wact(['retention', 'set', '--workspace', workspace.id, '--raw-days', '200']);
    expect(longer.code).toBe(1);
    expect(longer.stderr).toMatch(/at most 90 days/);
    const set = await wact(['retention', 'set', '--workspace', workspace.id, '--raw-days', '30', '--json']);
    expect(JSON.parse(set.stdout)).toMatchObject({ rawDays: 30, eventsDays: 730 });

    const del = await wact(['deletion', 'request', '--workspace', workspace.id, '--phone', '-', '--now', '--json'], '+1 202 555 0123\n');
    expect(del.code, del.stderr).toBe(0);
    expect(JSON.parse(del.stdout)).toMatchObject({ subjectKind: 'phone' });
    expect(del.stdout + del.stderr).not.toMatch(/555.?0123/);
    const list = await wact(['deletion', 'list', '--workspace', workspace.id, '--json']);
    expect(JSON.parse(list.stdout)).toHaveLength(1);

    const refused = await wact(['workspace', 'wipe', '--workspace', workspace.id]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/without --yes/);
    const wiped = await wact(['workspace', 'wipe', '--workspace', workspace.id, '--yes', '--json']);
    expect(wiped.code, wiped.stderr).toBe(0);
    expect(JSON.parse(wiped.stdout)).toMatchObject({ workspaceId: workspace.id, region: 'us', keysDestroyed: 2 });
    expect(
      (await ops.region('us').query('SELECT count(*)::int AS n FROM wact.conversations WHERE workspace_id = $1', [workspace.id])).rows[0].n,
    ).toBe(0);
  }, 120_000);
});
