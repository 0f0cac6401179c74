/** Data-lifecycle routes (one place to change them). */
export const LIFECYCLE_PATHS = {
  retention: '/api/workspaces/{ws}/retention',
  wipe: '/api/workspaces/{ws}/wipe',
};

export const RETENTION_DEFAULTS = { eventsDays: 730, rawDays: 90 };

/**
 * Retention can be shortened, never set beyond the default (the broker enforces the same
 * bound): a whole number of days from 1 to the default.
 */
export function validateShorten(value: number, max: number): string | undefined {
  if (!Number.isInteger(value) || value < 1) return 'Enter a whole number of days (at least 1).';
  if (value > max) return `Retention can only be shortened: at most ${max} days.`;
  return undefined;
}

/** The typed confirmation must match the workspace name exactly (no trimming tricks). */
export function wipeConfirmed(typed: string, workspaceName: string): boolean {
  return workspaceName.length > 0 && typed === workspaceName;
}
