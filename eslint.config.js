// Lint rules of the project: typescript-eslint's recommended set, no import
// cycles, and the layering of SPEC.md (ir/ imports nothing of ours; passes/
// and backends/ import only ir/, never each other or src/).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';

const layer = (from, forbidden) => ({
  files: [`${from}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: forbidden.map((dir) => ({
          group: [`**/${dir}`, `**/${dir}/**`],
          message: `${from}/ must not import ${dir}/ (SPEC.md layering)`,
        })),
      },
    ],
  },
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX },
    settings: {
      // Our imports are extension-less ('./ops', '../ir' for ir/index.ts): the node
      // resolver must try .ts, and import-x must parse .ts files (with the TS parser)
      // instead of ignoring them, or no-cycle sees no module graph at all.
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.cjs'], mainFields: [] })],
      'import-x/extensions': ['.ts', '.js', '.cjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
    },
    languageOptions: {
      globals: { console: 'readonly', process: 'readonly', Buffer: 'readonly', performance: 'readonly' },
    },
    rules: {
      'import-x/no-cycle': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  layer('ir', ['passes', 'backends', 'src']),
  layer('passes', ['backends', 'src']),
  layer('backends', ['passes', 'src']),
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'examples/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
