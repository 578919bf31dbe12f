#!/usr/bin/env node
// npm's prepack / postpack hooks. The published package lists every prebuilt platform package as an optional
// dependency at exactly its own version, so npm installs the one that fits the machine. The repository's
// package.json does not list them (they are not in the registry until released, and `npm ci` would fail), so
// `add` writes them in for the duration of `npm pack` / `npm publish` and `restore` puts the file back.
import { copyFileSync, existsSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { prebuiltTargets, readManifest } from "./targets.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const manifestPath = join(root, "package.json");
const backupPath = join(root, ".package.json.prepack");

const command = process.argv[2];
if (command === "add") {
  const manifest = readManifest(root);
  copyFileSync(manifestPath, backupPath);
  const optional = { ...manifest.optionalDependencies };
  for (const { packageName } of prebuiltTargets(manifest)) optional[packageName] = manifest.version;
  manifest.optionalDependencies = optional;
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
} else if (command === "restore") {
  if (existsSync(backupPath)) {
    copyFileSync(backupPath, manifestPath);
    rmSync(backupPath);
  }
} else {
  console.error("usage: node scripts/release/optional-deps.mjs add|restore");
  process.exit(2);
}
