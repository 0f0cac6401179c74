import type express from 'express';
import type { z } from 'zod';
import type { Config } from '../../shared/config/config.ts';
import type { Platform } from '../../shared/runtime/platform.ts';
import type { FieldCrypto } from '../../shared/crypto/field-cipher.ts';
import type { Workspace } from '../../shared/workspaces/workspace-service.ts';
import type { CustomerRole, EmployeeRole, Permission } from '../../shared/permissions/permissions.ts';

/** Who is calling, resolved by the machinery from the session cookie or the CLI bearer token. */
export interface AuthContext {
  userId: string;
  kind: 'employee' | 'customer';
  displayName: string;
  /** Set for employees. */
  employeeRole?: EmployeeRole;
  /** Set for customers on routes with `:workspaceId`: their role in THAT workspace. */
  workspaceRole?: CustomerRole;
  sessionId: string;
  /** The session passed TOTP (always true for employees). */
  mfa: boolean;
  /** 'browser' (cookie + CSRF) or 'cli' (bearer token). */
  via: 'browser' | 'cli';
}

/** What handlers use instead of importing singletons: one per broker process. */
export interface BrokerServices {
  config: Config;
  platform: Platform;
  fieldCrypto: FieldCrypto;
  /** Features register their own long-lived helpers here (e.g. `support`), keyed by feature. */
  features: Record<string, unknown>;
}

export interface ApiRequest extends express.Request {
  auth: AuthContext;
  /** Resolved from the control directory when the route has `:workspaceId` (region included). */
  workspace?: Workspace;
  /** From the `X-Wact-Reason` header or a `reason` body field (trimmed, ≤ 500 chars). */
  reason?: string;
  services: BrokerServices;
  /**
   * For routes with `audit`: the machinery calls it after the handler and before
   * sending. A handler that streams its own response (CSV export) MUST await it
   * before writing the first byte. `targetId` / `metadata` refine the event
   * (metadata: ids and counts only, never raw values).
   */
  recordAudit(extra?: { targetId?: string; metadata?: Record<string, string | number | boolean | null> }): Promise<void>;
}

/**
 * The zod schemas a route validates its input with. The handler parses with
 * THESE constants and the OpenAPI document (broker/http/openapi.ts) is generated
 * from them: one source of truth, no second copy to drift.
 */
export interface RouteRequest {
  /** Path parameters other than `:workspaceId` (the machinery resolves that one: unknown → 404). */
  params?: Record<string, z.ZodType>;
  /** Plain query parameters (each key one parameter). */
  query?: z.ZodObject;
  /** Query parameters that carry JSON, checked with this schema once parsed (wins over a same-named `query` key). */
  jsonQuery?: Record<string, z.ZodType>;
  /** The react-admin list conventions (`sort`, `range`, `filter` as JSON); `filter` is the route's filter schema. */
  list?: { filter?: z.ZodType };
  body?: z.ZodType;
}

export interface ApiRoute {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string; // under /api, express syntax, e.g. '/workspaces/:workspaceId/conversations'
  permission: Permission; // one of shared/permissions/permissions.ts; the policy module decides, never the handler
  audit?: { action: string; target: string }; // REQUIRED for every read of customer data: the machinery
  // writes one audit event (actor, workspace, reason from the `X-Wact-Reason` header / `reason` field,
  // target) BEFORE the handler's data is sent, and refuses (503) if it cannot be written
  /** One line for the API description. */
  summary?: string;
  request?: RouteRequest;
  handler: (req: ApiRequest, res: express.Response) => Promise<unknown>; // return value → JSON
  // (undefined → 204; a handler that already sent its response is left alone)
}
