#!/usr/bin/env node
// Bundles the test applications (test/embedding/apps/) into OUTDIR with "mistral4-runtime" left as an import,
// so they run against whatever package the folder's node_modules holds: the installed tarball in
// scripts/ci/pack-install-check.sh. Usage: node scripts/ci/bundle-consumer-apps.mjs OUTDIR
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const outDir = process.argv[2];
if (!outDir) {
  console.error("usage: node scripts/ci/bundle-consumer-apps.mjs OUTDIR");
  process.exit(2);
}
const apps = fileURLToPath(new URL("../../test/embedding/apps/", import.meta.url));
const bundle = (entry, outfile, format) =>
  build({
    entryPoints: [join(apps, entry)],
    outfile: join(outDir, outfile),
    bundle: true,
    platform: "node",
    format,
    target: "node20",
    external: ["mistral4-runtime"],
    logLevel: "error",
  });
await bundle("generate-app.ts", "generate-app.mjs", "esm");
await bundle("generate-app.ts", "generate-app.cjs", "cjs");
await bundle("worker-host.ts", "worker-host.mjs", "esm");
await bundle("worker-generate.ts", "worker-generate.mjs", "esm");
