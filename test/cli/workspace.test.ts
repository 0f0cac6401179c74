import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorPools } from '../support/db.ts';
import { runWact } from '../support/cli.ts';
import type { Pools } from '../../shared/db/pools.ts';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wact-cli-'));

/** The real `wact` binary against the test databases, with a state folder of its own. */
const wact = (...args: string[]) => runWact(args, { home });

describe('wact workspace', () => {
  let ops: Pools;
  beforeAll(() => {
    ops = operatorPools();
  });
  afterAll(() => ops.end());

  it('creates the directory entry in control and the keys in its region only', async () => {
    const res = await wact('workspace', 'create', '--name', 'Acme Ltd', '--region', 'us', '--json');
    expect(res.code).toBe(0);
    const ws = JSON.parse(res.stdout);
    expect(ws).toMatchObject({ name: 'Acme Ltd', region: 'us' });

    const dir = await ops.control.query('SELECT region FROM wact.workspaces WHERE id = $1', [ws.id]);
    expect(dir.rows).toEqual([{ region: 'us' }]);
    const keys = await ops
      .region('us')
      .query('SELECT purpose, version FROM wact_private.workspace_keys WHERE workspace_id = $1 ORDER BY purpose', [ws.id]);
    expect(keys.rows).toEqual([
      { purpose: 'dek', version: 1 },
      { purpose: 'hmac', version: 1 },
    ]);
    const inEu = await ops.region('eu').query('SELECT count(*)::int AS n FROM wact.workspaces WHERE id = $1', [ws.id]);
    expect(inEu.rows[0].n).toBe(0);

    const list = JSON.parse((await wact('workspace', 'list', '--json')).stdout);
    expect(list.map((w: { id: string }) => w.id)).toContain(ws.id);

    // the workspace's own development KEK was generated into the state folder, readable by its owner only
    const kek = fs.statSync(path.join(home, 'keys', 'workspaces', 'us', `${ws.id}.key`));
    expect(kek.mode & 0o777).toBe(0o600);
  });

  it('rotates keys to a new version', async () => {
    const ws = JSON.parse((await wact('workspace', 'create', '--name', 'Rotating', '--region', 'eu', '--json')).stdout);
    expect((await wact('workspace', 'rotate-keys', '--workspace', ws.id)).code).toBe(0);
    const keys = await ops
      .region('eu')
      .query(`SELECT max(version)::int AS v FROM wact_private.workspace_keys WHERE workspace_id = $1 AND purpose = 'dek'`, [ws.id]);
    expect(keys.rows[0].v).toBe(2);
  });

  it('rejects bad input in one line without a stack trace', async () => {
    const bad = await wact('workspace', 'create', '--name', 'X', '--region', 'mars');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    const unknown = await wact('workspace', 'rotate-keys', '--workspace', '00000000-0000-4000-8000-000000000000');
    expect(unknown.stderr).toMatch(/unknown workspace/);
  });
});
