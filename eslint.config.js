// ESLint flat config. Beyond typescript-eslint's recommended rules it enforces two architecture rules:
//  - no import cycles anywhere (import-x/no-cycle);
//  - pkg/raft is pure: no `node:*` / builtin modules, no npm packages, nothing from other berth packages.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const nodeBuiltins = [
  'assert', 'async_hooks', 'buffer', 'child_process', 'cluster', 'crypto', 'dgram', 'dns', 'events', 'fs',
  'http', 'http2', 'https', 'module', 'net', 'os', 'path', 'perf_hooks', 'process', 'readline', 'stream',
  'string_decoder', 'timers', 'tls', 'tty', 'url', 'util', 'v8', 'vm', 'worker_threads', 'zlib',
];

/** Rules that keep pkg/raft a pure state machine. Exported for the lint fixture test. */
export const raftPurity = {
  'no-restricted-imports': [
    'error',
    {
      patterns: [
        { group: ['node:*'], message: 'pkg/raft does no I/O: no node:* imports.' },
        { group: nodeBuiltins, message: 'pkg/raft does no I/O: no Node builtin modules.' },
        {
          regex: '^(?!\\./)',
          message: 'pkg/raft imports nothing from npm or from other berth packages (only ./ siblings: it is one flat folder).',
        },
      ],
    },
  ],
  'no-restricted-globals': [
    'error',
    { name: 'setTimeout', message: 'pkg/raft has no timers: time comes in as tick().' },
    { name: 'setInterval', message: 'pkg/raft has no timers: time comes in as tick().' },
    { name: 'setImmediate', message: 'pkg/raft has no timers.' },
    { name: 'process', message: 'pkg/raft does no I/O.' },
    { name: 'Buffer', message: 'pkg/raft uses Uint8Array, not Buffer.' },
    { name: 'require', message: 'pkg/raft imports nothing.' },
  ],
  'no-restricted-properties': [
    'error',
    { object: 'Math', property: 'random', message: 'pkg/raft: randomness is injected.' },
    { object: 'Date', property: 'now', message: 'pkg/raft: time is injected as ticks.' },
    { object: 'performance', property: 'now', message: 'pkg/raft: time is injected as ticks.' },
  ],
  'no-restricted-syntax': [
    'error',
    { selector: "NewExpression[callee.name='Date']", message: 'pkg/raft: no clocks.' },
    { selector: 'ImportExpression', message: 'pkg/raft: no dynamic imports.' },
  ],
};

export default tseslint.config(
  {
    ignores: ['dist/**', 'node_modules/**', 'pkg/proto/gen/**', 'test/fixtures/**', '**/*.d.ts', 'coverage/**'],
  },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.json' })],
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  { files: ['**/pkg/raft/**/*.ts'], rules: raftPurity },
);
