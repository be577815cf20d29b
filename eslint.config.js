// Lint as a guard rail. Everywhere: no floating promise, complexity ≤ 10, blocks nested ≤ 3 deep, ≤ 4
// positional parameters. The product and its scripts also take typescript-eslint's type-checked rules;
// tests take its syntax rules (they read wire data and answer as fakes, where `any`-typed JSON is the point).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const guardRails = {
  '@typescript-eslint/no-floating-promises': 'error',
  complexity: ['error', 10],
  'max-depth': ['error', 3],
  'max-params': ['error', 4],
  // Names starting with _ and the rest siblings of a destructuring are deliberately unused.
  '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
};

const typed = { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } };

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.lab/**', 'schemas/**', 'coverage/**'] },
  js.configs.recommended,
  { languageOptions: { globals: globals.node } },
  {
    files: ['src/**/*.ts', 'scripts/**/*.ts', 'vitest.config.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: typed,
    rules: guardRails,
  },
  {
    files: ['test/**/*.ts'],
    extends: [...tseslint.configs.recommended],
    languageOptions: typed,
    rules: guardRails,
  },
);
