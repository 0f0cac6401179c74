/**
 * The reason an employee stated when opening a workspace for a ticket. The broker records
 * it with every read (`X-Wact-Reason`); kept in memory only, so a reload asks again.
 */
let reason: string | undefined;

export function getAccessReason(): string | undefined {
  return reason;
}

export function setAccessReason(value: string | undefined): void {
  reason = value?.trim() || undefined;
}
