// Lint as a guard rail: typed rules for the product, the same structural limits everywhere.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const structure = {
  '@typescript-eslint/no-floating-promises': 'error',
  complexity: ['error', 10],
  'max-depth': ['error', 3],
  'max-params': ['error', 4],
};

// Names starting with _ and the rest siblings of a destructuring are deliberately unused.
const unused = {
  '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.lab/**', 'schemas/**', 'coverage/**'] },
  js.configs.recommended,
  { languageOptions: { globals: globals.node } },
  {
    files: ['**/*.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: { ...structure, ...unused },
  },
);
