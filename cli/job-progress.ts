import cliProgress from 'cli-progress';
import type { WorkspaceJobStatus } from '../shared/workspaces/workspace-job-queues.ts';
import { brokerRequest } from './commands/identity.ts';
import { cliSettings } from './mode.ts';

/**
 * Follows a broker job (re-encryption, move) until it completed, failed or
 * was cancelled: a progress bar on a terminal, nothing on pipes and logs (the
 * caller prints the one-line result). A job that failed throws its code and
 * message; one that waits for a retry is followed on.
 */
export async function followJob(statusPath: string, opts: { json: boolean; label: string }): Promise<WorkspaceJobStatus> {
  const bar =
    process.stderr.isTTY && !opts.json
      ? new cliProgress.SingleBar(
          { stream: process.stderr, format: `${opts.label} {bar} {value}/{total} | {table} | {eta_formatted} left` },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  // Each status read is an audit event: every WACT_JOB_POLL_MS (2 s), validated with the rest of the configuration.
  const pollMs = cliSettings().jobPollMs;
  let started = false;
  try {
    for (;;) {
      const status = await brokerRequest<WorkspaceJobStatus>('GET', statusPath);
      const p = status.progress;
      if (bar && p && p.total > 0) {
        if (!started) bar.start(p.total, 0, { table: p.table ?? '' });
        started = true;
        bar.setTotal(p.total);
        bar.update(p.done, { table: p.table ?? '' });
      }
      if (status.state === 'completed') {
        if (bar && started) bar.update(p?.total ?? 0);
        return status;
      }
      if (status.state === 'failed' || status.state === 'cancelled') {
        const why = status.error ? `${status.error.message}${status.error.code ? ` (${status.error.code})` : ''}` : status.state;
        throw new Error(`job ${status.jobId} ${status.state}: ${why}`);
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } finally {
    bar?.stop();
  }
}

/** The API path of a job's status, as the broker named it (it answers with `/api/…`). */
export function statusPath(p: string): string {
  if (!/^\/api\/workspaces\/[0-9a-f-]{36}\/[a-z/-]+\/[0-9a-f-]{36}$/.test(p))
    throw new Error('the broker answered an unexpected job status path');
  return p;
}
