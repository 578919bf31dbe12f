#!/usr/bin/env node
// Writes the prebuilt platform package tarball for this machine into DIR: `npm run pack:prebuilt -- DIR`.
// Builds the addon from source as a release binary (CPU backend with runtime ISA dispatch, no CUDA, no
// avx512-emulated test path) in build/prebuilt/<platform>/ (kept, so a second run only relinks), lays out the
// package with @napi-rs/cli (create-npm-dirs, artifacts: name, version, os / cpu / libc from package.json) and
// packs it with `npm pack`. The main tarball comes from `npm pack` in the repository; together they are what
// `npm publish` would upload.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { NapiCli } from "@napi-rs/cli";
import { buildFromSource } from "../build-native.mjs";
import { platformKey } from "../native/platform.mjs";
import { prebuiltTargets, readManifest } from "./targets.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const log = (msg) => console.error(`[pack:prebuilt] ${msg}`);

const destArg = process.argv[2];
if (!destArg) {
  console.error("usage: npm run pack:prebuilt -- DIR");
  process.exit(2);
}
const dest = resolve(destArg);
mkdirSync(dest, { recursive: true });

const manifest = readManifest(root);
const key = platformKey();
const target = prebuiltTargets(manifest).find((t) => t.key === key);
if (!target) {
  const keys = prebuiltTargets(manifest).map((t) => t.key);
  log(
    `this machine is ${key}; package.json napi.targets publishes ${keys.join(", ")}: nothing to pack here.`,
  );
  process.exit(1);
}

// @napi-rs/cli keeps the package folders inside the project: build/ is ignored by git and not packed.
const work = join(root, "build", "prebuilt", key);
const npmDir = join(work, "npm");
const artifacts = join(work, "artifacts");
rmSync(npmDir, { recursive: true, force: true });
rmSync(artifacts, { recursive: true, force: true });
try {
  log(`building the ${key} release binary (CPU backend, no CUDA, no emulated test kernels)`);
  const buildDir = join(work, "cmake");
  if (buildFromSource({ root, outDir: buildDir, cuda: "OFF", emulated: "OFF" }) !== 0) {
    log("the build failed; the messages above say why.");
    process.exit(1);
  }
  mkdirSync(artifacts, { recursive: true });
  const binary = join(artifacts, `mistral4.${key}.node`);
  copyFileSync(join(buildDir, "Release", "mistral4.node"), binary);
  // Symbols are for debugging the build machine's copy; the published binary does without them.
  execFileSync("strip", ["--strip-unneeded", binary]);

  const napi = new NapiCli();
  await napi.createNpmDirs({ cwd: root, npmDir });
  await napi.artifacts({ cwd: root, outputDir: artifacts, npmDir });
  const packageDir = join(npmDir, key);
  const packageJson = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8"));
  packageJson.description = `The ${key} native addon of ${manifest.name} (CPU backend, runtime ISA dispatch)`;
  writeFileSync(join(packageDir, "package.json"), `${JSON.stringify(packageJson, null, 2)}\n`);
  copyFileSync(join(root, "LICENSE"), join(packageDir, "LICENSE"));
  writeFileSync(
    join(packageDir, "README.md"),
    `# ${target.packageName}\n\nThe prebuilt \`${key}\` binary of \`${manifest.name}\` version ${manifest.version}. Install \`${manifest.name}\`, not this package: npm picks this one as an optional ` +
      "dependency on matching machines.\n\nIt is the CPU backend, compiled once for x86-64 and choosing its kernels " +
      "(portable, AVX2, AVX-512 VNNI) at run time from CPUID. It carries no CUDA code: the CUDA backend does not run " +
      "models yet.\n",
  );
  const tarball = execFileSync("npm", ["pack", "--pack-destination", dest], {
    cwd: packageDir,
    encoding: "utf8",
  })
    .trim()
    .split("\n")
    .pop();
  const path = join(dest, tarball);
  log(`wrote ${path} (${(statSync(path).size / 2 ** 20).toFixed(2)} MiB)`);
} finally {
  rmSync(npmDir, { recursive: true, force: true });
  rmSync(artifacts, { recursive: true, force: true });
}
