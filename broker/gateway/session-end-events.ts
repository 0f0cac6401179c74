import type pg from 'pg';

/**
 * "This access session ended", as the control database announces it (trigger
 * in control migration 0610, channel `wact_access_session_ended`, payload the
 * session id, sent when the status change commits). Whoever ended it — a
 * broker's revocation, the requester's end, the worker's expiry sweep — every
 * gateway hears it within a round trip; no process calls another.
 *
 * While the connection is down notifications may be missed: `onGap` is called
 * once the listener is back (the gateway then re-reads every live session), and
 * the gateway's periodic re-read covers the gap meanwhile. Reconnects back off
 * from `retryMs` to 30 s.
 */
export const SESSION_ENDED_CHANNEL = 'wact_access_session_ended';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface SessionEndListener {
  /** Settles after the first connection attempt. */
  ready: Promise<void>;
  readonly listening: boolean;
  close(): Promise<void>;
}

export function listenForEndedSessions(opts: {
  /** A new, unconnected client for the control database. */
  connect: () => pg.Client;
  onEnded: (sessionId: string) => void;
  onGap?: () => void;
  onError?: (err: unknown) => void;
  retryMs?: number;
}): SessionEndListener {
  let closed = false;
  let up = false;
  let current: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;

  async function listen(delay: number, reconnect: boolean): Promise<void> {
    if (closed) return;
    const client = opts.connect();
    current = client;
    let failed = false;
    const fail = (err: unknown) => {
      if (failed || closed) return;
      failed = true;
      up = false;
      opts.onError?.(err);
      client.end().catch(() => undefined);
      timer = setTimeout(() => void listen(Math.min(delay * 2, 30_000), true).catch(() => undefined), delay);
      timer.unref();
    };
    client.on('error', fail);
    client.on('end', () => fail(new Error('session event connection ended')));
    client.on('notification', (msg) => {
      if (msg.channel === SESSION_ENDED_CHANNEL && msg.payload && UUID.test(msg.payload)) opts.onEnded(msg.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${SESSION_ENDED_CHANNEL}`);
      if (closed) return void (await client.end().catch(() => undefined));
      up = true;
      if (reconnect) opts.onGap?.();
    } catch (err) {
      fail(err);
    }
  }

  const ready = listen(opts.retryMs ?? 500, false);
  return {
    ready,
    get listening() {
      return up && !closed;
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await current?.end().catch(() => undefined);
    },
  };
}
