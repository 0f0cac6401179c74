/** Data-lifecycle routes (one place to change them). */
export const LIFECYCLE_PATHS = {
  retention: '/api/workspaces/{ws}/retention',
  wipe: '/api/workspaces/{ws}/wipe',
};

export const RETENTION_DEFAULTS = { eventsDays: 730, rawDays: 90 };

/** A retention change may only shorten: the new value must be ≥ 1 and ≤ the current one. */
export function validateShorten(value: number, current: number): string | undefined {
  if (!Number.isInteger(value) || value < 1) return 'Enter a whole number of days (at least 1).';
  if (value > current) return `Retention can only be shortened (currently ${current} days).`;
  return undefined;
}

/** The typed confirmation must match the workspace name exactly (no trimming tricks). */
export function wipeConfirmed(typed: string, workspaceName: string): boolean {
  return workspaceName.length > 0 && typed === workspaceName;
}
