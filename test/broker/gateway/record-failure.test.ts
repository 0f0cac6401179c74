import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditLog } from '../../../shared/audit/audit-types.ts';
import { fullSession, startHarness, type Harness } from './harness.ts';
import { fieldsOf, rawConnect, serialize } from './raw-client.ts';

/**
 * Fail closed when a statement's record cannot be written (docs/gateway.md,
 * invariant 1): whichever part fails — the start part (refused, or thrown
 * before anything is queued) or the outcome part that no reply waits for —
 * the connection ends with FATAL 58000, and a reply whose record failed never
 * reaches the client.
 */

type Failure = 'start rejects' | 'start throws' | 'outcome rejects';

describe('gateway: a statement record that cannot be written ends the connection (58000)', () => {
  let h: Harness;
  let mode: Failure | undefined;
  const failing = (base: AuditLog): AuditLog => ({
    append: (e) => base.append(e),
    series: (template) => {
      const s = base.series(template);
      return {
        append: (e) => {
          const part = e.metadata?.part;
          if (String(e.metadata?.statement ?? '').includes('audit_canary') || part === 'outcome') {
            if (mode === 'start throws' && part === 'start') throw new Error('cannot link');
            if (mode === 'start rejects' && part === 'start') return Promise.reject(new Error('audit database down'));
            if (mode === 'outcome rejects' && part === 'outcome') return Promise.reject(new Error('audit database down'));
          }
          return s.append(e);
        },
      };
    },
  });

  beforeAll(async () => {
    h = await startHarness({ audit: failing });
  });
  afterAll(async () => h?.close());

  for (const failure of ['start rejects', 'start throws', 'outcome rejects'] as const) {
    it(`${failure}: FATAL 58000${failure === 'outcome rejects' ? '' : ', and the row never leaves'}`, async () => {
      const { connection } = await fullSession(h, `Audit failure ${failure} AUD-58`);
      const c = await rawConnect(h.port, h.ca, connection.user, connection.password);
      mode = failure;
      try {
        c.send(serialize.query(`SELECT 'audit_canary' AS secret`));
        await c.closed;
      } finally {
        mode = undefined;
      }
      const fatal = c.received.find((m) => m.type === 'E');
      expect(fatal && fieldsOf(fatal)).toMatchObject({ S: 'FATAL', C: '58000' });
      if (failure !== 'outcome rejects') expect(c.received.some((m) => m.type === 'D')).toBe(false);
    });
  }
});
