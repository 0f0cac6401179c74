import { z } from 'zod';
import { BadRequestError } from '../../shared/errors/errors.ts';
import type { Workspace } from '../../shared/workspaces/workspace-service.ts';
import { actorOf, requireStepUp } from '../auth/step-up.ts';
import type { ApiRequest, ApiRoute } from '../http/route-types.ts';

const stepUpFields = {
  totp: z.string().max(32).optional(),
  recoveryCode: z.string().max(64).optional(),
  reason: z.string().max(500).optional(),
};

export const rotateKeysBody = z.object(stepUpFields).strict();

/** Parses the body with `schema` (a clear 400 naming the field), then the owner's TOTP step-up, audited under `action`. */
async function prepare<S extends z.ZodTypeAny>(
  req: ApiRequest,
  schema: S,
  action: string,
  doing: string,
): Promise<{ body: z.infer<S>; workspace: Workspace; ctx: { reason?: string; sessionId?: string } }> {
  const parsed = schema.safeParse(req.body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BadRequestError(`${issue.path.join('.') || 'body'}: ${issue.message}`, 'invalid_request');
  }
  const workspace = req.workspace ?? (await req.services.platform.workspaces.get(req.params.workspaceId as string));
  const body = parsed.data as { totp?: string; recoveryCode?: string; reason?: string };
  await requireStepUp(req, body, {
    action,
    workspaceId: workspace.id,
    region: workspace.region,
    target: { type: 'workspace', id: workspace.id },
    doing,
  });
  return { body: parsed.data, workspace, ctx: { reason: body.reason ?? req.reason, sessionId: req.auth.sessionId } };
}

/**
 * Settings → Keys: what `wact workspace rotate-keys` (without --reencrypt)
 * does, for the signed-in owner (the CLI's production mode and any API
 * client). Owner only (workspace.keys.manage), TOTP step-up as for the wipe,
 * audited as the person by the workspace service (the same code and event as
 * development's direct mode).
 *
 * Not here yet: re-encryption, protect-keys and customer-managed keys. They
 * rewrite wrapped keys and every ciphertext column, which the broker's
 * database role may not do (it may only add key versions); they stay refused
 * in production until a key job with its own role exists (docs/cli.md).
 */
export const keyRoutes: ApiRoute[] = [
  {
    method: 'post',
    path: '/workspaces/:workspaceId/keys/rotate',
    permission: 'workspace.keys.manage',
    summary: "Add a new version of the workspace's data and hashing keys (new writes use it; older versions stay readable)",
    request: { body: rotateKeysBody },
    handler: async (req) => {
      const { workspace, ctx } = await prepare(req, rotateKeysBody, 'workspace.keys.rotate', "rotate the workspace's keys");
      await req.services.platform.workspaces.rotateKeys(workspace.id, actorOf(req), ctx);
      return { rotated: workspace.id };
    },
  },
];
