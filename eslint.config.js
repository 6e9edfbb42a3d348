// Lint rules: ESLint's and typescript-eslint's recommended sets; formatting is Prettier's job.
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "data/", "node_modules/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      // Input validation matches control characters on purpose (to refuse them).
      "no-control-regex": "off",
    },
  },
  {
    // The panel renders user data (titles, tags, targets, referrers) only as text: Preact escapes it, and this
    // keeps anyone from opting out.
    files: ["web/**/*.ts", "web/**/*.tsx"],
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector: "JSXAttribute[name.name='dangerouslySetInnerHTML']",
          message: "The panel never renders HTML from data.",
        },
        {
          selector: "MemberExpression[property.name=/^(innerHTML|outerHTML)$/]",
          message: "The panel never renders HTML from data.",
        },
        {
          selector: "CallExpression[callee.property.name='insertAdjacentHTML']",
          message: "The panel never renders HTML from data.",
        },
      ],
    },
  },
  {
    files: ["test/**/*.ts"],
    rules: {
      // The test HTTP client parses arbitrary JSON.
      "@typescript-eslint/no-explicit-any": "off",
    },
  },
  {
    files: ["scripts/**/*.mjs", "bench/**/*.mjs", "eslint.config.js"],
    languageOptions: {
      globals: {
        console: "readonly",
        process: "readonly",
        fetch: "readonly",
        URL: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        performance: "readonly",
        TextDecoder: "readonly",
        FormData: "readonly",
        Blob: "readonly",
      },
    },
  },
);
