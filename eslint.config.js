// Lint: typescript-eslint's recommended rules, plus the import direction of ../shared/design/architecture.md
// (lower layers never import higher ones).
import tseslint from "typescript-eslint";

/** Folders a layer must not import, as import path patterns relative to files inside it. */
const forbidden = (...layers) => ({
  "no-restricted-imports": [
    "error",
    { patterns: layers.map((layer) => ({ group: [`**/${layer}/**`, `**/${layer}`], message: `this layer must not import ${layer} (see architecture.md)` })) },
  ],
});

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "examples/browser/dist/**"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  { files: ["src/core/**"], rules: forbidden("trace", "vjp", "vmap", "lowering", "runtime", "ops", "quant") },
  { files: ["src/trace/**"], rules: forbidden("vjp", "vmap", "lowering", "runtime", "ops", "quant") },
  { files: ["src/vmap/**"], rules: forbidden("vjp", "lowering", "runtime", "ops", "quant") },
  { files: ["src/vjp/**"], rules: forbidden("lowering", "runtime", "ops", "quant") },
  { files: ["src/lowering/**"], rules: forbidden("vjp", "vmap", "runtime", "ops", "quant") },
  { files: ["src/runtime/**"], rules: forbidden("trace", "vjp", "vmap", "ops", "quant") },
  { files: ["src/ops/lax/**"], rules: forbidden("ops/numpy", "ops/nn", "ops/random", "ops/gmm", "ops/moe", "quant") },
  { files: ["src/ops/gmm/**"], rules: forbidden("ops/numpy", "ops/nn", "ops/random", "ops/moe", "quant", "runtime") },
  // gmm backends are independent: none imports another (siblings in backends/).
  {
    files: ["src/ops/gmm/backends/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            ...["ops/numpy", "ops/nn", "ops/random", "ops/moe", "quant", "runtime"].map((layer) => ({ group: [`**/${layer}/**`, `**/${layer}`], message: `this layer must not import ${layer} (see architecture.md)` })),
            { group: ["./*"], message: "a gmm backend must not import another backend (see architecture.md)" },
          ],
        },
      ],
    },
  },
  { files: ["src/ops/numpy/**", "src/ops/nn/**", "src/ops/random/**"], rules: forbidden("trace", "vjp", "vmap", "ops/gmm", "ops/moe", "quant", "lowering", "runtime") },
  { files: ["src/quant/**"], rules: forbidden("ops/numpy", "ops/nn", "ops/random", "ops/moe", "lowering", "runtime") },
  { files: ["src/ops/moe/**"], rules: forbidden("trace", "lowering", "runtime") },
  { files: ["src/optim/**"], rules: forbidden("trace", "vjp", "lowering", "runtime", "quant", "ops/gmm", "ops/moe") },
);
