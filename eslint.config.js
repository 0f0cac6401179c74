import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

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
    // CLI output, benchmarks and the start banner print on purpose.
    files: ['cli/**', 'test/bench/**', 'scripts/**', 'bin/**'],
    rules: { 'no-console': 'off' },
  },
);
