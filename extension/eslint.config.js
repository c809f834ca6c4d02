// ESLint flat config. The worker, popup and options page are ES modules; the content scripts are
// classic scripts (Chrome injects them as such) sharing one namespace object in the isolated world.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/**", "tools/**"] },
  js.configs.recommended,
  {
    files: ["**/*.js"],
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: "module",
      globals: { ...globals.browser, ...globals.webextensions },
    },
    rules: {
      "no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "prefer-const": "error",
      "no-var": "error",
      eqeqeq: ["error", "always"],
    },
  },
  {
    files: ["background/**/*.js"],
    languageOptions: { globals: { ...globals.serviceworker, ...globals.webextensions } },
  },
  {
    files: ["content/**/*.js"],
    languageOptions: { sourceType: "script" },
  },
  {
    // Unit tests of the pure modules, run by Node's own runner (`node --test tests/`).
    files: ["eslint.config.js", "tests/**/*.js"],
    languageOptions: { globals: globals.node },
  },
];
