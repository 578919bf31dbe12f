import { defineConfig } from "tsup";

// The library ships ESM and CommonJS with types; the CLI ships once, as CommonJS (bin/ms4.cjs requires it).
// No source maps: dist/ is plain, readable JavaScript, and maps would double the package.
export default defineConfig([
  {
    entry: { index: "lib/index.ts" },
    format: ["esm", "cjs"],
    dts: { entry: { index: "lib/index.ts" } },
    clean: true,
    shims: true,
    target: "node20",
    platform: "node",
    splitting: false,
  },
  {
    entry: { cli: "lib/cli/main.ts" },
    format: ["cjs"],
    target: "node20",
    platform: "node",
    splitting: false,
  },
]);
