import js from '@eslint/js';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * Import boundaries (issue 16.4). Process folders hold a process's edges (HTTP
 * routes, wire protocol, job handlers, commands, the browser app) and wiring;
 * code more than one process uses lives in shared/, a folder per domain. So no
 * process folder imports from another, and shared/ imports from none of them,
 * nor from db/ (the migrator and SQL are the deploy step's, not the services').
 * Type-only imports count too: a type is part of the other process's contract.
 * test/, scripts/ and bin/ may import anything. test/lint/import-boundaries.test.ts
 * proves each rule fires.
 */
const PROCESSES = ['ingest', 'broker', 'worker', 'cli', 'console'];

/**
 * The one deliberate exception: the launcher (`wact start`, `wact serve`) starts
 * each process through its entry module, and through nothing else of it.
 */
const ENTRY_MODULES = {
  ingest: ['./server.ts'],
  broker: ['./server.ts', './gateway/gateway-start.ts', './dev-oidc/dev-oidc-service.ts'],
  worker: ['./worker-server.ts'],
};
const LAUNCHER_FILES = ['cli/start/**', 'cli/commands/serve.ts'];

const processZones = (except = {}) =>
  PROCESSES.flatMap((p) =>
    PROCESSES.filter((o) => o !== p).map((o) => ({
      target: `./${p}`,
      from: `./${o}`,
      ...(except[p]?.[o] ? { except: except[p][o] } : {}),
      message: `${p}/ is one process and ${o}/ another: move what both need to shared/<domain>/.`,
    })),
  );
const sharedZone = {
  target: './shared',
  from: [...PROCESSES.map((o) => `./${o}`), './db'],
  message: 'shared/ is used by every process: it imports from no process folder and not from db/.',
};
// Tests import the product, never the other way round.
const testZone = {
  target: [...PROCESSES.map((p) => `./${p}`), './shared', './db'],
  from: './test',
  message: 'Product code never imports from test/.',
};
const boundaryZones = [...processZones(), sharedZone, testZone];
const launcherZones = [...processZones({ cli: ENTRY_MODULES }), sharedZone, testZone];

export default tseslint.config(
  { ignores: ['node_modules/', 'console/dist/', 'dist/', '.wact/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': ['error', { allow: ['error'] }],
      // a `let` assigned once after a closure that reads it is deliberate
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.tsx', '.js', '.mjs'] })] },
    rules: { 'import-x/no-restricted-paths': ['error', { zones: boundaryZones }] },
  },
  { files: LAUNCHER_FILES, rules: { 'import-x/no-restricted-paths': ['error', { zones: launcherZones }] } },
  {
    // CLI output, benchmarks and the start banner print on purpose.
    files: ['cli/**', 'test/bench/**', 'scripts/**', 'bin/**'],
    rules: { 'no-console': 'off' },
  },
);
