import crypto from 'node:crypto';
import fs from 'node:fs';
import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFieldCrypto, readKeyVersion } from '../../../shared/crypto/field-cipher.ts';
import { seedSynthetic } from '../../../shared/synthetic/synthetic-seeder.ts';
import { REQUEST_ACTIONS, WORKSPACE_QUEUES } from '../../../shared/workspaces/workspace-job-queues.ts';
import {
  moveJob,
  reencryptJob,
  workspaceJobHandlers,
  workspaceWorkerJobs,
  type WorkspaceJobDeps,
} from '../../../shared/workspaces/workspace-jobs.ts';
import type { WorkerJob } from '../../../worker/worker-types.ts';
import type { Workspace } from '../../../shared/workspaces/workspace-service.ts';
import { createKeyStore } from '../../../shared/crypto/keyring-dal.ts';
import { workspaceKekPath } from '../../../shared/crypto/workspace-kek.ts';
import { keyProviders } from '../../../shared/runtime/platform.ts';
import { lifecyclePlatforms } from '../../lifecycle/lifecycle-support.ts';
import { startTestBroker, type ApiClient, type TestBroker } from '../../support/broker.ts';
import { startWorkspaceJobWorker } from '../../support/workspace-job-worker.ts';
import { connectAs, testDb } from '../../support/db.ts';

const CUSTOMER_ARN = 'arn:aws:kms:eu-central-1:444455556666:key/0f0e0d0c-0b0a-4909-8807-060504030201';
const US_ARN = 'arn:aws:kms:us-east-1:444455556666:key/2f2e2d2c-2b2a-4929-8827-262524232221';
const OTHER_ARN = 'arn:aws:kms:eu-central-1:444455556666:key/1f1e1d1c-1b1a-4919-8817-161514131211';

/** KMS as far as the customer key goes: Encrypt/Decrypt that bind key and context; a disabled key refuses. */
const kms = mockClient(KMSClient);
const disabled = new Set<string>();
function kmsError(name: string): Error {
  const e = new Error(`${name}: simulated`);
  e.name = name;
  return e;
}
function installKms() {
  kms.reset();
  kms.on(EncryptCommand).callsFake((input: { KeyId: string; Plaintext: Uint8Array; EncryptionContext: Record<string, string> }) => {
    if (disabled.has(input.KeyId)) throw kmsError('DisabledException');
    const blob = Buffer.from(
      JSON.stringify({ k: input.KeyId, c: input.EncryptionContext, p: Buffer.from(input.Plaintext).toString('hex') }),
    );
    return { CiphertextBlob: blob, KeyId: input.KeyId };
  });
  kms.on(DecryptCommand).callsFake((input: { KeyId: string; CiphertextBlob: Uint8Array; EncryptionContext: Record<string, string> }) => {
    if (disabled.has(input.KeyId)) throw kmsError('DisabledException');
    const b = JSON.parse(Buffer.from(input.CiphertextBlob).toString()) as { k: string; c: Record<string, string>; p: string };
    if (b.k !== input.KeyId || JSON.stringify(b.c) !== JSON.stringify(input.EncryptionContext))
      throw kmsError('InvalidCiphertextException');
    return { Plaintext: Buffer.from(b.p, 'hex'), KeyId: input.KeyId };
  });
}

/**
 * Issue 14.4: the key commands and the move through the broker. Permission
 * and step-up denials, bad input as clear 4xx JSON, customer-key errors that
 * are never a 500, and the job handlers (run directly and through pg-boss as
 * wact_broker): an interrupted re-encryption resumes and loses nothing, and a
 * move lands in the other region with the person as the actor of its events.
 */
describe('key and move routes, and their jobs', () => {
  let broker: TestBroker;
  let lc: Awaited<ReturnType<typeof lifecyclePlatforms>>;
  let ws: Workspace;
  let owner: ApiClient;
  let ownerId: string;
  let admin: ApiClient;
  let recovery: string[];
  const step = () => ({ recoveryCode: recovery.shift()! });

  async function events(region: 'eu' | 'us', streamId: string, action: string) {
    const { rows } = await broker.platform.pools
      .region(region)
      .query<{ actor_id: string; outcome: string; reason: string | null; metadata: string }>(
        'SELECT actor_id, outcome, reason, metadata FROM audit.events WHERE stream_id = $1 AND action = $2 ORDER BY seq',
        [streamId, action],
      );
    return rows.map((r) => ({ ...r, metadata: JSON.parse(r.metadata) as Record<string, unknown> }));
  }

  /** The request event the broker writes before queueing a job (the handler reads who asked from it); returns the job id. */
  async function requested(kind: 'reencrypt' | 'move', workspaceId: string, askerId: string): Promise<string> {
    const jobId = crypto.randomUUID();
    await broker.platform.audit.append({
      action: REQUEST_ACTIONS[kind],
      actor: { id: askerId, kind: 'customer', role: 'owner' },
      workspaceId,
      region: 'eu',
      target: { type: 'workspace', id: workspaceId },
      reason: 'OPS-7 key hygiene',
      outcome: 'success',
      metadata: { jobId },
    });
    return jobId;
  }

  async function keyRows(region: 'eu' | 'us', id: string) {
    const { rows } = await broker.platform.pools
      .region(region)
      .query<{ purpose: string; version: number; provider: string; kek_id: string }>(
        'SELECT purpose, version, provider, kek_id FROM wact_private.workspace_keys WHERE workspace_id = $1 ORDER BY purpose, version',
        [id],
      );
    return rows;
  }

  /** A workspace of the owner's, with synthetic data in it. */
  async function ownedWorkspace(conversations = 60): Promise<Workspace> {
    const w = await broker.createWorkspace();
    await broker.platform.pools.control.query('INSERT INTO wact.memberships (workspace_id, user_id, role) VALUES ($1, $2, $3)', [
      w.id,
      ownerId,
      'owner',
    ]);
    await seedSynthetic(
      { pool: broker.platform.pools.region(w.region), keyring: broker.platform.keyring },
      { workspaceId: w.id, region: w.region, conversations, days: 3, seed: 7 },
    );
    return w;
  }

  beforeAll(async () => {
    installKms();
    broker = await startTestBroker();
    lc = await lifecyclePlatforms();
    ws = await broker.createWorkspace();
    await broker.platform.pools.control.query('INSERT INTO wact.workspace_settings (workspace_id, require_totp) VALUES ($1, true)', [
      ws.id,
    ]);
    const o = await broker.createCustomer(ws.id, 'owner');
    ownerId = o.userId;
    owner = await broker.loginAs(o.identity);
    recovery = [...(owner.recoveryCodes ?? [])];
    expect(recovery.length).toBeGreaterThanOrEqual(8);
    admin = await broker.loginAs((await broker.createCustomer(ws.id, 'admin')).identity);
  }, 120_000);
  afterAll(async () => {
    kms.restore();
    await lc?.close();
    await broker?.close();
  });

  it('only the owner: an admin is refused by the policy on every key and move route', async () => {
    for (const [path, body] of [
      ['keys/protect', {}],
      ['keys/customer-key', { kmsKeyArn: CUSTOMER_ARN }],
      ['keys/reencrypt', {}],
      ['move', { region: 'us' }],
    ] as const) {
      const res = await admin.post(`/api/workspaces/${ws.id}/${path}`, body);
      expect(res.status, path).toBe(403);
      expect(res.body.error.code, path).toBe('forbidden');
    }
    const status = await admin.get(`/api/workspaces/${ws.id}/keys/reencrypt/00000000-0000-4000-8000-000000000000`);
    expect(status.status).toBe(403);
    expect(await keyRows('eu', ws.id)).toEqual([
      expect.objectContaining({ purpose: 'dek', version: 1 }),
      expect.objectContaining({ purpose: 'hmac', version: 1 }),
    ]);
  });

  it('the owner without a step-up code is refused (step_up_required), a wrong one is a denied event naming them; nothing changes', async () => {
    const before = await keyRows('eu', ws.id);
    for (const [path, body, action] of [
      ['keys/protect', {}, 'workspace.keys.protect'],
      ['keys/customer-key', { kmsKeyArn: CUSTOMER_ARN }, 'workspace.keys.customer_key'],
      ['keys/reencrypt', {}, 'workspace.keys.reencrypt.request'],
      ['move', { region: 'us' }, 'workspace.move.request'],
    ] as const) {
      const none = await owner.post(`/api/workspaces/${ws.id}/${path}`, body);
      expect(none.status, path).toBe(403);
      expect(none.body.error.code, path).toBe('step_up_required');
      const wrong = await owner.post(`/api/workspaces/${ws.id}/${path}`, { ...body, totp: '000000' });
      expect(wrong.body.error.code, path).toBe('step_up_failed');
      expect((await events('eu', ws.id, action)).at(-1), path).toMatchObject({ actor_id: ownerId, outcome: 'denied' });
    }
    expect(await keyRows('eu', ws.id)).toEqual(before);
    expect(kms.commandCalls(EncryptCommand)).toHaveLength(0);
    const jobs = await broker.platform.pools.region('us').query(`SELECT 1 FROM pgboss.job WHERE data->>'workspaceId' = $1`, [ws.id]);
    expect(jobs.rowCount).toBe(0);
  });

  it('bad input is a clear 4xx JSON error naming the field, before any step-up or change', async () => {
    const cases: [string, unknown, number, string, RegExp?][] = [
      ['keys/customer-key', { kmsKeyArn: 'alias/mine' }, 400, 'invalid_request', /^kmsKeyArn: expected a KMS key ARN/],
      ['keys/customer-key', {}, 400, 'invalid_request', /^kmsKeyArn:/],
      ['keys/customer-key', { kmsKeyArn: CUSTOMER_ARN.replace('eu-central-1', 'us-east-1'), ...step() }, 400, 'key_arn_wrong_region'],
      ['keys/reencrypt', { resume: 'yes' }, 400, 'invalid_request', /^resume:/],
      ['keys/reencrypt', { batchSize: 0 }, 400, 'invalid_request', /^batchSize:/],
      ['keys/protect', { all: true }, 400, 'invalid_request'],
      ['move', { region: 'mars' }, 400, 'invalid_request', /^region:/],
      ['move', {}, 400, 'invalid_request', /^region:/],
      ['move', { region: 'eu' }, 400, 'same_region'],
    ];
    for (const [path, body, status, code, message] of cases) {
      const res = await owner.post(`/api/workspaces/${ws.id}/${path}`, body);
      expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(status);
      expect(res.body.error.code, path).toBe(code);
      if (message) expect(res.body.error.message).toMatch(message);
    }
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-job']) {
      const res = await owner.get(`/api/workspaces/${ws.id}/keys/reencrypt/${id}`);
      expect(res.status, id).toBeGreaterThanOrEqual(400);
      expect(res.status, id).toBeLessThan(500);
      expect(res.body.error.code).toMatch(/job_not_found|invalid/);
    }
  });

  it('protect-keys in the request, as the owner: keys re-wrapped under the workspace’s own key-encryption key', async () => {
    // An older workspace: its keys wrapped by the regional KEK (as before issue 14.1).
    const old = await ownedWorkspace(5);
    const regional = keyProviders(broker.config)('eu');
    const clear = await broker.platform.keyring.keyVersion(old.id, 'eu', 'dek', 1);
    const hmac = await broker.platform.keyring.keyVersion(old.id, 'eu', 'hmac', 1);
    const rewrap = async (purpose: 'dek' | 'hmac', key: Buffer) => {
      const { wrapped, kekId } = await regional.wrap(key, { workspaceId: old.id, purpose, region: 'eu' });
      await broker.platform.pools
        .region('eu')
        .query(`UPDATE wact_private.workspace_keys SET wrapped = $3, kek_id = $4, provider = $5 WHERE workspace_id = $1 AND purpose = $2`, [
          old.id,
          purpose,
          wrapped,
          kekId,
          regional.name,
        ]);
    };
    await rewrap('dek', clear);
    await rewrap('hmac', hmac);
    expect((await keyRows('eu', old.id)).map((k) => k.provider)).toEqual([regional.name, regional.name]);
    fs.rmSync(workspaceKekPath(broker.config.home, 'eu', old.id)); // such a workspace never had a key file
    const res = await owner.post(`/api/workspaces/${old.id}/keys/protect`, { ...step(), reason: 'backups must not undo a wipe' });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ workspace: old.id, rewrapped: 2, kek: 'local-ws' });
    expect((await keyRows('eu', old.id)).map((k) => k.provider)).toEqual(['local-ws', 'local-ws']);
    expect((await events('eu', old.id, 'workspace.keys.protect')).at(-1)).toMatchObject({
      actor_id: ownerId,
      outcome: 'success',
      reason: 'backups must not undo a wipe',
    });
    lc.broker.keyring.evict(old.id);
    expect(await lc.broker.keyring.keyVersion(old.id, 'eu', 'dek', 1)).toEqual(clear);
  });

  it('set-customer-key: a disabled key is a 400 customer_key_unusable and nothing changes; a usable one re-wraps; cut off later, a 503 customer_key_unavailable, never a 500', async () => {
    const w = await ownedWorkspace(5);
    const before = await keyRows('eu', w.id);
    disabled.add(CUSTOMER_ARN);
    const refused = await owner.post(`/api/workspaces/${w.id}/keys/customer-key`, { kmsKeyArn: CUSTOMER_ARN, ...step() });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'customer_key_unusable', message: expect.stringContaining('DisabledException') });
    expect(await keyRows('eu', w.id)).toEqual(before);

    disabled.clear();
    const ok = await owner.post(`/api/workspaces/${w.id}/keys/customer-key`, { kmsKeyArn: CUSTOMER_ARN, ...step(), reason: 'BYOK' });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toEqual({ rewrapped: 2, keyArn: CUSTOMER_ARN });
    expect((await keyRows('eu', w.id)).map((k) => [k.provider, k.kek_id])).toEqual([
      ['kms-customer', CUSTOMER_ARN],
      ['kms-customer', CUSTOMER_ARN],
    ]);
    expect((await events('eu', w.id, 'workspace.keys.customer_key')).at(-1)).toMatchObject({ actor_id: ownerId, reason: 'BYOK' });

    // The customer disables their key: rotating and moving to another key fail with the distinct error.
    disabled.add(CUSTOMER_ARN);
    broker.platform.keyring.evict(w.id);
    const rotate = await owner.post(`/api/workspaces/${w.id}/keys/rotate`, step());
    expect(rotate.status).toBe(503);
    expect(rotate.body.error.code).toBe('customer_key_unavailable');
    const again = await owner.post(`/api/workspaces/${w.id}/keys/customer-key`, { kmsKeyArn: OTHER_ARN, ...step() });
    expect(again.status).toBe(503);
    expect(again.body.error.code).toBe('customer_key_unavailable');
    expect((await keyRows('eu', w.id)).map((k) => k.kek_id)).toEqual([CUSTOMER_ARN, CUSTOMER_ARN]);
    disabled.clear();
  });

  it('re-encryption: 202 with a job; an interrupted run fails, loses nothing, and the next run resumes to the end (handler as wact_broker)', async () => {
    const w = await ownedWorkspace(80);
    const eu = broker.platform.pools.region('eu');
    const versions = async () => {
      const { rows } = await eu.query<{ c: Buffer }>(
        `SELECT c FROM (SELECT fbclid_enc AS c FROM wact.clicks WHERE workspace_id = $1
                        UNION ALL SELECT gclid_enc FROM wact.clicks WHERE workspace_id = $1
                        UNION ALL SELECT ctwa_clid_enc FROM wact.conversations WHERE workspace_id = $1
                        UNION ALL SELECT payload_enc FROM wact.raw_webhook_payloads WHERE workspace_id = $1) x WHERE c IS NOT NULL`,
        [w.id],
      );
      const out: Record<number, number> = {};
      for (const r of rows) out[readKeyVersion(r.c)] = (out[readKeyVersion(r.c)] ?? 0) + 1;
      return out;
    };
    const sample = (
      await eu.query<{ id: string; c: Buffer }>(
        'SELECT id, fbclid_enc AS c FROM wact.clicks WHERE workspace_id = $1 AND fbclid_enc IS NOT NULL LIMIT 1',
        [w.id],
      )
    ).rows[0];
    const fc = createFieldCrypto(lc.broker.keyring);
    const clear = await fc.decryptString(w.id, 'eu', { table: 'clicks', column: 'fbclid_enc' }, sample.c);
    const total = Object.values(await versions()).reduce((a, b) => a + b, 0);

    const res = await owner.post(`/api/workspaces/${w.id}/keys/reencrypt`, { ...step(), batchSize: 40, reason: 'yearly rotation' });
    expect(res.status, res.text).toBe(202);
    const { jobId } = res.body as { jobId: string };
    expect(res.body).toMatchObject({ state: 'queued', status: `/api/workspaces/${w.id}/keys/reencrypt/${jobId}` });
    expect((await events('eu', w.id, 'workspace.keys.rotate')).at(-1)).toMatchObject({ actor_id: ownerId });
    expect((await events('eu', w.id, 'workspace.keys.reencrypt.request')).at(-1)).toMatchObject({
      actor_id: ownerId,
      reason: 'yearly rotation',
      metadata: { jobId, resume: false },
    });
    // A second request while this one waits: 409 naming it, and no extra key version.
    const twice = await owner.post(`/api/workspaces/${w.id}/keys/reencrypt`, {});
    expect(twice.status).toBe(409);
    expect(twice.body.error).toMatchObject({ code: 'reencrypt_in_progress', message: expect.stringContaining(jobId) });
    expect((await keyRows('eu', w.id)).filter((k) => k.purpose === 'dek').map((k) => k.version)).toEqual([1, 2]);
    const queued = await owner.get(`/api/workspaces/${w.id}/keys/reencrypt/${jobId}`);
    expect(queued.body).toMatchObject({ jobId, kind: 'reencrypt', state: 'queued' });
    const data = (await eu.query('SELECT data FROM pgboss.job WHERE id = $1', [jobId])).rows[0].data;
    expect(data).toEqual({ workspaceId: w.id, batchSize: 40 }); // ids only: no person, no reason

    // The handler, as the worker runs it (broker role), crashes after three batches.
    const deps = (afterBatch?: WorkspaceJobDeps['afterBatch']): WorkspaceJobDeps => ({ ...lc.broker, afterBatch });
    const crash = new Error('simulated crash');
    await expect(
      reencryptJob(
        deps((n) => {
          if (n === 3) throw crash;
        }),
      )({ id: jobId, data }),
    ).rejects.toBe(crash);
    const mid = await versions();
    expect(mid[2]).toBeGreaterThanOrEqual(3);
    expect(mid[1]).toBeGreaterThan(0);
    expect(mid[1] + mid[2]).toBe(total);
    expect((await keyRows('eu', w.id)).filter((k) => k.purpose === 'dek').map((k) => k.version)).toEqual([1, 2]);
    expect((await events('eu', w.id, 'workspace.keys.reencrypt')).at(-1)).toMatchObject({ actor_id: ownerId, outcome: 'failure' });

    // The retry resumes from the saved cursors and finishes: everything under v2, v1 retired, the person as actor.
    await reencryptJob(deps())({ id: jobId, data });
    expect(await versions()).toEqual({ 2: total });
    expect((await keyRows('eu', w.id)).filter((k) => k.purpose === 'dek').map((k) => k.version)).toEqual([2]);
    const done = (await events('eu', w.id, 'workspace.keys.reencrypt')).at(-1)!;
    expect(done).toMatchObject({
      actor_id: ownerId,
      outcome: 'success',
      reason: 'yearly rotation',
      metadata: { jobId, targetVersion: 2, retiredVersions: '1' },
    });
    expect(done.metadata.reencrypted).toBeLessThan(total); // the first run's batches were not done twice
    lc.broker.keyring.evict(w.id);
    const now = (await eu.query<{ c: Buffer }>('SELECT fbclid_enc AS c FROM wact.clicks WHERE id = $1', [sample.id])).rows[0].c;
    expect(await fc.decryptString(w.id, 'eu', { table: 'clicks', column: 'fbclid_enc' }, now)).toBe(clear);
    expect((await eu.query('SELECT count(*)::int AS n FROM wact_private.key_reencryption WHERE workspace_id = $1', [w.id])).rows[0].n).toBe(
      0,
    );
  }, 120_000);

  it('re-encryption through pg-boss: the status route shows it running with rows done of total, then completed with the outcome', async () => {
    const w = await ownedWorkspace(60);
    const res = await owner.post(`/api/workspaces/${w.id}/keys/reencrypt`, { ...step(), batchSize: 20 });
    expect(res.status, res.text).toBe(202);
    const { jobId } = res.body as { jobId: string };
    const seen: { state: string; progress: { done: number; total: number } | null }[] = [];
    const worker = await startWorkspaceJobWorker(lc.broker, {
      // Mid-run (progress is written once a second at most): what does the owner see?
      afterBatch: async (n) => {
        if (n !== 3) return;
        await new Promise((r) => setTimeout(r, 300));
        seen.push((await owner.get(`/api/workspaces/${w.id}/keys/reencrypt/${jobId}`)).body);
      },
    });
    try {
      let status: { state: string; result: Record<string, unknown> | null } = { state: 'queued', result: null };
      for (const deadline = Date.now() + 60_000; Date.now() < deadline && !['completed', 'failed'].includes(status.state);) {
        await new Promise((r) => setTimeout(r, 300));
        status = (await owner.get(`/api/workspaces/${w.id}/keys/reencrypt/${jobId}`)).body;
      }
      expect(status).toMatchObject({ state: 'completed', result: { jobId, targetVersion: 2, retiredVersions: '1' } });
    } finally {
      await worker.close();
    }
    expect(seen).toEqual([{ ...seen[0], state: 'running', progress: expect.objectContaining({ done: expect.any(Number) }) }]);
    expect(seen[0].progress!.done).toBeGreaterThan(0);
    expect(seen[0].progress!.done).toBeLessThan(seen[0].progress!.total);
    // Every status read is an audit event naming the owner.
    expect((await events('eu', w.id, 'workspace.keys.reencrypt.read')).at(-1)).toMatchObject({
      actor_id: ownerId,
      metadata: { state: 'completed' },
    });
  }, 120_000);

  it('a job nobody requested through the broker is refused by the handler, and changes nothing', async () => {
    const w = await ownedWorkspace(5);
    await broker.platform.keyring.rotate(w.id, 'eu');
    const forged = '11111111-1111-4111-8111-111111111111';
    await expect(reencryptJob({ ...lc.broker })({ id: forged, data: { workspaceId: w.id } })).rejects.toMatchObject({
      code: 'job_not_requested',
    });
    await expect(workspaceJobHandlers(lc.broker).move({ id: forged, data: { workspaceId: w.id, to: 'us' } })).rejects.toMatchObject({
      code: 'job_not_requested',
    });
    expect((await keyRows('eu', w.id)).filter((k) => k.purpose === 'dek').map((k) => k.version)).toEqual([1, 2]);
    expect((await lc.broker.pools.region('us').query('SELECT 1 FROM wact.workspaces WHERE id = $1', [w.id])).rowCount).toBe(0);
    await expect(reencryptJob({ ...lc.broker })({ id: forged, data: { workspaceId: w.id, extra: 1 } })).rejects.toThrow();
  });

  it('the person must still be allowed when the job runs: removed, demoted or disabled since asking, neither job runs in their name', async () => {
    const w = await ownedWorkspace(5);
    const control = broker.platform.pools.control;
    // A second owner of w asks (the suite's own owner keeps its session for the tests after this one).
    const asker = (await broker.createCustomer(w.id, 'owner')).userId;
    const handlers = workspaceJobHandlers(lc.broker);
    const data = { reencrypt: { workspaceId: w.id }, move: { workspaceId: w.id, to: 'us' } } as const;
    const asked = (kind: 'reencrypt' | 'move') => requested(kind, w.id, asker);
    const restore = async () => {
      await control.query(
        `INSERT INTO wact.memberships (workspace_id, user_id, role) VALUES ($1, $2, 'owner')
           ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = 'owner'`,
        [w.id, asker],
      );
      await control.query('UPDATE wact.users SET disabled_at = NULL WHERE id = $1', [asker]);
    };
    const revocations: Record<string, () => Promise<unknown>> = {
      removed: () => control.query('DELETE FROM wact.memberships WHERE workspace_id = $1 AND user_id = $2', [w.id, asker]),
      ...Object.fromEntries(
        (['admin', 'analyst', 'readonly'] as const).map((role) => [
          `demoted to ${role}`,
          () => control.query('UPDATE wact.memberships SET role = $3 WHERE workspace_id = $1 AND user_id = $2', [w.id, asker, role]),
        ]),
      ),
      disabled: () => control.query('UPDATE wact.users SET disabled_at = now() WHERE id = $1', [asker]),
    };
    const before = await keyRows('eu', w.id);
    const doneAction = { reencrypt: 'workspace.keys.reencrypt', move: 'workspace.move' } as const;
    for (const [how, revoke] of Object.entries(revocations)) {
      for (const kind of ['reencrypt', 'move'] as const) {
        await restore();
        const jobId = await asked(kind);
        await revoke();
        await expect(handlers[kind]({ id: jobId, data: data[kind] }), `${how}, ${kind}`).rejects.toMatchObject({
          code: 'requester_not_allowed',
        });
        // Nothing changed, and the refusal is in the workspace's log as the person's failed action.
        expect(await keyRows('eu', w.id), `${how}, ${kind}`).toEqual(before);
        expect((await lc.broker.pools.region('us').query('SELECT 1 FROM wact.workspaces WHERE id = $1', [w.id])).rowCount).toBe(0);
        expect((await events('eu', w.id, doneAction[kind])).at(-1), `${how}, ${kind}`).toMatchObject({
          actor_id: asker,
          outcome: 'failure',
          metadata: { jobId, error: 'requester_not_allowed' },
        });
      }
    }
    // Still an owner: the same request runs (the check refuses the revoked, not the job).
    await restore();
    const jobId = await asked('reencrypt');
    await handlers.reencrypt({ id: jobId, data: data.reencrypt });
    expect((await events('eu', w.id, doneAction.reencrypt)).at(-1)).toMatchObject({
      actor_id: asker,
      outcome: 'success',
      metadata: { jobId },
    });
  }, 120_000);

  it('a workspace under the customer’s own key moves only under another key of theirs in the target region: refused by the route before any step-up, and by the job if the key came after', async () => {
    const w = await ownedWorkspace(5);
    const actor = { id: ownerId, kind: 'customer' as const, role: 'owner' };
    await broker.platform.workspaces.setCustomerKey(w.id, CUSTOMER_ARN, actor, { reason: 'BYOK' });
    const inUs = async () => (await lc.broker.pools.region('us').query('SELECT 1 FROM wact.workspaces WHERE id = $1', [w.id])).rowCount;

    // The route: 409 at once, no step-up code asked or spent, nothing queued.
    const res = await owner.post(`/api/workspaces/${w.id}/move`, { region: 'us' });
    expect(res.status, res.text).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'customer_key_set', message: expect.stringContaining('kmsKeyArn') });
    expect(
      (
        await lc.broker.pools
          .region('us')
          .query(`SELECT 1 FROM pgboss.job WHERE name = $1 AND data->>'workspaceId' = $2`, [WORKSPACE_QUEUES.move.name, w.id])
      ).rowCount,
    ).toBe(0);

    // The job, for a move asked before the key was set: refused before it copies anything, a failure event naming the owner.
    const jobId = await requested('move', w.id, ownerId);
    await expect(workspaceJobHandlers(lc.broker).move({ id: jobId, data: { workspaceId: w.id, to: 'us' } })).rejects.toMatchObject({
      code: 'customer_key_set',
    });
    expect(await inUs()).toBe(0);
    expect((await keyRows('eu', w.id)).map((k) => k.provider)).toEqual(['kms-customer', 'kms-customer']);
    expect((await events('eu', w.id, 'workspace.move')).at(-1)).toMatchObject({
      actor_id: ownerId,
      outcome: 'failure',
      metadata: { jobId, error: 'customer_key_set' },
    });

    // Under another key of the customer's, in the target region: the route checks it before the step-up ...
    const wrong = await owner.post(`/api/workspaces/${w.id}/move`, { region: 'us', kmsKeyArn: CUSTOMER_ARN });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.code).toBe('key_arn_wrong_region');
    disabled.add(US_ARN);
    const unusable = await owner.post(`/api/workspaces/${w.id}/move`, { region: 'us', kmsKeyArn: US_ARN });
    expect(unusable.body.error.code).toBe('customer_key_unusable');
    disabled.clear();
    const next = await owner.post(`/api/workspaces/${w.id}/move`, { region: 'us', kmsKeyArn: US_ARN });
    expect(next.body.error?.code).toBe('step_up_required');
    // ... and the job moves it under that key: the copy's keys are the customer's, none of WAct's.
    const underTheirs = await requested('move', w.id, ownerId);
    await workspaceJobHandlers(lc.broker).move({ id: underTheirs, data: { workspaceId: w.id, to: 'us', kmsKeyArn: US_ARN } });
    expect((await keyRows('us', w.id)).map((k) => [k.provider, k.kek_id])).toEqual([
      ['kms-customer', US_ARN],
      ['kms-customer', US_ARN],
    ]);
    expect((await events('us', w.id, 'workspace.move')).at(-1)).toMatchObject({ actor_id: ownerId, outcome: 'success' });
  });

  it('move: 202 with a job in the target region, worked by pg-boss as wact_broker; status to completion; the workspace now lives in us, audited as the owner', async () => {
    const w = await ownedWorkspace(30);
    const counts = async (region: 'eu' | 'us') =>
      (
        await broker.platform.pools
          .region(region)
          .query<{ n: number }>('SELECT count(*)::int AS n FROM wact.clicks WHERE workspace_id = $1', [w.id])
      ).rows[0].n;
    const clicks = await counts('eu');
    expect(clicks).toBeGreaterThan(0);
    const res = await owner.post(`/api/workspaces/${w.id}/move`, { region: 'us', ...step(), reason: 'customer moved to the US' });
    expect(res.status, res.text).toBe(202);
    const { jobId } = res.body as { jobId: string };
    expect(res.body).toMatchObject({ from: 'eu', to: 'us', state: 'queued' });
    expect((await broker.platform.pools.region('us').query('SELECT data FROM pgboss.job WHERE id = $1', [jobId])).rows).toEqual([
      { data: { workspaceId: w.id, to: 'us' } },
    ]);
    const again = await owner.post(`/api/workspaces/${w.id}/move`, { region: 'us' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('move_in_progress');

    const worker = await startWorkspaceJobWorker(lc.broker);
    try {
      let status: { state: string; result: Record<string, unknown> | null } = { state: 'queued', result: null };
      for (const deadline = Date.now() + 60_000; Date.now() < deadline && !['completed', 'failed'].includes(status.state);) {
        await new Promise((r) => setTimeout(r, 500));
        status = (await owner.get(`/api/workspaces/${w.id}/move/${jobId}`)).body;
      }
      expect(status, JSON.stringify(status)).toMatchObject({ state: 'completed', result: { jobId, from: 'eu', to: 'us' } });
      expect(Number(status.result!.rowsCopied)).toBeGreaterThan(clicks);
    } finally {
      await worker.close();
    }
    expect((await broker.platform.pools.control.query('SELECT region FROM wact.workspaces WHERE id = $1', [w.id])).rows).toEqual([
      { region: 'us' },
    ]);
    expect(await counts('us')).toBe(clicks);
    expect(await counts('eu')).toBe(0);
    // In the target too, its keys are wrapped by a key-encryption key of its own (a wipe there survives a restore).
    expect((await keyRows('us', w.id)).map((k) => k.provider)).toEqual(['local-ws', 'local-ws']);
    expect(await keyRows('eu', w.id)).toEqual([]);
    // The stream came along (request event included) and the completion event names the owner.
    expect((await events('us', w.id, 'workspace.move.request')).at(-1)).toMatchObject({ actor_id: ownerId, metadata: { jobId } });
    expect((await events('us', w.id, 'workspace.move')).at(-1)).toMatchObject({
      actor_id: ownerId,
      outcome: 'success',
      reason: 'customer moved to the US',
    });
    // Still readable, under the target's keys.
    lc.broker.keyring.evict(w.id);
    const row = (
      await lc.broker.pools
        .region('us')
        .query<{ c: Buffer }>('SELECT payload_enc AS c FROM wact.raw_webhook_payloads WHERE workspace_id = $1 LIMIT 1', [w.id])
    ).rows[0];
    await expect(
      createFieldCrypto(lc.broker.keyring).decrypt(w.id, 'us', { table: 'raw_webhook_payloads', column: 'payload_enc' }, row.c),
    ).resolves.toBeDefined();
  }, 120_000);

  it('the broker role’s rights for these jobs are column-narrow: ciphertexts and wrappings yes, anything else of those rows no', async () => {
    const { servicePasswords } = testDb();
    const eu = await connectAs('eu', 'wact_broker', servicePasswords.broker);
    const control = await connectAs('control', 'wact_broker', servicePasswords.broker);
    const code = async (c: typeof eu, sql: string) => {
      try {
        await c.query('BEGIN');
        await c.query(sql, [ws.id]);
        return 'ok';
      } catch (err) {
        return (err as { code: string }).code;
      } finally {
        await c.query('ROLLBACK');
      }
    };
    try {
      expect(await code(eu, 'UPDATE wact.clicks SET fbclid_enc = fbclid_enc WHERE workspace_id = $1')).toBe('ok');
      expect(await code(eu, 'UPDATE wact.raw_webhook_payloads SET payload_enc = payload_enc WHERE workspace_id = $1')).toBe('ok');
      expect(await code(eu, 'UPDATE wact_private.workspace_keys SET wrapped = wrapped WHERE workspace_id = $1')).toBe('ok');
      expect(await code(eu, 'UPDATE wact.clicks SET utm_source = utm_source WHERE workspace_id = $1')).toBe('42501');
      expect(await code(eu, 'UPDATE wact.conversations SET sender_hash = sender_hash WHERE workspace_id = $1')).toBe('42501');
      expect(await code(eu, 'UPDATE wact_private.workspace_keys SET version = version WHERE workspace_id = $1')).toBe('42501');
      expect(await code(eu, `INSERT INTO audit.events SELECT * FROM audit.events WHERE stream_id = $1 LIMIT 1`)).toBe('42501');
      expect(await code(control, 'UPDATE wact.workspaces SET region = region WHERE id = $1')).toBe('ok');
      expect(await code(control, 'UPDATE wact.workspaces SET name = name WHERE id = $1')).toBe('42501');
    } finally {
      await eu.end();
      await control.end();
    }
  });

  it('exports its jobs in the worker’s shape (the one line worker/jobs/lifecycle-jobs.ts adds type-checks here)', () => {
    const jobs: WorkerJob[] = [...workspaceWorkerJobs(lc.broker).map((j) => ({ group: 'lifecycle' as const, ...j }))];
    expect(jobs.map((j) => [j.queue.name, j.scope])).toEqual([
      ['workspace.reencrypt', 'region'],
      ['workspace.move', 'region'],
    ]);
    expect(WORKSPACE_QUEUES.move.retryLimit).toBe(0); // a failed move cleaned up after itself: the owner asks again
    expect(
      typeof moveJob({
        ...lc.broker,
        keyStore: createKeyStore({ poolFor: (r) => lc.broker.pools.region(r) }),
        providerFor: keyProviders(lc.broker.config),
      }),
    ).toBe('function');
  });
});
