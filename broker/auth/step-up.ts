import type { AuditEventInput } from '../../shared/audit/audit-types.ts';
import { ForbiddenError } from '../../shared/errors/errors.ts';
import type { ApiRequest } from '../http/route-types.ts';
import type { IdentityRuntime } from './identity-runtime.ts';

/** The audit actor of an /api request: the signed-in person. */
export function actorOf(req: ApiRequest): AuditEventInput['actor'] {
  return {
    id: req.auth.userId,
    kind: req.auth.kind,
    role: req.auth.workspaceRole ?? req.auth.employeeRole,
    displayName: req.auth.displayName,
  };
}

/**
 * TOTP step-up for destructive or key-changing routes (wipe, key rotation,
 * re-wrapping, customer-managed keys): whoever has TOTP proves it again now,
 * whatever their session already showed. A refused code is audited as a
 * `denied` event of `action` naming the person; a missing code is a 403
 * `step_up_required`, a wrong one `step_up_failed`.
 */
export async function requireStepUp(
  req: ApiRequest,
  proof: { totp?: string; recoveryCode?: string },
  what: { action: string; workspaceId: string | null; region?: 'eu' | 'us'; target: { type: string; id: string }; doing: string },
): Promise<void> {
  const identity = req.services.features.identity as IdentityRuntime | undefined;
  if (!identity) throw new ForbiddenError('TOTP step-up is unavailable', 'step_up_unavailable');
  const totp = await identity.totp.status(req.auth.userId);
  if (!totp.enrolled) return;
  if (!proof.totp && !proof.recoveryCode) throw new ForbiddenError(`enter a current TOTP code to ${what.doing}`, 'step_up_required');
  const check = await identity.totp.check(req.auth.userId, { code: proof.totp, recoveryCode: proof.recoveryCode }, 'verify');
  if (!check.ok) {
    await req.services.platform.audit.append({
      action: what.action,
      actor: actorOf(req),
      workspaceId: what.workspaceId,
      region: what.region,
      target: what.target,
      sessionId: req.auth.sessionId,
      outcome: 'denied',
      metadata: { stepUp: check.reason },
    });
    throw new ForbiddenError('the TOTP code was not accepted', 'step_up_failed');
  }
}
