import type { Region } from '../shared/config/config.ts';
import type { JobContext, QueueDefinition } from '../shared/jobs/job-queue.ts';
import type { ServiceRoot } from '../shared/runtime/service-root.ts';

/**
 * The groups `wact serve worker --queues a,b` selects. A deployment may run
 * one worker with every group (development) or split them; `audit-sign` is
 * the one group that needs the audit signing key, so production gives that
 * key to the workers that run it and to no other process.
 */
export const QUEUE_GROUPS = ['sessions', 'audit-sign', 'audit', 'lifecycle', 'export', 'partitions'] as const;
export type QueueGroup = (typeof QUEUE_GROUPS)[number];

/**
 * When a job runs by itself:
 * - `cron`: a pg-boss cron schedule (UTC); pg-boss sends one job per minute slot across every worker.
 * - `everySeconds`: a chain of jobs, each sending the next `everySeconds` after it started, on a
 *   `stately` queue (at most one waiting and one running, whichever worker holds them), reseeded
 *   every minute by a cron schedule so that the chain outlives every worker's restart. For
 *   intervals under pg-boss's one-minute cron granularity (the session sweep, SIEM pushes).
 */
export type JobSchedule = { cron: string } | { everySeconds: number };

export interface JobHandlerContext extends JobContext {
  /** The regional database whose queue holds this job. */
  region: Region;
}

/** One kind of background work: its queue, its schedule, its handler. */
export interface WorkerJob {
  group: QueueGroup;
  queue: QueueDefinition;
  /** `region`: one queue per regional database (the job works that region); `global`: the home region's queue only. */
  scope: 'region' | 'global';
  schedule?: JobSchedule;
  /** Polling interval of the worker on this queue (pg-boss fetches by polling). */
  pollSeconds?: number;
  run(job: JobHandlerContext): Promise<void>;
}

/** A group's jobs, and what else the group runs while the worker runs (closed with it). */
export interface JobGroup {
  jobs: WorkerJob[];
  close?(): Promise<void>;
}

/** Builds a group from the process's root (only the groups this worker runs are built). */
export type JobFactory = (root: ServiceRoot, opts: WorkerOptions) => JobGroup | Promise<JobGroup>;

export interface WorkerOptions {
  /** Which groups this worker runs; all of them when absent. */
  queues?: readonly QueueGroup[];
  /** Overrides for tests: seconds between session sweeps, SIEM pushes, audit signings. */
  intervals?: Partial<Record<'sessionSweep' | 'siemPush' | 'auditSign', number>>;
  /** Sign requests: how often the table is re-read besides LISTEN (ms). */
  signRequestPollMs?: number;
}
