import pg from 'pg';
import type { Region } from '../config/config-schema.ts';
import type { Keyring } from './keyring-types.ts';

/**
 * Every change to a workspace's wrapped keys is announced by the regional
 * database (trigger in migration 0600, channel `wact_workspace_keys`, payload
 * the workspace id, sent at commit). Each long-running process listens on
 * every region and drops its cached clear keys of that workspace, so a wipe,
 * a rotation or a retired key reaches every process within a round trip, not
 * after the cache period.
 *
 * While a connection is down, announcements may be missed: the listener then
 * drops every cached key (nothing stale survives the gap) and reconnects with
 * back-off; until it is back, `listening` is false.
 */
export const KEY_EVENTS_CHANNEL = 'wact_workspace_keys';

export interface KeyEventListener {
  /** True while every region's connection is listening. */
  readonly listening: boolean;
  /** Settles after the first connection attempt of every region (see `listening` for the outcome). */
  ready: Promise<void>;
  close(): Promise<void>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function startKeyEventListener(opts: {
  regions: readonly Region[];
  /** A new, unconnected client for the region's database. */
  connect: (region: Region) => pg.Client;
  keyring: Pick<Keyring, 'evict' | 'evictAll'>;
  onEvict?: (workspaceId: string, region: Region) => void;
  onError?: (err: unknown, region: Region) => void;
  /** First reconnection delay (doubles up to 30 s). */
  retryMs?: number;
}): KeyEventListener {
  const clients = new Map<Region, pg.Client>();
  const up = new Set<Region>();
  let closed = false;
  const timers = new Set<NodeJS.Timeout>();

  function dropAll(): void {
    opts.keyring.evictAll();
  }

  async function listen(region: Region, delay: number): Promise<void> {
    if (closed) return;
    const client = opts.connect(region);
    clients.set(region, client);
    let failed = false;
    const fail = (err: unknown) => {
      if (failed || closed) return;
      failed = true;
      up.delete(region);
      opts.onError?.(err, region);
      dropAll();
      client.end().catch(() => undefined);
      const next = Math.min(delay * 2, 30_000);
      const t = setTimeout(() => {
        timers.delete(t);
        void listen(region, next);
      }, delay);
      t.unref?.();
      timers.add(t);
    };
    client.on('error', fail);
    client.on('end', () => fail(new Error('key event connection ended')));
    client.on('notification', (msg) => {
      if (msg.channel !== KEY_EVENTS_CHANNEL || !msg.payload || !UUID.test(msg.payload)) return;
      opts.keyring.evict(msg.payload);
      opts.onEvict?.(msg.payload, region);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${KEY_EVENTS_CHANNEL}`);
      if (closed) {
        await client.end().catch(() => undefined);
        return;
      }
      // Anything announced before we listened may have been missed: start clean.
      dropAll();
      up.add(region);
    } catch (err) {
      fail(err);
      throw err;
    }
  }

  const base = opts.retryMs ?? 500;
  const ready = Promise.allSettled(opts.regions.map((r) => listen(r, base))).then(() => undefined);

  return {
    get listening() {
      return !closed && opts.regions.every((r) => up.has(r));
    },
    ready,
    async close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      await Promise.all([...clients.values()].map((c) => c.end().catch(() => undefined)));
    },
  };
}
