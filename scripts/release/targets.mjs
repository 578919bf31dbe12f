// The prebuilt platform packages this release publishes: package.json `napi.targets` (Rust-style triples, the
// @napi-rs/cli configuration) turned into @napi-rs/cli platform keys and package names.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseTriple } from "@napi-rs/cli";

export function readManifest(root) {
  return JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
}

/** [{ triple, key, packageName }] for every napi target. */
export function prebuiltTargets(manifest) {
  return manifest.napi.targets.map((triple) => {
    const key = parseTriple(triple).platformArchABI;
    return { triple, key, packageName: `${manifest.name}-${key}` };
  });
}
