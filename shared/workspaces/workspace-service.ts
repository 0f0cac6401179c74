import crypto from 'node:crypto';
import { z } from 'zod';
import type { AuditLog, AuditEventInput } from '../audit/audit-types.ts';
import type { Region } from '../config/config.ts';
import type { Pools } from '../db/pools.ts';
import { NotFoundError } from '../errors/errors.ts';
import type { Keyring } from '../crypto/keyring-types.ts';
import { createReencryptService, type ReencryptOptions, type ReencryptReport } from '../crypto/reencrypt-service.ts';
import { customerKeyArn } from '../crypto/workspace-kek.ts';

/** Who asked and why, for the audit event (the broker's reason and session; direct mode has neither). */
export interface AuditContext {
  reason?: string;
  sessionId?: string;
}

export const workspaceInput = z.object({
  name: z.string().trim().min(1).max(200),
  region: z.enum(['eu', 'us']),
});

export interface Workspace {
  id: string;
  name: string;
  region: Region;
  createdAt: string;
}

/**
 * The workspace directory (control) and each workspace's regional anchor and
 * keys. Creation order matters: the directory entry is written last, so a
 * failure leaves no workspace that points at a region without keys.
 */
export function createWorkspaceService(deps: { pools: Pick<Pools, 'control' | 'region'>; keyring: Keyring; audit: AuditLog }) {
  const { pools, keyring, audit } = deps;

  /** A successful change to a workspace's keys, recorded in its own stream with who asked and why. */
  function keyEvent(
    ws: Pick<Workspace, 'id' | 'region'>,
    action: string,
    actor: AuditEventInput['actor'],
    ctx: AuditContext,
    metadata?: AuditEventInput['metadata'],
  ): Promise<void> {
    return audit.append({
      action,
      actor,
      workspaceId: ws.id,
      region: ws.region,
      target: { type: 'workspace', id: ws.id },
      ...ctx,
      outcome: 'success',
      metadata,
    });
  }

  async function create(input: z.input<typeof workspaceInput>, actor: AuditEventInput['actor']): Promise<Workspace> {
    const { name, region } = workspaceInput.parse(input);
    const id = crypto.randomUUID();
    const regional = pools.region(region);
    await regional.query('INSERT INTO wact.workspaces (id, name, region) VALUES ($1, $2, $3)', [id, name, region]);
    try {
      await keyring.createWorkspaceKeys(id, region);
      const { rows } = await pools.control.query<{ created_at: Date }>(
        'INSERT INTO wact.workspaces (id, name, region) VALUES ($1, $2, $3) RETURNING created_at',
        [id, name, region],
      );
      await audit.append({
        action: 'workspace.create',
        actor,
        workspaceId: id,
        region,
        target: { type: 'workspace', id },
        outcome: 'success',
        metadata: { region },
      });
      return { id, name, region, createdAt: rows[0].created_at.toISOString() };
    } catch (err) {
      await regional.query('DELETE FROM wact.workspaces WHERE id = $1', [id]).catch(() => undefined);
      throw err;
    }
  }

  async function list(): Promise<Workspace[]> {
    const { rows } = await pools.control.query<{ id: string; name: string; region: Region; created_at: Date }>(
      'SELECT id, name, region, created_at FROM wact.workspaces WHERE wiped_at IS NULL ORDER BY created_at, id',
    );
    return rows.map((r) => ({ id: r.id, name: r.name, region: r.region, createdAt: r.created_at.toISOString() }));
  }

  /** Looks a workspace up in the directory; every regional access starts here. */
  async function get(id: string): Promise<Workspace> {
    if (!z.string().uuid().safeParse(id).success) throw new NotFoundError('unknown workspace', 'workspace_not_found');
    const { rows } = await pools.control.query<{ id: string; name: string; region: Region; created_at: Date }>(
      'SELECT id, name, region, created_at FROM wact.workspaces WHERE id = $1 AND wiped_at IS NULL',
      [id],
    );
    if (!rows[0]) throw new NotFoundError('unknown workspace', 'workspace_not_found');
    const r = rows[0];
    return { id: r.id, name: r.name, region: r.region, createdAt: r.created_at.toISOString() };
  }

  async function rotateKeys(id: string, actor: AuditEventInput['actor'], ctx: AuditContext = {}): Promise<void> {
    const ws = await get(id);
    await keyring.rotate(ws.id, ws.region);
    await keyEvent(ws, 'workspace.keys.rotate', actor, ctx);
  }

  /**
   * Re-encrypts every ciphertext of the workspace under its current data key
   * and retires the older data-key versions (see reencrypt-service.ts). With
   * `rotate`, a new key version is made first; without, an interrupted run is
   * resumed (a new version on every retry would restart from zero).
   */
  async function reencrypt(
    id: string,
    actor: AuditEventInput['actor'],
    opts: ReencryptOptions & { rotate: boolean; jobId?: string },
    ctx: AuditContext = {},
  ): Promise<ReencryptReport> {
    const ws = await get(id);
    if (opts.rotate) await rotateKeys(id, actor, ctx);
    const report = await createReencryptService({ pools, keyring }).run(ws.id, ws.region, opts);
    await keyEvent(ws, 'workspace.keys.reencrypt', actor, ctx, {
      // The broker's job (its status route finds the outcome by it).
      ...(opts.jobId ? { jobId: opts.jobId } : {}),
      targetVersion: report.targetVersion,
      reencrypted: report.reencrypted,
      retiredVersions: report.retiredVersions.join(','),
    });
    return report;
  }

  /** Older workspaces (keys wrapped by the regional KEK): give them a key-encryption key of their own. */
  async function protectKeys(
    id: string,
    actor: AuditEventInput['actor'],
    ctx: AuditContext = {},
  ): Promise<{ rewrapped: number; kek: string }> {
    const ws = await get(id);
    const { rewrapped, kek } = await keyring.protect(ws.id, ws.region);
    await keyEvent(ws, 'workspace.keys.protect', actor, ctx, { rewrapped, kek: kek.provider });
    return { rewrapped, kek: kek.provider };
  }

  /** The customer's own KMS key becomes the workspace's key-encryption key (checked with a round trip first). */
  async function setCustomerKey(
    id: string,
    arn: string,
    actor: AuditEventInput['actor'],
    ctx: AuditContext = {},
  ): Promise<{ rewrapped: number; keyArn: string }> {
    const keyArn = customerKeyArn.parse(arn);
    const ws = await get(id);
    const { rewrapped } = await keyring.useCustomerKey(ws.id, ws.region, keyArn);
    await keyEvent(ws, 'workspace.keys.customer_key', actor, ctx, { rewrapped, customerManaged: true });
    return { rewrapped, keyArn };
  }

  return { create, list, get, rotateKeys, reencrypt, protectKeys, setCustomerKey };
}

export type WorkspaceService = ReturnType<typeof createWorkspaceService>;
