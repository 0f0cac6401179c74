import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type BrokerCall } from '../../../cli/commands/db.ts';
import { operatorPools } from '../../support/db.ts';
import { endSessionRolesOf } from '../gateway/harness.ts';
import { startTestBroker, type ApiClient, type TestBroker } from '../../support/broker.ts';

/** The CLI's flows against the real broker API (the bearer transport is identity's brokerRequest). */
function callerFor(client: ApiClient): BrokerCall {
  return async <T>(method: string, apiPath: string, body?: unknown): Promise<T> => {
    const res = method === 'GET' ? await client.get(apiPath) : await client.post(apiPath, body ?? {});
    if (res.status >= 400) throw new Error(`${res.body?.error?.message} (${res.body?.error?.code})`);
    return res.body as T;
  };
}

describe('wact db connect', () => {
  let broker: TestBroker;
  let wsId: string;
  let engineer: ApiClient;
  let security: ApiClient;
  beforeAll(async () => {
    broker = await startTestBroker();
    wsId = (await broker.createWorkspace('CLI ws')).id;
    engineer = await broker.loginAs('engineer');
    security = await broker.loginAs('security');
  });
  afterAll(async () => {
    const ops = operatorPools();
    await endSessionRolesOf(ops, [], [wsId].filter(Boolean)).finally(() => ops.end());
    await broker?.close();
  });

  it('redacted: prints a psql connection string at once', async () => {
    const out = await connect(
      callerFor(engineer),
      { workspaceId: wsId, reason: 'Looking into CLI-1 report', ttl: '5m', scope: 'redacted', wait: true },
      () => undefined,
    );
    expect(out.connection?.psql).toMatch(/^psql "postgresql:\/\/.+sslmode=require"$/);
  });

  it('full: waits for a security approval, tells the requester, then prints the connection', async () => {
    const lines: string[] = [];
    const pending = connect(
      callerFor(engineer),
      { workspaceId: wsId, reason: 'Unmasked look for CLI-2', scope: 'full', wait: true, pollMs: 100 },
      (l) => lines.push(l),
    );
    await expect.poll(() => lines.length).toBe(1);
    expect(lines[0]).toMatch(/waits for approval by a security employee/);
    const list = await security.get(`/api/db/sessions?filter=${encodeURIComponent(JSON.stringify({ status: 'pending' }))}`);
    const id = list.body.find((s: { reason: string }) => s.reason === 'Unmasked look for CLI-2').id;
    expect((await security.post(`/api/db/sessions/${id}/approve`, {})).status).toBe(200);
    const out = await pending;
    expect(out.session).toMatchObject({ id, status: 'active', scope: 'full' });
    expect(out.connection?.user).toBe(id);
  });

  it('full: a denial ends the wait with the note', async () => {
    const pending = connect(
      callerFor(engineer),
      { workspaceId: wsId, reason: 'Unmasked look for CLI-3', scope: 'full', wait: true, pollMs: 100 },
      () => undefined,
    );
    let id: string | undefined;
    await expect
      .poll(async () => {
        const list = await security.get(`/api/db/sessions?filter=${encodeURIComponent(JSON.stringify({ status: 'pending' }))}`);
        id = list.body.find((s: { reason: string }) => s.reason === 'Unmasked look for CLI-3')?.id;
        return id;
      })
      .toBeDefined();
    await security.post(`/api/db/sessions/${id}/deny`, { note: 'use redacted scope' });
    await expect(pending).rejects.toThrow(/denied by .*: use redacted scope/);
  });
});
