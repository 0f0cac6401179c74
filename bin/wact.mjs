#!/usr/bin/env node
// The `wact` command. TypeScript runs through tsx's loader, so no build step
// stands between a checkout and a working CLI.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
