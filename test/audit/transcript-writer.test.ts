import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createTranscriptChain, type TranscriptLink } from '../../shared/audit/transcript-chain.ts';
import { createTranscriptWriter, type TranscriptHeader } from '../../shared/audit/transcript-writer.ts';
import { decodeInt4s, decodeUuids } from '../support/binary-array-decoder.ts';

/**
 * The group-commit writer (shared/audit/transcript-writer.ts) against a fake
 * pool that commits when the test says so. Invariants:
 *  - a record's promise settles only after the call that holds it has answered
 *    (the relay releases a reply on that promise: before it, nothing is durable);
 *  - a call rejected for the whole batch rejects every record in it, none resolves;
 *  - each transcript's records reach the database in seq order, each exactly once,
 *    a transcript's header with its first record;
 *  - one call in flight at a time; records arriving meanwhile leave together in the next;
 *  - a lazy record (a statement's outcome part) starts no call of its own: it rides with the next
 *    record someone waits for, or leaves alone after LAZY_MS.
 */

const HEADER: TranscriptHeader = ['employee', 'u1', 'engineer', 'Eng', 'ticket OPS-1', null];

interface Call {
  ids: string[];
  seqs: number[];
  fresh: string[];
  answered: boolean;
  answer(err?: Error & { code?: string }): void;
}

function fakePool() {
  const calls: Call[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const pool = {
    // The writer submits a node-postgres Submittable (shared/db/prepared-call.ts): answered as a client would.
    query(q: { values: Buffer[]; handleError(err: Error): void; handleReadyForQuery(): void }): Promise<unknown> {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const call: Call = {
        // The writer sends binary arrays (shared/db/binary-arrays.ts), read back independently.
        fresh: decodeUuids(q.values[0]),
        ids: decodeUuids(q.values[4]),
        seqs: decodeInt4s(q.values[6]),
        answered: false,
        answer(err) {
          call.answered = true;
          inFlight--;
          if (err) q.handleError(err);
          q.handleReadyForQuery();
        },
      };
      calls.push(call);
      return new Promise(() => undefined);
    },
  };
  return { pool, calls, maxInFlight: () => maxInFlight };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('transcript writer (group commit)', () => {
  it('settles no record before its call answers, keeps seq order per transcript, one call in flight (property)', async () => {
    // A schedule: which connection produces its next record, interleaved with the database answering.
    const step = fc.oneof(fc.record({ push: fc.integer({ min: 0, max: 3 }), lazy: fc.boolean() }), fc.record({ answer: fc.boolean() }));
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 60 }), async (schedule) => {
        const { pool, calls, maxInFlight } = fakePool();
        const writer = createTranscriptWriter(pool as never);
        const chains = [0, 1, 2, 3].map(() => createTranscriptChain({ streamId: '00000000-0000-4000-8000-000000000001', sessionId: 's1' }));
        const records: { link: TranscriptLink; settled: 'no' | 'ok' | 'failed'; callAnswered?: () => boolean }[] = [];
        for (const s of schedule) {
          if ('push' in s) {
            const link = chains[s.push].next('success', { statement: 'SELECT 1', rows: 1 });
            const rec: (typeof records)[number] = { link, settled: 'no' };
            records.push(rec);
            writer.push(link, HEADER, s.lazy).then(
              () => (rec.settled = 'ok'),
              () => (rec.settled = 'failed'),
            );
          } else {
            const open = calls.find((c) => !c.answered);
            open?.answer(s.answer ? undefined : Object.assign(new Error('connection lost'), { code: '08006' }));
          }
          await tick();
          // The invariant, after every step: a settled record's call has answered, and with that outcome.
          for (const r of records) {
            if (r.settled === 'no') continue;
            const call = calls.find((c) => c.ids.some((id, i) => id === r.link.transcriptId && c.seqs[i] === r.link.seq));
            expect(call?.answered).toBe(true);
          }
        }
        // Drain: answer everything still open, successfully (lazy records left alone leave after LAZY_MS).
        for (let i = 0; i < 200 && records.some((r) => r.settled === 'no'); i++) {
          const open = calls.find((c) => !c.answered);
          if (open) open.answer();
          else await new Promise((r) => setTimeout(r, 10));
          await tick();
        }
        expect(maxInFlight()).toBeLessThanOrEqual(1);
        expect(records.every((r) => r.settled !== 'no')).toBe(true);
        // Every record was sent exactly once (a failed batch is not retried: its records reject) ...
        const sent = calls.flatMap((c) => c.ids.map((id, i) => `${id}:${c.seqs[i]}`));
        expect(new Set(sent).size).toBe(sent.length);
        expect(sent.length).toBe(records.length);
        // ... in seq order per transcript, the header going with the transcript's first record.
        for (const chain of chains) {
          const seqs = calls.flatMap((c) => c.seqs.filter((_, i) => c.ids[i] === chain.id));
          expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
          const withHeader = calls.filter((c) => c.fresh.includes(chain.id));
          if (seqs.length) expect(withHeader.map((c) => c.seqs[c.ids.indexOf(chain.id)])).toEqual([1]);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('sends what one callback produced in one call, and what arrives during a call in the next one', async () => {
    const { pool, calls } = fakePool();
    const writer = createTranscriptWriter(pool as never);
    const chains = [0, 1, 2].map(() => createTranscriptChain({ streamId: '00000000-0000-4000-8000-000000000001', sessionId: 's1' }));
    const first = chains.map((c) => writer.push(c.next('success', { rows: 1 }), HEADER));
    await tick();
    expect(calls).toHaveLength(1);
    expect(calls[0].ids).toHaveLength(3);
    // Behind the call in flight: 5 records of three connections wait, then leave together.
    const later = [0, 1, 2, 0, 1].map((i) => writer.push(chains[i].next('success', { rows: 1 }), HEADER));
    await tick();
    expect(calls).toHaveLength(1);
    calls[0].answer();
    await Promise.all(first);
    await tick();
    expect(calls).toHaveLength(2);
    expect(calls[1].seqs).toEqual([2, 2, 2, 3, 3]);
    expect(calls[1].fresh).toEqual([]); // headers went with the first records
    calls[1].answer();
    await Promise.all(later);
  });

  it('a data error fails only its own record: the rest of the batch is retried one by one', async () => {
    const { pool, calls } = fakePool();
    const writer = createTranscriptWriter(pool as never);
    const a = createTranscriptChain({ streamId: '00000000-0000-4000-8000-000000000001', sessionId: 's1' });
    const b = createTranscriptChain({ streamId: '00000000-0000-4000-8000-000000000001', sessionId: 's1' });
    const pa = writer.push(a.next('success', { rows: 1 }), HEADER);
    const pb = writer.push(b.next('success', { rows: 1 }), HEADER);
    const outcome = Promise.allSettled([pa, pb]);
    await tick();
    calls[0].answer(Object.assign(new Error('duplicate key'), { code: '23505' }));
    await tick();
    calls[1].answer(Object.assign(new Error('duplicate key'), { code: '23505' })); // a's own retry
    await tick();
    calls[2].answer(); // b's own retry
    const [ra, rb] = await outcome;
    expect(ra.status).toBe('rejected');
    expect(rb.status).toBe('fulfilled');
    expect(calls.map((c) => c.ids)).toEqual([[a.id, b.id], [a.id], [b.id]]);
  });

  it('a value the binary encoder refuses (22007) fails only its own record, before anything is sent for it', async () => {
    const { pool, calls } = fakePool();
    const writer = createTranscriptWriter(pool as never);
    const a = createTranscriptChain({ streamId: '00000000-0000-4000-8000-000000000001', sessionId: 's1' });
    const b = createTranscriptChain({ streamId: '00000000-0000-4000-8000-000000000001', sessionId: 's1' });
    const bad = { ...a.next('success', { rows: 1 }), occurredAt: '2026-02-30T00:00:00.000000Z' };
    const outcome = Promise.allSettled([writer.push(bad, HEADER), writer.push(b.next('success', { rows: 1 }), HEADER)]);
    await tick();
    expect(calls.map((c) => c.ids)).toEqual([[b.id]]); // the batch and a's retry were refused before sending
    calls[0].answer();
    const [ra, rb] = await outcome;
    expect(ra).toMatchObject({ status: 'rejected', reason: { code: '22007' } });
    expect(rb.status).toBe('fulfilled');
  });

  it('a lazy record starts no call: it rides with the next record someone waits for, or leaves alone after LAZY_MS', async () => {
    const { pool, calls } = fakePool();
    const writer = createTranscriptWriter(pool as never);
    const a = createTranscriptChain({ streamId: '00000000-0000-4000-8000-000000000001', sessionId: 's1' });
    const b = createTranscriptChain({ streamId: '00000000-0000-4000-8000-000000000001', sessionId: 's1' });
    const outcome1 = writer.push(a.next('success', { part: 'outcome', startSeq: 0 }), HEADER, true);
    await tick();
    expect(calls).toHaveLength(0); // nobody waits for it
    const start2 = writer.push(b.next('success', { part: 'start' }), HEADER);
    await tick();
    expect(calls).toHaveLength(1);
    expect(calls[0].ids).toEqual([a.id, b.id]); // it went with the next durable record, in order
    // While that call is in flight, another lazy record waits; the call's end does not send it at once.
    const outcome2 = writer.push(b.next('success', { part: 'outcome', startSeq: 1 }), HEADER, true);
    calls[0].answer();
    await Promise.all([outcome1, start2]);
    await tick();
    expect(calls).toHaveLength(1);
    // Alone, it leaves after LAZY_MS (5 ms).
    await expect.poll(() => calls.length, { timeout: 1000, interval: 2 }).toBe(2);
    expect(calls[1].seqs).toEqual([2]);
    calls[1].answer();
    await outcome2;
  });

  it('a record still waiting can be replaced by its amended link (same seq); one already sent or not last cannot', async () => {
    const { pool, calls } = fakePool();
    const writer = createTranscriptWriter(pool as never);
    const chain = createTranscriptChain({ streamId: '00000000-0000-4000-8000-000000000001', sessionId: 's1' });
    const start = chain.next('success', { part: 'start', statement: 'SELECT 1' });
    const durable = writer.push(start, HEADER);
    expect(writer.waiting(start)).toBe(true); // so the gateway computes the whole record
    const store = (link: TranscriptLink) => writer.replace(start, link);
    const whole = chain.amend(start, 'success', { statement: 'SELECT 1', rows: 1 }, store);
    expect(whole).toMatchObject({ seq: 1, prevHash: start.prevHash });
    expect(chain.hash).toBe(whole!.hash.toString('hex'));
    expect([writer.waiting(start), writer.waiting(whole!)]).toEqual([false, true]);
    await tick();
    expect(calls).toHaveLength(1);
    expect(writer.waiting(whole!)).toBe(false); // in a call: the gateway writes an outcome part instead
    calls[0].answer();
    await durable; // the promise the start part got settles for the whole record
    // Sent already: the chain does not move.
    expect(chain.amend(whole!, 'failure', { statement: 'SELECT 1' }, (link) => writer.replace(whole!, link))).toBeUndefined();
    expect(chain.hash).toBe(whole!.hash.toString('hex'));
    // Not the last record any more: refused before the store is even asked.
    const second = chain.next('success', { part: 'start', statement: 'SELECT 2' });
    writer.push(second, HEADER).catch(() => undefined);
    chain.next('success', { part: 'outcome', startSeq: 2 });
    let asked = false;
    expect(chain.amend(second, 'success', { statement: 'SELECT 2' }, () => (asked = true))).toBeUndefined();
    expect(asked).toBe(false);
  });
});
