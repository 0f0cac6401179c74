import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../../support/broker.ts';

let b: TestBroker;
beforeAll(async () => {
  b = await startTestBroker();
});
afterAll(async () => {
  await b?.close();
});

describe('members, invitations and roles', () => {
  it('an invited person joins with the invited role at first sign-in; the invitation is single use', async () => {
    const ws = await b.createWorkspace();
    const owner = await b.loginAs((await b.createCustomer(ws.id, 'owner')).identity);
    const invitee = b.oidc.identities.add({ email: 'new.analyst@customer.example', name: 'New Analyst' });
    const inv = await owner.post(`/api/workspaces/${ws.id}/invitations`, { email: 'New.Analyst@customer.example', role: 'analyst' });
    expect(inv.status).toBe(201);
    expect(
      (await owner.post(`/api/workspaces/${ws.id}/invitations`, { email: 'new.analyst@customer.example', role: 'admin' })).status,
    ).toBe(409);
    const list = await owner.get(`/api/workspaces/${ws.id}/invitations`);
    expect(list.headers.get('content-range')).toBe('invitations 0-0/1');

    const joined = await b.loginAs(invitee);
    expect(joined.me.workspaces).toEqual([expect.objectContaining({ id: ws.id, role: 'analyst' })]);
    expect((await owner.get(`/api/workspaces/${ws.id}/invitations`)).body).toEqual([]);
    const audit = await b.platform.pools
      .region('eu')
      .query(`SELECT action FROM audit.events WHERE action IN ('member.invite', 'member.join') AND metadata NOT LIKE '%@%'`);
    expect(audit.rows.map((r) => r.action)).toEqual(expect.arrayContaining(['member.invite', 'member.join']));
  });

  it('admins manage members but never owners; the last owner stays', async () => {
    const ws = await b.createWorkspace();
    const o = await b.createCustomer(ws.id, 'owner');
    const a = await b.createCustomer(ws.id, 'admin');
    const r = await b.createCustomer(ws.id, 'readonly');
    const owner = await b.loginAs(o.identity);
    const admin = await b.loginAs(a.identity);

    expect((await admin.put(`/api/workspaces/${ws.id}/members/${r.userId}`, { role: 'analyst' })).status).toBe(200);
    expect((await admin.put(`/api/workspaces/${ws.id}/members/${r.userId}`, { role: 'owner' })).body.error.code).toBe('owner_only');
    expect((await admin.put(`/api/workspaces/${ws.id}/members/${o.userId}`, { role: 'readonly' })).body.error.code).toBe('owner_only');
    expect((await admin.delete(`/api/workspaces/${ws.id}/members/${o.userId}`)).status).toBe(403);
    expect((await admin.post(`/api/workspaces/${ws.id}/invitations`, { email: 'boss@customer.example', role: 'owner' })).status).toBe(403);

    expect((await owner.put(`/api/workspaces/${ws.id}/members/${o.userId}`, { role: 'admin' })).body.error.code).toBe('last_owner');
    expect((await owner.delete(`/api/workspaces/${ws.id}/members/${o.userId}`)).body.error.code).toBe('last_owner');
    expect((await owner.put(`/api/workspaces/${ws.id}/members/${a.userId}`, { role: 'owner' })).status).toBe(200);
    expect((await owner.put(`/api/workspaces/${ws.id}/members/${o.userId}`, { role: 'admin' })).status).toBe(200);

    const members = await admin.get(
      `/api/workspaces/${ws.id}/members?sort=${encodeURIComponent('["role","ASC"]')}&range=${encodeURIComponent('[0,1]')}`,
    );
    expect(members.status).toBe(200);
    expect(members.headers.get('content-range')).toBe('members 0-1/3');
    const changes = await b.platform.pools
      .region('eu')
      .query(`SELECT count(*)::int AS n FROM audit.events WHERE action = 'member.role.change' AND target_id = ANY($1)`, [
        [o.userId, a.userId, r.userId],
      ]);
    expect(changes.rows[0].n).toBe(3);
  });

  it('concurrent demotions cannot leave a workspace without an owner', async () => {
    const ws = await b.createWorkspace();
    const o1 = await b.createCustomer(ws.id, 'owner');
    const o2 = await b.createCustomer(ws.id, 'owner');
    const c1 = await b.loginAs(o1.identity);
    const c2 = await b.loginAs(o2.identity);
    const [x, y] = await Promise.all([
      c1.put(`/api/workspaces/${ws.id}/members/${o1.userId}`, { role: 'admin' }),
      c2.put(`/api/workspaces/${ws.id}/members/${o2.userId}`, { role: 'admin' }),
    ]);
    expect([x.status, y.status].sort()).toEqual([200, 409]);
    const { rows } = await b.platform.pools.control.query(
      `SELECT count(*)::int AS n FROM wact.memberships WHERE workspace_id = $1 AND role = 'owner'`,
      [ws.id],
    );
    expect(rows[0].n).toBe(1);
  });

  it('bad input is a clear 4xx', async () => {
    const ws = await b.createWorkspace();
    const owner = await b.loginAs((await b.createCustomer(ws.id, 'owner')).identity);
    expect((await owner.post(`/api/workspaces/${ws.id}/invitations`, { email: 'not-an-email', role: 'analyst' })).status).toBe(400);
    expect((await owner.post(`/api/workspaces/${ws.id}/invitations`, { email: 'x@y.example', role: 'god' })).status).toBe(400);
    expect((await owner.put(`/api/workspaces/${ws.id}/members/not-a-uuid`, { role: 'admin' })).status).toBe(404);
    expect((await owner.get(`/api/workspaces/${ws.id}/members?range=oops`)).status).toBe(400);
    expect((await owner.get(`/api/workspaces/${ws.id}/members?sort=${encodeURIComponent('["email; drop table","ASC"]')}`)).status).toBe(
      400,
    );
    expect((await owner.get(`/api/workspaces/not-a-uuid/members`)).status).toBe(404);
  });

  it('customer reads of member data are audited with the workspace', async () => {
    const ws = await b.createWorkspace();
    const admin = await b.loginAs((await b.createCustomer(ws.id, 'admin')).identity);
    expect((await admin.get(`/api/workspaces/${ws.id}/members`)).status).toBe(200);
    const { rows } = await b.platform.pools
      .region('eu')
      .query(`SELECT actor_id, actor_role FROM audit.events WHERE action = 'members.list' AND actor_id = $1`, [admin.me.id]);
    expect(rows).toEqual([{ actor_id: admin.me.id, actor_role: 'admin' }]);
  });

  it('the setup wizard creates a workspace owned by its creator', async () => {
    const ws = await b.createWorkspace();
    const analyst = await b.loginAs((await b.createCustomer(ws.id, 'analyst')).identity);
    const created = await analyst.post('/api/workspaces', { name: 'My Second Shop', region: 'us' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'My Second Shop', region: 'us', role: 'owner' });
    const mine = await analyst.get('/api/workspaces');
    expect(mine.body.map((w: { id: string; role: string }) => [w.id, w.role])).toEqual(
      expect.arrayContaining([
        [created.body.id, 'owner'],
        [ws.id, 'analyst'],
      ]),
    );
    const eng = await b.loginAs('engineer');
    expect((await eng.post('/api/workspaces', { name: 'Nope', region: 'eu' })).status).toBe(403);
  });
});
