// ESLint flat config: the recommended defaults of ESLint and typescript-eslint, nothing custom.
// no-undef is off for TypeScript as typescript-eslint advises: the compiler already checks names.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/", ".tmp/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { files: ["**/*.ts"], rules: { "no-undef": "off" } },
);
