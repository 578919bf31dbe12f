import { defineConfig } from "tsup";

export default defineConfig({
  entry: { index: "lib/index.ts", cli: "lib/cli/main.ts" },
  format: ["esm", "cjs"],
  dts: { entry: { index: "lib/index.ts" } },
  sourcemap: true,
  clean: true,
  shims: true,
  target: "node20",
  platform: "node",
  splitting: false,
});
