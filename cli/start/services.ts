import type { ServiceRoot } from '../../shared/runtime/service-root.ts';
import type { RunningService } from '../../shared/runtime/service-types.ts';
import type { QueueGroup } from '../../worker/worker-server.ts';

/** The four deployables: `wact serve <name>` runs one; `wact start` runs them all in one process. */
export const SERVICE_NAMES = ['broker', 'worker', 'ingest', 'gateway'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface ServeOptions {
  /** Worker only: the queue groups it runs (all when absent). */
  queues?: QueueGroup[];
}

/** Starts one service in the process's root (loaded on demand: a gateway process never loads ingest's code). */
export async function startService(name: ServiceName, root: ServiceRoot, opts: ServeOptions = {}): Promise<RunningService> {
  switch (name) {
    case 'broker':
      return (await import('../../broker/server.ts')).startBroker(root);
    case 'worker':
      return (await import('../../worker/worker-server.ts')).startWorker(root, { queues: opts.queues });
    case 'ingest':
      return (await import('../../ingest/server.ts')).startIngest(root);
    case 'gateway':
      return (await import('../../broker/gateway/gateway-start.ts')).startGateway(root);
  }
}
