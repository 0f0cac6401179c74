import { describe, expect, it } from 'vitest';
import { StatementTracker, type StatementResult } from '../../../broker/gateway/statement-tracker.ts';
import { be } from './backend-frames.ts';
import { serialize } from './raw-client.ts';

/**
 * When the tracker starts a statement (issue 17: its start record is written
 * then, while it runs): as soon as the server is certain to run it, never
 * for what the server skips or finds empty, and every started statement's
 * result carries its start (so its outcome part follows). Backend messages
 * are built by hand (backend-frames.ts).
 */

function tracked() {
  const started: string[] = [];
  let seq = 0;
  const tracker = new StatementTracker({
    onStart: (stmt) => {
      started.push(stmt.text);
      return { seq: ++seq, durable: Promise.resolve() };
    },
  });
  const results: StatementResult[] = [];
  const fe = (...frames: Buffer[]) => frames.forEach((f) => expect(tracker.onFrontend(f).ok).toBe(true));
  const bk = (...frames: Buffer[]) => frames.forEach((f) => results.push(...tracker.onBackend(f).complete));
  return { tracker, started, results, fe, bk };
}

describe('statement tracker: starting statements', () => {
  it('a Query to an idle connection starts before it is forwarded; a pipelined one when the one before it ends', () => {
    const t = tracked();
    t.fe(serialize.query('SELECT 1'));
    expect(t.started).toEqual(['SELECT 1']);
    t.fe(serialize.query('SELECT 2'));
    expect(t.started).toEqual(['SELECT 1']); // the first could still start a COPY that consumes it
    t.bk(be.rowDescription(), be.dataRow(), be.complete('SELECT 1'));
    expect(t.started).toEqual(['SELECT 1']);
    t.bk(be.ready());
    expect(t.started).toEqual(['SELECT 1', 'SELECT 2']);
    t.bk(be.rowDescription(), be.dataRow(), be.complete('SELECT 1'), be.ready());
    expect(t.results.map((r) => [r.text, r.start?.seq])).toEqual([
      ['SELECT 1', 1],
      ['SELECT 2', 2],
    ]);
  });

  it('an Execute starts once every message before it is answered, with the text its portal was bound to', () => {
    const t = tracked();
    t.fe(serialize.parse({ text: 'SELECT $1::int' }), serialize.bind({ values: ['7'] }), serialize.execute({}), serialize.sync());
    expect(t.started).toEqual([]);
    t.bk(be.parseComplete());
    expect(t.started).toEqual([]);
    t.bk(be.bindComplete());
    expect(t.started).toEqual(['SELECT $1::int']);
    t.bk(be.dataRow(), be.complete('SELECT 1'), be.ready());
    expect(t.results).toMatchObject([{ text: 'SELECT $1::int', phase: 'execute', rows: 1, parameters: 1, start: { seq: 1 } }]);
  });

  it('what the server skips after an error is never started, and a failing prepare step is a whole record', () => {
    const t = tracked();
    t.fe(serialize.parse({ text: 'SELEC 1' }), serialize.bind({}), serialize.execute({}), serialize.query('SELECT 9'), serialize.sync());
    t.fe(serialize.query('SELECT 10'));
    t.bk(be.error('42601'));
    expect(t.started).toEqual([]);
    t.bk(be.ready());
    expect(t.started).toEqual(['SELECT 10']);
    expect(t.results.map((r) => [r.phase, r.text, r.start])).toEqual([['parse', 'SELEC 1', undefined]]);
  });

  it('an Execute that may be empty waits for its first answer: the server runs nothing for an empty one', () => {
    for (const text of ['', ' ; ', '/* only a comment */', '-- a line comment\n;', '/* nested /* */ still */', '/* unterminated']) {
      const t = tracked();
      t.fe(serialize.parse({ text }), serialize.bind({}), serialize.execute({}), serialize.sync());
      t.bk(be.parseComplete(), be.bindComplete());
      expect(t.started, JSON.stringify(text)).toEqual([]);
      t.bk(be.empty(), be.ready());
      expect(t.results, JSON.stringify(text)).toEqual([]);
    }
    // A commented statement starts as early as any other.
    const c = tracked();
    c.fe(serialize.parse({ text: '/* report */ SELECT 1' }), serialize.bind({}), serialize.execute({}), serialize.sync());
    c.bk(be.parseComplete(), be.bindComplete());
    expect(c.started).toEqual(['/* report */ SELECT 1']);
    // One the check cannot tell from an empty one (the server also ends a line comment at a carriage
    // return) is started by its first answer, before that answer is released.
    const t = tracked();
    t.fe(serialize.parse({ text: '-- report\rSELECT 1' }), serialize.bind({}), serialize.execute({}), serialize.sync());
    t.bk(be.parseComplete(), be.bindComplete());
    expect(t.started).toEqual([]);
    const v = t.tracker.onBackend(be.dataRow());
    expect(t.started).toEqual(['-- report\rSELECT 1']);
    expect(v.owner?.start?.seq).toBe(1);
    t.bk(be.complete('SELECT 1'), be.ready());
    expect(t.results).toMatchObject([{ text: '-- report\rSELECT 1', start: { seq: 1 } }]);
  });

  it('a statement still unanswered when the connection ends keeps its start: its outcome part says so', () => {
    const t = tracked();
    t.fe(serialize.query('SELECT pg_sleep(10)'), serialize.query('SELECT 2'));
    const left = t.tracker.unfinished('the client went away');
    expect(left.map((r) => [r.text, r.start?.seq, r.unfinished])).toEqual([
      ['SELECT pg_sleep(10)', 1, 'the client went away'],
      ['SELECT 2', undefined, 'the client went away'], // never started: one whole record
    ]);
  });
});
