#!/usr/bin/env node
// Runs a TypeScript script without a TS loader: bundles it with esbuild (node_modules stay external)
// into a temporary .mjs next to it, then imports it. Usage: node bench/run-ts.mjs <file.ts> [args...]
import { rmSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

const entry = process.argv[2];
if (!entry) {
  console.error("usage: node bench/run-ts.mjs <file.ts> [args...]");
  process.exit(2);
}
const entryPath = resolve(entry);
const outfile = join(dirname(entryPath), `.${basename(entryPath, ".ts")}.${process.pid}.mjs`);
await build({
  entryPoints: [entryPath],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  sourcemap: "inline",
  logLevel: "warning",
});
// The script sees its own arguments as process.argv[2...].
process.argv.splice(1, 2, entryPath);
try {
  await import(pathToFileURL(outfile).href);
} finally {
  rmSync(outfile, { force: true });
}
